package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"prewarm/internal/warm"
)

// ResolverConfig tunes a Resolver.
type ResolverConfig struct {
	// DNSServer is "host:port" of the DNS server to ask; empty means the
	// first nameserver of /etc/resolv.conf.
	DNSServer string
	// AllowPrivate lets loopback, private and link-local addresses be
	// used as edges (tests, a cache fleet on a private network).
	AllowPrivate bool
	Timeout      time.Duration
}

// Resolver finds the addresses of a job's POPs.
type Resolver struct {
	catalog *Catalog
	cfg     ResolverConfig
	client  *dns.Client
	answers *answers
}

var _ warm.Resolver = (*Resolver)(nil)

// NewResolver returns a resolver for the sites of catalog.
func NewResolver(catalog *Catalog, cfg ResolverConfig) (*Resolver, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.DNSServer == "" {
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(conf.Servers) == 0 {
			return nil, fmt.Errorf("no DNS server given and none found in /etc/resolv.conf: %v", err)
		}
		cfg.DNSServer = net.JoinHostPort(conf.Servers[0], conf.Port)
	} else {
		addr, err := DNSServerAddress(cfg.DNSServer)
		if err != nil {
			return nil, err
		}
		cfg.DNSServer = addr
	}
	return &Resolver{catalog: catalog, cfg: cfg, client: &dns.Client{Timeout: cfg.Timeout}, answers: newAnswers(time.Now)}, nil
}

// DNSServerAddress reads a DNS server given as host:port, or as a host
// alone (port 53), and returns it as host:port; a host is an IP address or
// a host name, a port 1..65535.
func DNSServerAddress(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = strings.Trim(s, "[]"), "53"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: the port %q is not a number from 1 to 65535 (want host:port, like 1.1.1.1:53)", s, port)
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHostName(host) {
		return "", fmt.Errorf("%q: %q is neither an IP address nor a host name (want host:port, like 1.1.1.1:53)", s, host)
	}
	return net.JoinHostPort(host, port), nil
}

// Resolve finds every target's addresses. Problems are reported per POP,
// never as an error: a POP that does not resolve is a failed POP of the job
// (or a skipped one, when the target was only implied by a country or
// continent).
//
// A target that discovers its edges (a country of an ECS job) becomes the
// edges found there, or one failed POP named for the country.
func (r *Resolver) Resolve(ctx context.Context, cfDomain string, targets []warm.Target) []warm.POPState {
	out := make([]warm.POPState, len(targets))
	found := make([][]warm.POPState, len(targets))
	var dist string
	var distErr error
	var distOnce sync.Once
	silence := &silentServer{}
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, t := range targets {
		out[i] = warm.POPState{Code: t.Code, Explicit: t.Explicit}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if t.Discover != "" {
				found[i] = r.discover(ctx, cfDomain, t.Code, silence)
				return
			}
			var addrs []string
			var err error
			site, known := r.catalog.Lookup(t.Code)
			if known {
				out[i].Region, out[i].Parent = site.Region, site.Parent
			}
			if known && site.FromFile {
				out[i].PurgeMethod = site.PurgeMethod
				addrs, err = r.siteAddresses(ctx, site)
			} else {
				distOnce.Do(func() { dist, distErr = r.distribution(ctx, cfDomain) })
				if distErr != nil {
					out[i].Error = distErr.Error()
					return
				}
				name := dist + "." + strings.ToLower(t.Code) + ".cloudfront.net"
				addrs, err = r.lookupIPs(ctx, name)
				if errors.Is(err, errNoAddress) && !t.Explicit {
					out[i].Skipped = true
					return
				}
			}
			if err == nil {
				addrs, err = r.admit(addrs)
			}
			if err != nil {
				out[i].Error = err.Error()
				return
			}
			out[i].Addresses = addrs
		})
	}
	wg.Wait()
	return flatten(out, found)
}

// flatten puts each target's discovered edges in its place.
func flatten(out []warm.POPState, found [][]warm.POPState) []warm.POPState {
	var all []warm.POPState
	for i := range out {
		if found[i] != nil {
			all = append(all, found[i]...)
		} else {
			all = append(all, out[i])
		}
	}
	return all
}

