package minicdn

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// A child POP fills from its parent, in the viewer's scheme, so the
// origin sees one request per object whichever tier asked first.
func TestParentTier(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{AccessLogs: true, POPs: []POPSpec{
		{Code: "shield"}, {Code: "edge-a", Parent: "shield"}, {Code: "edge-b", Parent: "shield"},
	}})
	shield, a, b := c.POP("shield"), c.POP("edge-a"), c.POP("edge-b")
	for _, u := range []string{c.URL("/tier/plain"), c.URLTLS("/tier/tls")} {
		if r := mustGet(t, c, shield, u, nil); r.Status != 200 || r.Hit {
			t.Fatalf("%s via shield: %d hit %v", u, r.Status, r.Hit)
		}
		for _, edge := range []*POP{a, b} {
			if r := mustGet(t, c, edge, u, nil); r.Status != 200 || r.Hit {
				t.Fatalf("%s via %s: %d hit %v, want a MISS filled from the shield", u, edge.Code, r.Status, r.Hit)
			}
			if r := mustGet(t, c, edge, u, nil); !r.Hit {
				t.Fatalf("%s via %s again: not a HIT", u, edge.Code)
			}
		}
	}
	if n := c.Origin.Total(); n != 2 {
		t.Fatalf("origin saw %d requests, want one per object", n)
	}
	// The shield logged the first fetch of each object and one fill per
	// edge; each edge logged its two viewer requests per object. nginx
	// writes a line once the answer is sent: wait for the last ones. It
	// tells no one when it has, so the count is polled until it is reached.
	for pop, want := range map[*POP]int{shield: 6, a: 4, b: 4} {
		n, err := 0, error(nil)
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if n, err = c.Received(pop); err != nil || n >= want {
				break
			}
		}
		if err != nil || n != want {
			t.Errorf("%s received %d (%v), want %d", pop.Code, n, err, want)
		}
	}
}

// Without request collapsing, concurrent misses of one object all reach
// the origin; with it (the default), one does.
func TestNoCacheLock(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{{Code: "nolock", NoCacheLock: true}, {Code: "lock"}}})
	for _, tc := range []struct {
		pop  string
		want int
	}{{"nolock", 3}, {"lock", 1}} {
		u := c.URL("/slow/" + tc.pop + "?delay=300ms")
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { mustGet(t, c, c.POP(tc.pop), u, nil) })
		}
		wg.Wait()
		if n := c.Origin.PathRequests("/slow/" + tc.pop); n != tc.want {
			t.Errorf("%s: origin saw %d requests, want %d", tc.pop, n, tc.want)
		}
	}
}

func TestStartRejectsBadParents(t *testing.T) {
	for name, pops := range map[string][]POPSpec{
		"unknown": {{Code: "a", Parent: "b"}},
		"loop":    {{Code: "a", Parent: "b"}, {Code: "b", Parent: "a"}},
		"varnish": {{Code: "a"}, {Code: "b", Kind: Varnish, Parent: "a"}},
		"dead":    {{Code: "a", Dead: true}, {Code: "b", Parent: "a"}},
	} {
		if _, err := buildPOPs("dtest", pops); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A throttled origin answers 429 with Retry-After, which the POP neither
// caches nor hides; the origin records arrivals and its peak concurrency.
func TestOriginThrottleAndPeak(t *testing.T) {
	t.Parallel()
	c := StartT(t, Options{POPs: []POPSpec{{Code: "edge"}}})
	pop := c.POP("edge")
	c.Origin.Throttle(time.Minute, "2")
	r := mustGet(t, c, pop, c.URL("/t"), nil)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "2" {
		t.Fatalf("throttled: %d Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
	c.Origin.Throttle(0, "")
	if r := mustGet(t, c, pop, c.URL("/t"), nil); r.Status != 200 || r.Hit {
		t.Fatalf("after the throttle: %d hit %v; a 429 must not be cached", r.Status, r.Hit)
	}
	if got := len(c.Origin.Arrivals()); got != 2 {
		t.Fatalf("%d arrivals, want 2", got)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { mustGet(t, c, pop, c.URL("/slow/peak?delay=300ms&n="+string(rune('a'+i))), nil) })
	}
	wg.Wait()
	if p := c.Origin.PeakInFlight(); p != 4 {
		t.Fatalf("peak in flight %d, want 4", p)
	}
	if c.Origin.InFlight() != 0 {
		t.Fatalf("in flight %d after every answer", c.Origin.InFlight())
	}
}
