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
		jobs := &flagJobs{}
		p, c := runController(t, Config{Spec: "test:p", ScaleDownAfter: 10 * time.Minute, MinCapacity: 1}, jobs)

		jobs.busy.Store(true)
		if err := c.Raise(t.Context(), 2); err != nil {
			t.Fatal(err)
		}
		// The sleeps pass the bubble's fake time.
		time.Sleep(time.Hour) // a long job: never idle
		wantAsks(t, p, "during the job", 2)
		jobs.busy.Store(false)
		time.Sleep(9 * time.Minute)
		wantAsks(t, p, "idle 9m of 10", 2)
		time.Sleep(2 * time.Minute) // idle past 10m, and a check after it
		wantAsks(t, p, "idle 11m", 2, 1)
		time.Sleep(time.Hour)
		wantAsks(t, p, "an hour later: scaled down once", 2, 1)
	})
}

// POST /instances restarts the idle period: a fleet just sized by hand is
// not shrunk at the next check.
func TestSetRestartsIdlePeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, c := runController(t, Config{Spec: "test:p", ScaleDownAfter: 10 * time.Minute}, &flagJobs{})
		time.Sleep(8 * time.Minute) // fake time, as below
		if err := c.Set(t.Context(), 3); err != nil {
			t.Fatal(err)
		}
		time.Sleep(8 * time.Minute)
		wantAsks(t, p, "16m since start, 8m since the Set", 3)
		time.Sleep(3 * time.Minute)
		wantAsks(t, p, "11m since the Set", 3, 0)
	})
}

// runController runs a controller on a memPlatform in the test's synctest
// bubble until the test ends.
func runController(t *testing.T, cfg Config, jobs *flagJobs) (*memPlatform, *Controller) {
	p := &memPlatform{}
	c := NewController(cfg, p, jobs)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	go c.Run(ctx)
	return p, c
}

// wantAsks waits for the bubble's goroutines to settle and fails the test
// unless the platform was asked for want, in order.
func wantAsks(t *testing.T, p *memPlatform, when string, want ...int) {
	t.Helper()
	synctest.Wait()
	if got := p.Asks(); !slices.Equal(got, want) {
		t.Fatalf("%s: asked %v, want %v", when, got, want)
	}
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