var (
	errNoAddress = errors.New("does not resolve")
	errNoAnswer  = errors.New("did not answer")
)

// HostWarnings checks, for a job on CloudFront POPs, the URLs' hosts
// against cf_domain: the POP serves whichever distribution has the URL's
// host as an alternate domain name, so a host whose DNS leads to another
// distribution warms that one's cache, and one that leads to none (not
// switched over yet, or a typo) is answered only if it is an alias of this
// one. A problem with cf_domain itself is the POPs' to report.
func (r *Resolver) HostWarnings(ctx context.Context, cfDomain string, hosts []string) []string {
	dist, err := r.distribution(ctx, cfDomain)
	if err != nil {
		return nil
	}
	var out []string
	for _, h := range hosts {
		got, err := r.distribution(ctx, h)
		switch {
		case ctx.Err() != nil:
			return out
		case err == nil && got == dist:
		case err == nil:
			out = append(out, fmt.Sprintf("%s leads by DNS to %s.cloudfront.net, not to %s.cloudfront.net (cf_domain): if it is that distribution's alternate domain name, its URLs warm that cache",
				h, got, dist))
		default:
			out = append(out, fmt.Sprintf("%s does not lead by DNS to %s.cloudfront.net (cf_domain): the POPs answer its URLs only if it is an alternate domain name of that distribution",
				h, dist))
		}
	}
	return out
}

// distribution follows cfDomain's CNAME chain to its *.cloudfront.net name and
// returns the distribution label (d111111abcdef8). A custom domain is what
// most users paste; the original built POP names from its first label and
// never reached a POP.
func (r *Resolver) distribution(ctx context.Context, cfDomain string) (string, error) {
	name := strings.ToLower(strings.TrimSuffix(cfDomain, "."))
	chain := []string{name}
	for range 10 {
		if label, ok := strings.CutSuffix(name, ".cloudfront.net"); ok && label != "" && !strings.Contains(label, ".") {
			return label, nil
		}
		target, err := r.cname(ctx, name)
		if err != nil {
			return "", fmt.Errorf("cf_domain %s: %w", cfDomain, err)
		}
		if target == "" {
			break
		}
		name = target
		chain = append(chain, name)
	}
	return "", fmt.Errorf("cf_domain %s does not lead to a *.cloudfront.net name (chain: %s)", cfDomain, strings.Join(chain, " → "))
}

func (r *Resolver) cname(ctx context.Context, name string) (string, error) {
	msg, err := r.query(ctx, name, dns.TypeCNAME)
	if err != nil {
		return "", err
	}
	for _, rr := range msg.Answer {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(strings.TrimSuffix(c.Hdr.Name, "."), name) {
			return strings.ToLower(strings.TrimSuffix(c.Target, ".")), nil
		}
	}
	return "", nil
}

// lookupIPs asks for A and AAAA records and keeps every address.
func (r *Resolver) lookupIPs(ctx context.Context, name string) ([]string, error) {
	var addrs []string
	var nx bool
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		msg, err := r.query(ctx, name, qtype)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if msg.Rcode == dns.RcodeNameError {
			nx = true
			break
		}
		addrs = appendAddresses(addrs, msg.Answer)
	}
	if len(addrs) == 0 {
		why := "no A or AAAA record"
		if nx {
			why = "NXDOMAIN"
		}
		return nil, fmt.Errorf("%s %w (%s)", name, errNoAddress, why)
	}
	slices.Sort(addrs)
	return slices.Compact(addrs), nil
}

// query asks the DNS server for name's records of qtype, or answers from
// what an earlier question was told, within its TTL. The answer is shared:
// read it, never change it.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	k := keyOf(name, qtype)
	if msg, ok := r.answers.get(k); ok {
		return msg, nil
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	msg, err := r.exchange(ctx, m)
	if err == nil {
		r.answers.put(k, msg)
	}
	return msg, err
}

