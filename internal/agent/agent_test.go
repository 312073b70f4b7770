package agent

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/riverqueue/river"

	"prewarm/internal/queue"
	"prewarm/internal/store"
	"prewarm/internal/warm"
)

// fakeQueue stands in for River: Consume records each activation and keeps
// the worker it is given, work runs a batch through it as River would,
// and the stop Consume returns waits for the batches running.
type fakeQueue struct {
	mu       sync.Mutex
	fail     int // Consume fails this many more times
	consumes map[string]int
	stops    map[string]int
	overlap  bool // Consume called for an agent already consuming
	workers  map[string]river.Worker[queue.WarmArgs]
	running  map[string]*sync.WaitGroup
	batches  map[string]int // as the last Consume asked
}

func newQueue() *fakeQueue {
	return &fakeQueue{consumes: map[string]int{}, stops: map[string]int{},
		workers: map[string]river.Worker[queue.WarmArgs]{}, running: map[string]*sync.WaitGroup{}, batches: map[string]int{}}
}

func (q *fakeQueue) Consume(_ context.Context, id, _ string, batches int, w river.Worker[queue.WarmArgs]) (func(context.Context) error, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.batches[id] = batches
	if q.fail > 0 {
		q.fail--
		return nil, errors.New("queue unavailable")
	}
	if q.workers[id] != nil {
		q.overlap = true
	}
	q.consumes[id]++
	q.workers[id] = w
	wg := new(sync.WaitGroup)
	q.running[id] = wg
	return func(context.Context) error {
		q.mu.Lock()
		q.stops[id]++
		delete(q.workers, id)
		q.mu.Unlock()
		wg.Wait()
		return nil
	}, nil
}

// work hands batch seq of jobID to the agent's consumer and returns where
// the worker's outcome arrives; nil when the agent consumes nothing.
func (q *fakeQueue) work(agentID, jobID string, seq int) <-chan error {
	q.mu.Lock()
	defer q.mu.Unlock()
	w := q.workers[agentID]
	if w == nil {
		return nil
	}
	out := make(chan error, 1)
	q.running[agentID].Go(func() {
		out <- w.Work(context.Background(), &river.Job[queue.WarmArgs]{Args: queue.WarmArgs{JobID: jobID, Batch: seq}})
	})
	return out
}

// count is how often the agent was made to consume and stopped.
func (q *fakeQueue) count(agentID string) (consumes, stops int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.consumes[agentID], q.stops[agentID]
}

func newAgent(e *env, q *fakeQueue, f Fetcher, id string) *Agent {
	return New(Config{ID: id, Name: "name-" + id, Host: "host-1", Concurrency: 2},
		Parts{Store: e.St, Queue: q, Fetcher: f, Cancels: NewCancels(), Log: discard})
}

// run runs the agent until the returned stop is called (or the test
// ends); stop waits for Run to return.
func run(t *testing.T, a *Agent) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// fleet lists the agents the store knows, live or not.
func (e *env) fleet() []warm.Agent {
	e.T.Helper()
	agents, err := e.St.Agents(e.Ctx, time.Time{})
	e.Must(err)
	return agents
}

func ids(agents []warm.Agent) []string {
	var out []string
	for _, a := range agents {
		out = append(out, a.ID)
	}
	return out
}

func TestEveryLiveAgentWorksWhileNoCapacityIsSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, q, f := newEnv(t), newQueue(), &fetcher{}
		a1, a2 := newAgent(e, q, f, "a1"), newAgent(e, q, f, "a2")
		begin := time.Now()
		stop1 := run(t, a1)
		time.Sleep(500 * time.Millisecond)
		stop2 := run(t, a2)
		synctest.Wait()

		if !a1.Active() || !a2.Active() {
			t.Fatalf("active: a1 %v, a2 %v; want both", a1.Active(), a2.Active())
		}
		agents := e.fleet()
		if !slices.Equal(ids(agents), []string{"a1", "a2"}) || !agents[0].Active || !agents[1].Active {
			t.Fatalf("the store lists %+v, want a1 then a2, both active", agents)
		}
		if info := a1.Info(); info.Name != "name-a1" || info.Concurrency != 2 || !info.StartedAt.Equal(begin) || !info.Active {
			t.Fatalf("a1 reports %+v", info)
		}

		advance(5 * time.Second)
		if c, s := q.count("a1"); c != 1 || s != 0 {
			t.Fatalf("a1 consumed %d times and stopped %d over five heartbeats, want 1 and 0", c, s)
		}
		if got := a2.Info().LastHeartbeat; !got.Equal(begin.Add(5500 * time.Millisecond)) {
			t.Fatalf("a2 last reported at %v, want at its latest heartbeat", got.Sub(begin))
		}

		stop1()
		if c, s := q.count("a1"); c != 1 || s != 1 || a1.Active() {
			t.Fatalf("a1 after Run: %d consumes, %d stops, active %v", c, s, a1.Active())
		}
		if got := ids(e.fleet()); !slices.Equal(got, []string{"a2"}) {
			t.Fatalf("agents %v after a1 left, want [a2]", got)
		}
		stop2()
		if got := e.fleet(); len(got) != 0 {
			t.Fatalf("agents %v after both left", ids(got))
		}
		if q.overlap {
			t.Fatal("an agent consumed twice at once")
		}
	})
}

