package edge_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"prewarm/internal/edge"
	"prewarm/internal/minicdn"
	"prewarm/internal/warm"
)

// A job's POP names are asked of the DNS server once within their TTL:
// the next job's plan answers from what the first was told, a record
// changed meanwhile is seen once its TTL has run out, and a name the
// server does not answer is asked again.
func TestResolverKeepsAnswersForTheirTTL(t *testing.T) {
	dns := minicdn.StartDNST(t)
	dns.Set("dtest.kpa1-p1.cloudfront.net", "127.0.0.2") // A only: AAAA is NODATA, with an SOA
	r, err := edge.NewResolver(edge.Builtin(), edge.ResolverConfig{DNSServer: dns.Addr, AllowPrivate: true, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	edge.SetClock(r, func() time.Time { return now })
	ctx := context.Background()
	targets := []warm.Target{{Code: "KPA1-P1", Explicit: true}}
	resolve := func() []string {
		t.Helper()
		got := r.Resolve(ctx, "dtest.cloudfront.net", targets)
		if len(got) != 1 || got[0].Error != "" {
			t.Fatalf("resolve: %+v", got)
		}
		return got[0].Addresses
	}

	resolve()
	asked := dns.Queries()
	if asked != 2 {
		t.Fatalf("the first resolve asked %d questions, want 2 (A and AAAA)", asked)
	}
	resolve()
	if n := dns.Queries(); n != asked {
		t.Fatalf("the second resolve asked %d more questions, want none", n-asked)
	}

	dns.Set("dtest.kpa1-p1.cloudfront.net", "127.0.0.3")
	now = now.Add(4 * time.Second) // minicdn's TTL is 5 s
	if got := resolve(); !slices.Equal(got, []string{"127.0.0.2"}) {
		t.Errorf("within the TTL: %v, want the kept 127.0.0.2", got)
	}
	now = now.Add(2 * time.Second)
	if got := resolve(); !slices.Equal(got, []string{"127.0.0.3"}) {
		t.Errorf("after the TTL: %v, want the new 127.0.0.3", got)
	}

	dns.Silence("dtest.qui1-p1.cloudfront.net")
	quiet := []warm.Target{{Code: "QUI1-P1", Explicit: true}}
	if got := r.Resolve(ctx, "dtest.cloudfront.net", quiet); got[0].Error == "" {
		t.Fatalf("a silent name resolved: %+v", got)
	}
	dns.Set("dtest.qui1-p1.cloudfront.net", "127.0.0.4")
	if got := r.Resolve(ctx, "dtest.cloudfront.net", quiet); got[0].Error != "" || !slices.Equal(got[0].Addresses, []string{"127.0.0.4"}) {
		t.Errorf("after the server answered again: %+v, want 127.0.0.4", got)
	}
}
