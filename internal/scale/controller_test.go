package scale

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// memPlatform records what it is asked for; the platforms' protocols are
// tested against their stand-ins in platform_test.go.
type memPlatform struct {
	mu      sync.Mutex
	desired int
	asks    []int
}

func (p *memPlatform) Desire(_ context.Context, n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.desired = n
	p.asks = append(p.asks, n)
	return nil
}

func (p *memPlatform) Count(context.Context) (Count, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Count{Desired: p.desired, Instances: p.desired}, nil
}

func (p *memPlatform) Asks() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.asks)
}

type flagJobs struct{ busy atomic.Bool }

func (j *flagJobs) Busy(context.Context) (bool, error) { return j.busy.Load(), nil }

// A job raises the fleet; while it runs nothing scales down; once no job
// has run for the idle period the fleet goes to the floor, once.
func TestScaleDownAfterIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, jobs := &memPlatform{}, &flagJobs{}
		c := NewController(Config{Spec: "test:p", ScaleDownAfter: 10 * time.Minute, MinCapacity: 1}, p, jobs)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go c.Run(ctx)

		jobs.busy.Store(true)
		if err := c.Raise(ctx, 2); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour) // a long job: never idle
		synctest.Wait()
		if got := p.Asks(); !slices.Equal(got, []int{2}) {
			t.Fatalf("during the job: asked %v, want [2]", got)
		}
		jobs.busy.Store(false)
		time.Sleep(9 * time.Minute)
		synctest.Wait()
		if got := p.Asks(); !slices.Equal(got, []int{2}) {
			t.Fatalf("idle 9m of 10: asked %v, want [2]", got)
		}
		time.Sleep(2 * time.Minute) // idle past 10m, and a check after it
		synctest.Wait()
		if got := p.Asks(); !slices.Equal(got, []int{2, 1}) {
			t.Fatalf("idle 11m: asked %v, want [2 1]", got)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := p.Asks(); !slices.Equal(got, []int{2, 1}) {
			t.Fatalf("scaled down more than once: %v", got)
		}
	})
}

// POST /instances restarts the idle period: a fleet just sized by hand is
// not shrunk at the next check.
func TestSetRestartsIdlePeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &memPlatform{}
		c := NewController(Config{Spec: "test:p", ScaleDownAfter: 10 * time.Minute}, p, &flagJobs{})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go c.Run(ctx)
		time.Sleep(8 * time.Minute)
		if err := c.Set(ctx, 3); err != nil {
			t.Fatal(err)
		}
		time.Sleep(8 * time.Minute) // 16m since start, 8m since the Set
		synctest.Wait()
		if got := p.Asks(); !slices.Equal(got, []int{3}) {
			t.Fatalf("asked %v, want [3]", got)
		}
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		if got := p.Asks(); !slices.Equal(got, []int{3, 0}) {
			t.Fatalf("asked %v, want [3 0]", got)
		}
	})
}

// Without an idle period Run returns at once and nothing scales down.
func TestNoScaleDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &memPlatform{}
		c := NewController(Config{Spec: "test:p"}, p, &flagJobs{})
		c.Run(t.Context())
		if len(p.Asks()) != 0 {
			t.Fatal(p.Asks())
		}
	})
}