func TestUnderCapacityOneOnlyTheOlderAgentWorksUntilItLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, q, f := newEnv(t), newQueue(), &fetcher{}
		e.Must(e.St.SetDesiredCapacity(e.Ctx, 1))
		a1, a2 := newAgent(e, q, f, "a1"), newAgent(e, q, f, "a2")
		stop1 := run(t, a1)
		time.Sleep(500 * time.Millisecond)
		stop2 := run(t, a2)
		advance(3 * time.Second)

		if !a1.Active() || a2.Active() {
			t.Fatalf("active: a1 %v, a2 %v; want only a1", a1.Active(), a2.Active())
		}
		if c, _ := q.count("a2"); c != 0 {
			t.Fatalf("the standby consumed %d times", c)
		}
		if agents := e.fleet(); len(agents) != 2 || agents[1].ID != "a2" || agents[1].Active {
			t.Fatalf("the store lists %+v, want a2 standing by", agents)
		}

		// a1 leaves the fleet as it stops: a2 takes over at its next
		// heartbeat, not after the live window.
		stop1()
		advance(time.Second)
		wantActive(t, a2, true, "a2 still stands by a heartbeat after a1 left")
		q.wantConsumed(t, "a2", 1)
		stop2()
	})
}

func TestAStandbyTakesOverFromASilentAgentAfterTheLiveWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, q, f := newEnv(t), newQueue(), &fetcher{}
		e.Must(e.St.SetDesiredCapacity(e.Ctx, 1))
		// An older agent that reports once and then goes silent (its
		// process hung or lost the database).
		begin := time.Now()
		_, _, err := e.St.Heartbeat(e.Ctx, warm.Agent{ID: "silent", Active: true, StartedAt: begin, LastHeartbeat: begin}, time.Time{})
		e.Must(err)
		time.Sleep(100 * time.Millisecond)
		a := newAgent(e, q, f, "a2")
		stop := run(t, a)

		advance(9500 * time.Millisecond) // the silent one is 9.6s quiet: still live
		wantActive(t, a, false, "the standby took over while the silent agent was within its live window")
		advance(time.Second) // its heartbeat at 10.1s finds it alone
		wantActive(t, a, true, "the standby did not take over once the silent agent left the live window")
		stop()
	})
}

// slowAgent plans job j1 of urls URLs, each fetched in delay, and runs
// agent a1 over it with two fetches at once.
func slowAgent(t *testing.T, urls int, delay time.Duration) (e *env, q *fakeQueue, f *fetcher, a *Agent, stop func()) {
	e, q = newEnv(t), newQueue()
	e.plan(jobSpec{id: "j1", urls: urls})
	f = &fetcher{delay: func(string) time.Duration { return delay }}
	a = newAgent(e, q, f, "a1")
	return e, q, f, a, run(t, a)
}

// checkSnoozed checks a worker's outcome is River's "continue later".
func checkSnoozed(t *testing.T, err error) {
	t.Helper()
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) || snooze.Duration != 0 {
		t.Fatalf("worker returned %v, want a snooze to continue at once", err)
	}
}

