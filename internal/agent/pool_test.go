package agent

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/warm"
)

// hand gives the pool n one-second fetches from n goroutines at once, as
// many batches sharing it would, and returns where their results arrive.
func hand(p *Pool, n int) <-chan poolDone {
	out := make(chan poolDone, n)
	for i := range n {
		go func() {
			_ = p.Start(context.Background(), poolWork{ctx: context.Background(), out: out, task: warm.Task{URLIndex: i},
				req: warm.FetchRequest{URL: fmt.Sprintf("https://a.test/%d", i), Addresses: []string{"192.0.2.1"}}})
		}()
	}
	return out
}

func TestPoolNeverFetchesMoreThanItsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fetcher{}
		p := NewPool(f, 3)
		defer p.Close()
		begin := time.Now()
		out := hand(p, 20)
		synctest.Wait()
		if n := p.Busy(); n != 3 {
			t.Fatalf("busy %d with 20 fetches waiting, want 3", n)
		}
		seen := map[int]bool{}
		for range 20 {
			d := <-out
			if !d.res.OK || seen[d.task.URLIndex] {
				t.Fatalf("result %+v for task %d", d.res, d.task.URLIndex)
			}
			seen[d.task.URLIndex] = true
		}
		if f.maxInFlight != 3 {
			t.Fatalf("%d fetches in flight at once, want 3", f.maxInFlight)
		}
		if d := time.Since(begin); d != 7*time.Second {
			t.Fatalf("20 one-second fetches, three at a time, took %v; want 7s", d)
		}
		if n := p.Busy(); n != 0 {
			t.Fatalf("busy %d once everything is done", n)
		}
	})
}

func TestPoolHasAtLeastOneFetcher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fetcher{}
		p := NewPool(f, 0)
		defer p.Close()
		out := hand(p, 2)
		<-out
		<-out
		if f.maxInFlight != 1 {
			t.Fatalf("%d in flight, want 1", f.maxInFlight)
		}
	})
}

func TestPoolCloseWaitsForTheFetchesInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fetcher{}
		p := NewPool(f, 4)
		out := hand(p, 2)
		synctest.Wait()
		closed := make(chan struct{})
		go func() {
			p.Close()
			p.Close() // a second Close is harmless
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned with two fetches in flight")
		default:
		}
		time.Sleep(time.Second)
		<-closed
		if len(out) != 2 {
			t.Fatalf("%d results handed back before Close returned, want 2", len(out))
		}
	})
}

// modelPOP answers like a POP: after rtt, plus perFetch for each fetch in
// flight to it (a POP whose CPU or link is the bound queues them), with
// status.
type modelPOP struct {
	rtt, perFetch time.Duration
	status        int
	mu            sync.Mutex
	inFlight      int
}

func (m *modelPOP) Fetch(ctx context.Context, r warm.FetchRequest) warm.Result {
	m.mu.Lock()
	m.inFlight++
	d := m.rtt + time.Duration(m.inFlight)*m.perFetch
	m.mu.Unlock()
	time.Sleep(d)
	m.mu.Lock()
	m.inFlight--
	m.mu.Unlock()
	return warm.Result{OK: m.status < 400, StatusCode: m.status, TTFB: d, Duration: d}
}

// keepBusy feeds the pool fetches to one POP for d and returns the POP's
// limit at the end.
func keepBusy(t *testing.T, m *modelPOP, ceiling int, d time.Duration) int {
	p := NewPool(m, ceiling)
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	out := make(chan poolDone, ceiling)
	drained := make(chan struct{})
	go func() {
		for range out {
		}
		close(drained)
	}()
	for ctx.Err() == nil {
		_ = p.Start(ctx, poolWork{ctx: context.Background(), out: out, req: warm.FetchRequest{POP: "X"}})
	}
	limit := p.Limit("X")
	p.Close()
	close(out)
	<-drained
	return limit
}

// A far POP gets as many fetches as the pool has: more in flight is more
// done. A POP that queues them keeps few; one that fails gets fewest.
func TestPoolLimitFollowsThePOP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		if got := keepBusy(t, &modelPOP{rtt: 150 * time.Millisecond, status: 200}, 2048, 10*time.Second); got != 2048 {
			t.Errorf("far POP: limit %d, want the pool's 2048", got)
		}
		if got := keepBusy(t, &modelPOP{rtt: time.Millisecond, perFetch: 100 * time.Microsecond, status: 200}, 2048, 10*time.Second); got > 400 || got < popLimitStart {
			t.Errorf("queueing POP: limit %d, want it held between %d and 400", got, popLimitStart)
		}
		if got := keepBusy(t, &modelPOP{rtt: 10 * time.Millisecond, status: 502}, 2048, 10*time.Second); got != popLimitFloor {
			t.Errorf("failing POP: limit %d, want %d", got, popLimitFloor)
		}
	})
}

