package minicdn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"prewarm/internal/edge"
)

// dnsTTL is short so that a resolver under test that caches still notices
// runtime changes made with Set/SetCNAME/Remove within a few seconds.
const dnsTTL = 5

// maxCNAMEHops bounds chain following so that a loop made with SetCNAME
// answers SERVFAIL instead of spinning.
const maxCNAMEHops = 8

// DNSServer is the authoritative-for-everything name server of a CDN. It
// answers only from its own table: unknown names are NXDOMAIN, nothing is
// forwarded. It serves UDP and TCP on the same port.
type DNSServer struct {
	// Addr is "127.0.0.1:PORT", valid for both UDP and TCP.
	Addr string

	udp, tcp *dns.Server
	queries  atomic.Int64

	mu      sync.RWMutex
	records map[string]*dnsRecord // key: lower-case FQDN with trailing dot
}

type dnsRecord struct {
	cname  string // FQDN; when set, addrs is empty (a CNAME owns its name)
	addrs  []net.IP
	silent bool // queries get no answer at all
	// byCountry, when set, answers a query by the country of its EDNS
	// Client Subnet, as a DNS-steered CDN does; addrs is then the answer
	// for a query without one, or from a country not in the map.
	byCountry map[string][]net.IP
}

// StartDNS starts an empty DNS server on 127.0.0.1 at a free port.
func StartDNS() (*DNSServer, error) {
	s := &DNSServer{records: make(map[string]*dnsRecord)}
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	// UDP first, then TCP on the same port; another process may own that
	// TCP port, so try a few UDP ports.
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("dns listen udp: %w", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		_ = pc.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dns listen tcp: %w", err)
	}
	s.Addr = pc.LocalAddr().String()

	h := dns.HandlerFunc(s.serveDNS)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: ln, Handler: h, ReadTimeout: 10 * time.Second}
	// Wait for both to be running: Shutdown on a server that has not yet
	// flagged itself started fails and leaks its socket.
	started := make(chan struct{}, 2)
	errc := make(chan error, 2)
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		go func() { errc <- srv.ActivateAndServe() }()
	}
	for range 2 {
		select {
		case <-started:
		case err := <-errc:
			_ = pc.Close()
			_ = ln.Close()
			return nil, fmt.Errorf("dns serve: %w", err)
		}
	}
	return s, nil
}

// Close stops both listeners.
func (s *DNSServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return errors.Join(s.udp.ShutdownContext(ctx), s.tcp.ShutdownContext(ctx))
}

func fqdn(name string) string { return dns.Fqdn(strings.ToLower(strings.TrimSpace(name))) }

// Set makes name answer A (and AAAA, for IPv6 addresses) with ips,
// replacing whatever name had. With no ips the name exists but has no
// addresses (NODATA). Invalid IPs are ignored.
func (s *DNSServer) Set(name string, ips ...string) {
	rec := &dnsRecord{}
	for _, ip := range ips {
		if p := net.ParseIP(ip); p != nil {
			rec.addrs = append(rec.addrs, p)
		}
	}
	s.mu.Lock()
	s.records[fqdn(name)] = rec
	s.mu.Unlock()
}

// SetByCountry makes name answer by the country of the query's EDNS
// Client Subnet (RFC 7871): a subnet inside one of a country's networks in
// prewarm's country data set (edge.CountryNetworks) gets byCountry[CC]; a
// query without a subnet, or from a country not listed, gets NODATA. The
// answer echoes the subnet with its scope, as ECS servers do.
func (s *DNSServer) SetByCountry(name string, byCountry map[string][]string) {
	rec := &dnsRecord{byCountry: map[string][]net.IP{}}
	for cc, ips := range byCountry {
		for _, ip := range ips {
			if p := net.ParseIP(ip); p != nil {
				rec.byCountry[strings.ToUpper(cc)] = append(rec.byCountry[strings.ToUpper(cc)], p)
			}
		}
	}
	s.mu.Lock()
	s.records[fqdn(name)] = rec
	s.mu.Unlock()
}

// SetCNAME makes name an alias of target, replacing whatever name had.
func (s *DNSServer) SetCNAME(name, target string) {
	s.mu.Lock()
	s.records[fqdn(name)] = &dnsRecord{cname: fqdn(target)}
	s.mu.Unlock()
}

// Silence makes queries for name go unanswered, as a DNS server that has
// gone away leaves them (the asker times out), replacing whatever name had.
func (s *DNSServer) Silence(name string) {
	s.mu.Lock()
	s.records[fqdn(name)] = &dnsRecord{silent: true}
	s.mu.Unlock()
}

// Remove deletes name, so it answers NXDOMAIN.
func (s *DNSServer) Remove(name string) {
	s.mu.Lock()
	delete(s.records, fqdn(name))
	s.mu.Unlock()
}