func TestStandingByDrainsTheRunningBatchAndStopsConsuming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, q, f, a, stop := slowAgent(t, 20, 700*time.Millisecond)
		synctest.Wait()
		begin := time.Now()
		out := q.work("a1", "j1", 0)
		if out == nil {
			t.Fatal("the agent consumes nothing")
		}

		time.Sleep(2500 * time.Millisecond)
		e.Must(e.St.SetDesiredCapacity(e.Ctx, 0))
		// The heartbeat at 3s closes the drain: fetches 8 and 9 are in
		// flight, nothing more is fed, and the worker ends when they do.
		checkSnoozed(t, <-out)
		if d := time.Since(begin); d != 3500*time.Millisecond {
			t.Fatalf("the batch ended after %v, want 3.5s", d)
		}
		wantActive(t, a, false, "the agent is still active at capacity 0")
		if c, s := q.count("a1"); c != 1 || s != 1 {
			t.Fatalf("%d consumes, %d stops; want the consumer stopped", c, s)
		}
		if n := len(f.requests()); n != 10 {
			t.Fatalf("%d fetches, want 10", n)
		}
		if p := e.Progress("j1"); p.Done != 10 || p.InProgress != 0 {
			t.Fatalf("counts %+v, want the 10 fetched recorded", p.Counts)
		}
		e.wantBatch("j1", 0, warm.BatchPending)
		synctest.Wait()
		if agents := e.fleet(); len(agents) != 1 || agents[0].Active || agents[0].Busy != 0 {
			t.Fatalf("the store lists %+v, want a1 standing by, idle", agents)
		}

		// Work again: the agent consumes anew and finishes the batch.
		e.Must(e.St.SetDesiredCapacity(e.Ctx, 1))
		advance(time.Second)
		wantActive(t, a, true, "the agent did not resume at capacity 1")
		if err := <-q.work("a1", "j1", 0); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			if n := f.fetchedURLs()[urlOf(i)]; n != 1 {
				t.Errorf("%s fetched %d times, want 1", urlOf(i), n)
			}
		}
		e.wantFinished("j1", 20)
		stop()
		if q.overlap {
			t.Fatal("an agent consumed twice at once")
		}
	})
}

// Shutting down (Run's context ends) drains like standing by: the batch
// running records what it fetched before the agent leaves the fleet.
func TestAnAgentShuttingDownRecordsItsRunningBatchAndLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, q, _, a, stop := slowAgent(t, 20, 700*time.Millisecond)
		synctest.Wait()
		out := q.work("a1", "j1", 0)
		time.Sleep(2500 * time.Millisecond)
		if n := a.Busy(); n != 2 {
			t.Fatalf("busy %d, want 2 fetches in flight", n)
		}
		stop() // fetches 6 and 7 are in flight until 2.8s
		checkSnoozed(t, <-out)
		if p := e.Progress("j1"); p.Done != 8 || p.Failed != 0 {
			t.Fatalf("counts %+v, want the 8 fetched recorded", p.Counts)
		}
		if agents := e.fleet(); len(agents) != 0 {
			t.Fatalf("agents %v after shutdown", ids(agents))
		}
	})
}

// flakyFleet fails the first heartbeat: a database that is not there yet.
type flakyFleet struct {
	Store
	mu    sync.Mutex
	fails int
}

func (s *flakyFleet) Heartbeat(ctx context.Context, a warm.Agent, liveSince time.Time) ([]warm.Agent, int, error) {
	s.mu.Lock()
	fail := s.fails > 0
	s.fails--
	s.mu.Unlock()
	if fail {
		return nil, 0, errors.New("database unavailable")
	}
	return s.Store.Heartbeat(ctx, a, liveSince)
}

func TestAnAgentRetriesAtTheNextHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, q := newEnv(t), newQueue()
		q.fail = 1
		a := New(Config{ID: "a1"}, Parts{Store: &flakyFleet{Store: e.St, fails: 1}, Queue: q, Fetcher: &fetcher{},
			Cancels: NewCancels(), Log: discard})
		stop := run(t, a)
		synctest.Wait()
		wantActive(t, a, false, "active though its heartbeat failed")
		advance(time.Second) // the heartbeat works; consuming fails
		wantActive(t, a, false, "active though the queue refused it")
		advance(time.Second)
		wantActive(t, a, true, "not active once the store and the queue answer")
		q.wantConsumed(t, "a1", 1)
		stop()
	})
}

func TestAgentConfigDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a := New(Config{ID: "a1"}, Parts{Store: e.St, Queue: newQueue(), Fetcher: &fetcher{}, Cancels: NewCancels(), Log: discard})
		defer a.pool.Close()
		c := a.cfg
		if c.Concurrency != DefaultConcurrency || c.Heartbeat != DefaultHeartbeat || c.LiveWindow != DefaultLiveWindow ||
			c.BatchBudget != DefaultBatchBudget || c.StepTimeout != DefaultBatchBudget+10*time.Minute {
			t.Fatalf("defaults: %+v", c)
		}
		if d := (&worker{agent: a}).Timeout(nil); d != c.StepTimeout {
			t.Fatalf("a batch may run %v, want the step timeout %v", d, c.StepTimeout)
		}
		if a.runner.Budget != DefaultBatchBudget {
			t.Fatalf("runner budget %v", a.runner.Budget)
		}
	})
}

