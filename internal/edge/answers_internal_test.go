package edge

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// An answer is kept for its lowest TTL; a negative one for its SOA's
// negative TTL, and not without an SOA; a failure not at all; nothing
// longer than five minutes.
func TestKeepFor(t *testing.T) {
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	soa := "example.net. 900 IN SOA ns.example.net. host.example.net. 1 3600 600 86400 60"
	for _, c := range []struct {
		name   string
		rcode  int
		answer []string
		ns     []string
		want   time.Duration
	}{
		{"lowest TTL", dns.RcodeSuccess, []string{"a.example.net. 60 IN A 192.0.2.1", "a.example.net. 20 IN A 192.0.2.2"}, nil, 20 * time.Second},
		{"a CNAME chain", dns.RcodeSuccess, []string{"w.example.net. 300 IN CNAME a.example.net.", "a.example.net. 30 IN A 192.0.2.1"}, nil, 30 * time.Second},
		{"capped", dns.RcodeSuccess, []string{"a.example.net. 86400 IN A 192.0.2.1"}, nil, maxAnswerTTL},
		{"TTL 0", dns.RcodeSuccess, []string{"a.example.net. 0 IN A 192.0.2.1"}, nil, 0},
		{"NODATA with an SOA", dns.RcodeSuccess, nil, []string{soa}, 60 * time.Second},
		{"NXDOMAIN with an SOA", dns.RcodeNameError, nil, []string{soa}, 60 * time.Second},
		{"NXDOMAIN, SOA TTL lower", dns.RcodeNameError, nil, []string{"example.net. 10 IN SOA ns.example.net. host.example.net. 1 3600 600 86400 60"}, 10 * time.Second},
		{"NXDOMAIN without an SOA", dns.RcodeNameError, nil, nil, 0},
		{"NODATA without an SOA", dns.RcodeSuccess, nil, nil, 0},
		{"SERVFAIL", dns.RcodeServerFailure, nil, []string{soa}, 0},
		{"REFUSED", dns.RcodeRefused, []string{"a.example.net. 60 IN A 192.0.2.1"}, nil, 0},
	} {
		m := &dns.Msg{}
		m.Rcode = c.rcode
		for _, s := range c.answer {
			m.Answer = append(m.Answer, rr(s))
		}
		for _, s := range c.ns {
			m.Ns = append(m.Ns, rr(s))
		}
		if got := keepFor(m); got != c.want {
			t.Errorf("%s: kept for %v, want %v", c.name, got, c.want)
		}
	}
}

// Past maxAnswers, the expired answers go first, then all of them.
func TestAnswersStayBounded(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	a := newAnswers(func() time.Time { return now })
	msg := func(ttl uint32) *dns.Msg {
		m := &dns.Msg{}
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "a.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl}}}
		return m
	}
	for i := range maxAnswers - 1 {
		a.put(answerKey{name: string(rune('a'+i%26)) + string(rune(i)), qtype: dns.TypeA}, msg(10))
	}
	a.put(answerKey{name: "long.", qtype: dns.TypeA}, msg(100))
	now = now.Add(20 * time.Second) // every answer but long. has expired
	a.put(answerKey{name: "new.", qtype: dns.TypeA}, msg(10))
	if len(a.m) != 2 {
		t.Fatalf("%d answers kept after a put past the bound, want 2 (the unexpired and the new)", len(a.m))
	}
	if _, ok := a.get(answerKey{name: "long.", qtype: dns.TypeA}); !ok {
		t.Error("the unexpired answer was dropped")
	}
}