// exchange sends m to the DNS server, once more over UDP when it is lost
// and over TCP when the answer is truncated.
func (r *Resolver) exchange(ctx context.Context, m *dns.Msg) (*dns.Msg, error) {
	var resp *dns.Msg
	var err error
	for attempt := range 2 { // UDP loses packets; one retry
		resp, _, err = r.client.ExchangeContext(ctx, m, r.cfg.DNSServer)
		if err == nil && resp.Truncated {
			tcp := &dns.Client{Net: "tcp", Timeout: r.cfg.Timeout}
			resp, _, err = tcp.ExchangeContext(ctx, m, r.cfg.DNSServer)
		}
		if err == nil || ctx.Err() != nil || attempt == 1 {
			break
		}
	}
	var ne net.Error
	switch {
	case err != nil && ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout():
		return nil, fmt.Errorf("DNS server %s %w in %v, asked twice", r.cfg.DNSServer, errNoAnswer, r.cfg.Timeout)
	case err != nil:
		return nil, fmt.Errorf("DNS query to %s: %w", r.cfg.DNSServer, err)
	}
	if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
		return nil, fmt.Errorf("DNS server %s answered %s", r.cfg.DNSServer, dns.RcodeToString[resp.Rcode])
	}
	return resp, nil
}

// siteAddresses returns an edges-file site's addresses, resolving host names.
func (r *Resolver) siteAddresses(ctx context.Context, site Site) ([]string, error) {
	var out []string
	for _, a := range site.Addresses {
		if _, err := netip.ParseAddr(a); err == nil {
			out = append(out, a)
			continue
		}
		ips, err := r.lookupIPs(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, ips...)
	}
	return out, nil
}

// admit drops addresses an edge must not have unless the operator allows
// them: a warm that reaches into the operator's own network is a request
// forgery waiting to happen.
func (r *Resolver) admit(addrs []string) ([]string, error) {
	if r.cfg.AllowPrivate {
		return addrs, nil
	}
	var ok, refused []string
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			refused = append(refused, a)
			continue
		}
		if !Public(ip) {
			refused = append(refused, a)
			continue
		}
		ok = append(ok, a)
	}
	if len(ok) == 0 {
		return nil, fmt.Errorf("refused private or loopback address %s (allow with --allow-private-edges)", strings.Join(refused, ", "))
	}
	return ok, nil
}

// Public reports whether ip is an address of the public internet: not
// loopback, private, link-local, multicast, shared (CGNAT), reserved or
// set aside for documentation and benchmarks, in either family; and not
// an IPv6 form that carries such an IPv4 address (NAT64, 6to4, mapped,
// compatible) or may (Teredo, local-use NAT64).
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return false
		}
	}
	if ip.Is6() {
		b := ip.As16()
		for _, p := range embedsIPv4 {
			if p.prefix.Contains(ip) {
				return Public(netip.AddrFrom4([4]byte(b[p.at : p.at+4])))
			}
		}
	}
	return true
}

var notPublic = prefixes(
	"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
	"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
	"::/96", "100::/64", "64:ff9b:1::/48", "2001::/32", "2001:2::/48", "2001:db8::/32", "2001:10::/28", "2001:20::/28", "fec0::/10", "3fff::/20",
)

// embedsIPv4: IPv6 forms whose address says which IPv4 address is reached,
// and at which byte it sits.
var embedsIPv4 = []struct {
	prefix netip.Prefix
	at     int
}{
	{netip.MustParsePrefix("64:ff9b::/96"), 12}, // NAT64, well-known prefix
	{netip.MustParsePrefix("2002::/16"), 2},     // 6to4
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// appendAddresses appends the addresses of an answer's A and AAAA records
// to addrs.
func appendAddresses(addrs []string, answer []dns.RR) []string {
	for _, rr := range answer {
		switch a := rr.(type) {
		case *dns.A:
			addrs = append(addrs, a.A.String())
		case *dns.AAAA:
			addrs = append(addrs, a.AAAA.String())
		}
	}
	return addrs
}