// Standing by waits for the fetches in flight, which may take minutes
// (a large object): the agent must keep heartbeating meanwhile, or the
// reapers take it for dead and hand its running batch to another agent.
func TestADrainingAgentKeepsHeartbeating(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, q, _, _, stop := slowAgent(t, 4, 30*time.Second)
		rq := &requeues{}
		r := &Reaper{Store: e.St, Requeue: rq.requeue, Window: DefaultLiveWindow, Log: discard, Now: time.Now}
		background(t, r.Run)
		synctest.Wait()
		out := q.work("a1", "j1", 0)

		time.Sleep(500 * time.Millisecond)
		e.Must(e.St.SetDesiredCapacity(e.Ctx, 0)) // the heartbeat at 1s drains
		advance(20 * time.Second)
		agents := e.fleet()
		if len(agents) != 1 || agents[0].Active || agents[0].Busy != 2 {
			t.Fatalf("while draining, the store lists %+v; want a1 standing by with 2 fetches in flight", agents)
		}
		if since := time.Since(agents[0].LastHeartbeat); since > DefaultHeartbeat {
			t.Fatalf("a1 last reported %v ago while draining", since)
		}
		if got := rq.list(); len(got) != 0 {
			t.Fatalf("the reaper requeued %v while a1 was draining", got)
		}
		checkSnoozed(t, <-out)
		if p := e.Progress("j1"); p.Done != 2 {
			t.Fatalf("%d done, want the 2 fetches in flight recorded", p.Done)
		}
		stop()
	})
}

// wantActive fails the test with failure unless the agent's Active is
// active.
func wantActive(t *testing.T, a *Agent, active bool, failure string) {
	t.Helper()
	if a.Active() != active {
		t.Fatal(failure)
	}
}

// wantConsumed fails the test unless agent id started consuming the queue
// n times.
func (q *fakeQueue) wantConsumed(t *testing.T, id string, n int) {
	t.Helper()
	if c, _ := q.count(id); c != n {
		t.Fatalf("%s consumed %d times, want %d", id, c, n)
	}
}

// farStore is the store as an agent far from it measures it.
type farStore struct {
	*store.Store
	rtt time.Duration
}

func (f farStore) RoundTrip(context.Context) (time.Duration, error) { return f.rtt, nil }

// An agent far from its database works more batches at once, sized from
// the round trip it measures, and tells the fleet in its heartbeats.
func TestAnAgentFarFromItsDatabaseWorksMoreBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, q := newEnv(t), newQueue()
		a := New(Config{ID: "far", Concurrency: 2},
			Parts{Store: farStore{e.St, 100 * time.Millisecond}, Queue: q, Fetcher: &fetcher{}, Cancels: NewCancels(), Log: discard})
		near := newAgent(e, q, &fetcher{}, "near")
		run(t, a)
		run(t, near)
		advance(time.Second)
		q.mu.Lock()
		far, next := q.batches["far"], q.batches["near"]
		q.mu.Unlock()
		// Each takes twice the batches it fetches at once from the queue
		// (the others wait for their last write, or for a fetch slot), and
		// the far one the 64 it fetches beyond the default twice more.
		if far != 2*80+2*64 || next != 2*DefaultBatches {
			t.Fatalf("batches taken: %d 100 ms away, %d next to it; want 288 and %d", far, next, 2*DefaultBatches)
		}
		for _, ag := range e.fleet() {
			// Its queue window counts the 64 beyond the default four
			// times: the window holds what it took and more behind.
			if ag.ID == "far" && (ag.Batches != 80+3*64 || ag.DBRoundTrip != 100*time.Millisecond) {
				t.Fatalf("the fleet sees %+v", ag)
			}
		}
		// Its writes go in two lanes; the near agent's in one.
		if a.runner.Writer.using.Load() != 2 || near.runner.Writer.using.Load() != 1 {
			t.Fatalf("writer lanes: %d far, %d near", a.runner.Writer.using.Load(), near.runner.Writer.using.Load())
		}
	})
}

func TestBatchesFor(t *testing.T) {
	for rtt, want := range map[time.Duration]int{
		0: 16, time.Millisecond: 17, 20 * time.Millisecond: 29, 100 * time.Millisecond: 80,
		250 * time.Millisecond: 176, time.Second: MaxBatches,
	} {
		if got := BatchesFor(rtt); got != want {
			t.Errorf("BatchesFor(%s) = %d, want %d", rtt, got, want)
		}
	}
}
