package edge

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"prewarm/internal/warm"
)

// discover finds the edges DNS gives clients in country cc for host: it
// asks for host's addresses once for each of the country's networks, with
// that network as the EDNS Client Subnet, the way a resolver near those
// clients would. Answers that share an address are one edge (DNS rotates
// a site's addresses); the distinct edges are named JP-1, JP-2… by how
// many of the networks were sent to each. A country that got no address
// is one failed POP, named for it, with the reason. A server found silent
// (by this or another country) is not asked again.
func (r *Resolver) discover(ctx context.Context, host, cc string, silence *silentServer) []warm.POPState {
	nets := CountryNetworks(cc)
	var answers [][]string
	var problems []string
	for _, n := range nets {
		addrs, err := r.lookupECS(ctx, host, n, silence)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		answers = append(answers, addrs)
	}
	if len(answers) == 0 {
		why := "no network of the country is known"
		if len(problems) > 0 {
			why = problems[len(problems)-1]
		}
		return []warm.POPState{{Code: cc, Explicit: true, Error: fmt.Sprintf("no edge answers for %s from clients in %s (asked with ECS %s): %s",
			host, cc, joinPrefixes(nets), why)}}
	}
	var out []warm.POPState
	for i, addrs := range distinctEdges(answers) {
		st := warm.POPState{Code: warm.DiscoveredCode(cc, i+1), Explicit: true}
		if ok, err := r.admit(addrs); err != nil {
			st.Error = err.Error()
		} else {
			st.Addresses = ok
		}
		out = append(out, st)
	}
	return out
}

// silentServer remembers, for one Resolve, a DNS server that never
// answered: a server that drops queries with an EDNS Client Subnet (or
// is not there) would otherwise make every country wait out every
// query's timeout, about half a minute each. Once the server has
// answered anything, a timeout is taken for a lost packet instead.
type silentServer struct {
	mu       sync.Mutex
	answered bool
	err      error
}

// check returns the reason the server is not asked again, or nil.
func (s *silentServer) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// record notes the outcome of one query.
func (s *silentServer) record(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		s.answered = true
	case errors.Is(err, errNoAnswer) && !s.answered && s.err == nil:
		s.err = fmt.Errorf("%w; not asked again for this job's other networks and countries", err)
	}
}

// lookupECS asks for host's A and AAAA records on behalf of clients in
// subnet.
func (r *Resolver) lookupECS(ctx context.Context, host string, subnet netip.Prefix, silence *silentServer) ([]string, error) {
	var addrs []string
	var failed error
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(host), qtype)
		m.RecursionDesired = true
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, clientSubnet(subnet))
		if err := silence.check(); err != nil {
			return nil, err
		}
		resp, err := r.exchange(ctx, m)
		silence.record(err)
		if err != nil {
			// An edge reached over IPv4 alone is still an edge: one
			// family's failure fails the network only if the other
			// found nothing.
			failed = err
			continue
		}
		if resp.Rcode == dns.RcodeNameError {
			return nil, fmt.Errorf("%s %w (NXDOMAIN)", host, errNoAddress)
		}
		addrs = appendAddresses(addrs, resp.Answer)
	}
	switch {
	case len(addrs) == 0 && failed != nil:
		return nil, failed
	case len(addrs) == 0:
		return nil, fmt.Errorf("%s %w (no A or AAAA record)", host, errNoAddress)
	}
	slices.Sort(addrs)
	return slices.Compact(addrs), nil
}

// clientSubnet is the EDNS0 option that tells the server which network
// the client is in (RFC 7871).
func clientSubnet(p netip.Prefix) *dns.EDNS0_SUBNET {
	o := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice()}
	o.Family = 1
	if p.Addr().Is6() {
		o.Family = 2
	}
	return o
}

// distinctEdges merges answers that share an address and orders the
// edges by how many answers named them, then by first answer.
func distinctEdges(answers [][]string) [][]string {
	type edge struct {
		addrs []string
		votes int
	}
	var edges []*edge
	for _, a := range answers {
		var into *edge
		for i := 0; i < len(edges); i++ {
			e := edges[i]
			if !slices.ContainsFunc(a, func(x string) bool { return slices.Contains(e.addrs, x) }) {
				continue
			}
			if into == nil {
				into = e
				continue
			}
			// a joins two edges found apart: they are one.
			into.addrs, into.votes = append(into.addrs, e.addrs...), into.votes+e.votes
			edges = slices.Delete(edges, i, i+1)
			i--
		}
		if into == nil {
			into = &edge{}
			edges = append(edges, into)
		}
		into.addrs, into.votes = append(into.addrs, a...), into.votes+1
	}
	slices.SortStableFunc(edges, func(x, y *edge) int { return y.votes - x.votes })
	out := make([][]string, len(edges))
	for i, e := range edges {
		slices.Sort(e.addrs)
		out[i] = slices.Compact(e.addrs)
	}
	return out
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
