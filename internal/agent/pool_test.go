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