// Lookup returns the addresses name resolves to (following CNAMEs), for
// callers that want the table without speaking DNS.
func (s *DNSServer) Lookup(name string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := fqdn(name)
	for range maxCNAMEHops {
		rec := s.records[n]
		if rec == nil {
			return nil
		}
		if rec.cname == "" {
			out := make([]string, len(rec.addrs))
			for i, a := range rec.addrs {
				out[i] = a.String()
			}
			return out
		}
		n = rec.cname
	}
	return nil
}

// Queries is how many questions the server has been asked.
func (s *DNSServer) Queries() int { return int(s.queries.Load()) }

func (s *DNSServer) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(req)
	// Go's resolver treats a NOERROR answer that is neither authoritative
	// nor recursive as a lame referral, so both bits are set.
	m.Authoritative = true
	m.RecursionAvailable = true
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	s.mu.RLock()
	rec := s.records[strings.ToLower(q.Name)]
	s.mu.RUnlock()
	if rec != nil && rec.silent {
		return
	}
	subnet := clientSubnet(req)
	s.answer(m, q, subnet)
	addNegativeSOA(m, q)
	udpSize := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		udpSize = int(opt.UDPSize())
		m.SetEdns0(opt.UDPSize(), false)
		if subnet != nil {
			echo := *subnet
			echo.SourceScope = echo.SourceNetmask
			m.IsEdns0().Option = append(m.IsEdns0().Option, &echo)
		}
	}
	if _, isUDP := w.LocalAddr().(*net.UDPAddr); isUDP {
		m.Truncate(udpSize)
	}
	_ = w.WriteMsg(m)
}

// addNegativeSOA puts the zone's SOA in the authority section of an answer
// that has no record of the type asked (a name that does not exist, or
// exists without that type), as an authoritative server does: resolvers
// keep such an answer for the SOA's negative TTL (RFC 2308).
func addNegativeSOA(m *dns.Msg, q dns.Question) {
	if m.Rcode != dns.RcodeSuccess && m.Rcode != dns.RcodeNameError {
		return
	}
	for _, rr := range m.Answer {
		if rr.Header().Rrtype == q.Qtype {
			return
		}
	}
	m.Ns = append(m.Ns, &dns.SOA{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: dnsTTL},
		Ns: "ns.minicdn.test.", Mbox: "hostmaster.minicdn.test.", Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: dnsTTL})
}

// answer fills m for one question, following CNAMEs inside the table the
// way a recursive resolver would present the chain.
func (s *DNSServer) answer(m *dns.Msg, q dns.Question, subnet *dns.EDNS0_SUBNET) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	name := strings.ToLower(q.Name)
	hdr := func(n string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: n, Rrtype: t, Class: dns.ClassINET, Ttl: dnsTTL}
	}
	for range maxCNAMEHops {
		rec := s.records[name]
		if rec == nil {
			// RFC 6604: after a chain the rcode describes its last name.
			m.Rcode = dns.RcodeNameError
			return
		}
		if rec.cname != "" {
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: hdr(name, dns.TypeCNAME), Target: rec.cname})
			if q.Qtype == dns.TypeCNAME {
				return
			}
			name = rec.cname
			continue
		}
		for _, ip := range rec.answerFor(subnet) {
			switch v4 := ip.To4(); {
			case v4 != nil && q.Qtype == dns.TypeA:
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(name, dns.TypeA), A: v4})
			case v4 == nil && q.Qtype == dns.TypeAAAA:
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA), AAAA: ip})
			}
		}
		return
	}
	m.Answer = nil
	m.Rcode = dns.RcodeServerFailure
}

// answerFor is the record's addresses for a client in subnet (nil: none
// given).
func (r *dnsRecord) answerFor(subnet *dns.EDNS0_SUBNET) []net.IP {
	if r.byCountry == nil || subnet == nil {
		return r.addrs
	}
	addr, ok := netip.AddrFromSlice(subnet.Address)
	if !ok {
		return r.addrs
	}
	for cc, ips := range r.byCountry {
		for _, n := range edge.CountryNetworks(cc) {
			if n.Contains(addr.Unmap()) {
				return ips
			}
		}
	}
	return r.addrs
}

// clientSubnet is the query's EDNS Client Subnet option, or nil.
func clientSubnet(req *dns.Msg) *dns.EDNS0_SUBNET {
	opt := req.IsEdns0()
	if opt == nil {
		return nil
	}
	for _, o := range opt.Option {
		if e, ok := o.(*dns.EDNS0_SUBNET); ok {
			return e
		}
	}
	return nil
}

// Resolver returns a net.Resolver that asks only this server, so code under
// test can resolve POP names without touching the system resolver.
func (s *DNSServer) Resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.Addr)
		},
	}
}