// hungPOPs answers POP "OK" in 10 ms and leaves POP "HOLE" hanging for a
// minute (or until its fetch is called off), counting the fetches in
// flight to each.
type hungPOPs struct {
	mu          sync.Mutex
	holes, peak int
}

func (h *hungPOPs) Fetch(ctx context.Context, r warm.FetchRequest) warm.Result {
	d := 10 * time.Millisecond
	if r.POP == "HOLE" {
		d = time.Minute
		h.mu.Lock()
		h.holes++
		h.peak = max(h.peak, h.holes)
		h.mu.Unlock()
		defer func() { h.mu.Lock(); h.holes--; h.mu.Unlock() }()
	}
	select {
	case <-time.After(d):
		return warm.Result{OK: true, StatusCode: 200, TTFB: d, Duration: d}
	case <-ctx.Done():
		return warm.Result{Error: ctx.Err().Error()}
	}
}

// A POP that hangs cannot take the slots the other POPs need: batches to
// a black hole and to a healthy POP, handed to the pool at once (the hole
// first), leave the hole no more than its share while the healthy POP's
// tasks all finish long before the hole answers.
func TestPoolAHungPOPKeepsToItsShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hungPOPs{}
		p := NewPool(h, 64)
		ctx, cancel := context.WithCancel(t.Context())
		out := make(chan poolDone, 400)
		feed := func(pop string, n int) {
			for i := range n {
				if p.Start(ctx, poolWork{ctx: ctx, out: out, task: warm.Task{URLIndex: i},
					req: warm.FetchRequest{POP: pop, URL: fmt.Sprintf("https://a.test/%d", i)}}) != nil {
					return
				}
			}
		}
		go feed("HOLE", 200)
		go feed("OK", 200)
		begin := time.Now()
		for ok := 0; ok < 200; {
			if d := <-out; d.task.URLIndex >= 0 && d.res.OK {
				ok++
			}
		}
		if took := time.Since(begin); took > 10*time.Second {
			t.Errorf("the healthy POP's 200 tasks took %v beside a hung POP", took)
		}
		if h.peak > 32 {
			t.Errorf("the hung POP held %d of 64 slots at once, more than its share", h.peak)
		}
		cancel()
		p.Close()
	})
}

// countingPOPs answers each POP after its rtt and records the most
// fetches each had in flight at once.
type countingPOPs struct {
	rtt            map[string]time.Duration
	mu             sync.Mutex
	inFlight, peak map[string]int
}

func (c *countingPOPs) Fetch(ctx context.Context, r warm.FetchRequest) warm.Result {
	c.mu.Lock()
	c.inFlight[r.POP]++
	c.peak[r.POP] = max(c.peak[r.POP], c.inFlight[r.POP])
	c.mu.Unlock()
	time.Sleep(c.rtt[r.POP])
	c.mu.Lock()
	c.inFlight[r.POP]--
	c.mu.Unlock()
	return warm.Result{OK: true, StatusCode: 200, TTFB: c.rtt[r.POP], Duration: c.rtt[r.POP]}
}

// A far POP that grew to the whole pool gives half of it back as soon as
// a second POP has work: as its fetches end, the slots go to the newcomer
// until each holds its share.
func TestPoolSharesBetweenPOPsThatBothWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &countingPOPs{rtt: map[string]time.Duration{"FAR": 150 * time.Millisecond, "NEAR": 20 * time.Millisecond},
			inFlight: map[string]int{}, peak: map[string]int{}}
		p := NewPool(c, 64)
		ctx, cancel := context.WithCancel(t.Context())
		out := make(chan poolDone, 64)
		go func() {
			for range out {
			}
		}()
		feed := func(pop string) {
			for p.Start(ctx, poolWork{ctx: context.Background(), out: out, req: warm.FetchRequest{POP: pop}}) == nil {
			}
		}
		go feed("FAR")
		advance(5 * time.Second)
		c.mu.Lock()
		peak := c.peak["FAR"]
		c.mu.Unlock()
		if peak != 64 {
			t.Fatalf("a far POP alone had at most %d fetches in flight, want the whole pool's 64", peak)
		}
		go feed("NEAR")
		advance(time.Second + 7*time.Millisecond) // between two rounds of answers
		c.mu.Lock()
		far, near := c.inFlight["FAR"], c.inFlight["NEAR"]
		c.mu.Unlock()
		if far != 32 || near != 32 {
			t.Errorf("in flight with both POPs busy: FAR %d, NEAR %d; want 32 each (limits %d, %d)", far, near, p.Limit("FAR"), p.Limit("NEAR"))
		}
		cancel()
		p.Close()
		close(out)
	})
}
