package agent

import (
	"context"
	"fmt"
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
			p.in <- poolWork{ctx: context.Background(), out: out, task: warm.Task{URLIndex: i},
				req: warm.FetchRequest{URL: fmt.Sprintf("https://a.test/%d", i), Addresses: []string{"192.0.2.1"}}}
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
