// Package agent runs prewarm's agents. An agent is a pool of fetchers that
// takes batches (one POP × a range of URLs) from the warm queue, fetches
// them through the POP and records the results; it registers in the shared
// store, heartbeats, and takes work only while the desired capacity ranks it
// among the active agents. The rest stand by and take over when an active
// agent stops heartbeating; the reaper, which runs in every serve process,
// hands a dead agent's batches back to the queue.
//
// Data flows: queue (a River job per batch) → worker → Runner → Pool →
// fetch → store (results in bulk, counted once).
package agent

import (
	"cmp"
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"prewarm/internal/queue"
	"prewarm/internal/warm"
)

// Store is what an agent reads and writes.
type Store interface {
	BatchStore
	RecordStore
	// Heartbeat records an agent as alive and returns the live agents
	// (heartbeat newer than liveSince) in the order that ranks them for
	// work, with the desired capacity (negative: never set).
	Heartbeat(ctx context.Context, a warm.Agent, liveSince time.Time) ([]warm.Agent, int, error)
	RemoveAgent(ctx context.Context, id string) error
	// RoundTrip measures the database's round trip from this process.
	RoundTrip(ctx context.Context) (time.Duration, error)
}

// Queue hands an agent the batches of the warm queue, and those of its
// location's queue when it has one: Consume starts taking them under the
// agent's id, each worked by w, until the returned stop is called (which
// waits for the running ones).
type Queue interface {
	Consume(ctx context.Context, agentID, location string, batches int, w river.Worker[queue.WarmArgs]) (stop func(context.Context) error, err error)
}

// Config tunes an agent. Zero fields take the defaults.
type Config struct {
	ID   string // unique; the queue records it on the batches it takes
	Name string // shown in GET /instances
	Host string
	// Location is where the agent runs (a POP code, an airport, an ISO
	// country or a region, as edge.Catalog.Location spells it; empty:
	// anywhere): it also takes the batches of jobs with vantage "agents"
	// meant for there.
	Location string
	// Concurrency is the agent's fetches in flight at once.
	Concurrency int
	// Batches is how many batches the agent works at once; 0 sizes it
	// from the database's round trip each time the agent becomes active
	// (see BatchesFor).
	Batches int
	// Heartbeat is how often the agent reports; LiveWindow is how long a
	// silent agent counts as alive.
	Heartbeat  time.Duration
	LiveWindow time.Duration
	// StepTimeout is the longest one run of a batch may take; the queue
	// cancels it past that.
	StepTimeout time.Duration
	// BatchBudget: after it, a batch starts no new fetch and continues
	// later, so that a stop, a standby or a dead agent is noticed soon.
	BatchBudget time.Duration
}

// BatchesFor is how many batches an agent whose database is rtt away
// works at once. Next to the database, DefaultBatches keep its fetches busy
// across POPs and across the gap between one batch and the next. A batch
// also waits on the database about a dozen round trips (its read, its part
// of the writes), time in which it fetches nothing: an agent farther away
// works more batches at once to cover it, 16 more for every 25 ms, up to
// MaxBatches.
func BatchesFor(rtt time.Duration) int {
	n := float64(DefaultBatches) * (1 + float64(rtt)/float64(batchesPer16))
	return min(max(int(math.Round(n)), DefaultBatches), MaxBatches)
}

// Bounds of BatchesFor.
const (
	DefaultBatches = 16
	MaxBatches     = 256
	batchesPer16   = 25 * time.Millisecond
)

// Defaults of Config.
const (
	DefaultConcurrency = 2048
	DefaultHeartbeat   = time.Second
	DefaultLiveWindow  = 10 * time.Second
	DefaultBatchBudget = 30 * time.Second
)

func (c Config) withDefaults() Config {
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.Heartbeat = cmp.Or(c.Heartbeat, DefaultHeartbeat)
	c.LiveWindow = cmp.Or(c.LiveWindow, DefaultLiveWindow)
	c.BatchBudget = cmp.Or(c.BatchBudget, DefaultBatchBudget)
	c.StepTimeout = cmp.Or(c.StepTimeout, c.BatchBudget+10*time.Minute)
	return c
}

// Agent is one worker pool.
type Agent struct {
	cfg    Config
	store  Store
	queue  Queue
	pool   *Pool
	runner *Runner
	log    *slog.Logger
	now    func() time.Time

	info         warm.Agent
	mu           sync.Mutex
	drain        chan struct{} // closed while the agent takes no new work
	active       bool
	stopConsumer func(context.Context) error
}

// Parts are what an agent works with. All but the store and the queue may
// be shared by the agents of a process.
type Parts struct {
	Store   Store
	Queue   Queue
	Fetcher Fetcher
	Cancels *Cancels
	// Budgets holds the fetches to their budgets; one per process, shared
	// by its agents (nil: no budgets).
	Budgets  *Budgets
	Observer Observer // may be nil
	Log      *slog.Logger
	Now      func() time.Time // nil: time.Now
}

// New builds an agent; Run starts it.
func New(cfg Config, p Parts) *Agent {
	cfg = cfg.withDefaults()
	now := p.Now
	if now == nil {
		now = time.Now
	}
	pool := NewPool(p.Fetcher, cfg.Concurrency)
	drain := make(chan struct{})
	close(drain) // not active yet
	runner := &Runner{
		Store: p.Store, Pool: pool, Cancels: p.Cancels, AgentID: cfg.ID, Log: p.Log, Now: now, Observer: p.Observer,
		Budgets:    p.Budgets,
		FlushEvery: 200, FlushInterval: 200 * time.Millisecond, StatusInterval: time.Second,
		Budget: cfg.BatchBudget, RecordTimeout: 10 * time.Second,
	}
	runner.Writer = NewWriter(p.Store, p.Log, runner.JobEnded)
	return &Agent{
		cfg: cfg, store: p.Store, queue: p.Queue, pool: pool, log: p.Log, now: now, drain: drain,
		info:   warm.Agent{ID: cfg.ID, Name: cfg.Name, Host: cfg.Host, Concurrency: cfg.Concurrency, Location: cfg.Location},
		runner: runner,
	}
}

// Info is the agent as it last reported itself.
func (a *Agent) Info() warm.Agent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.info
}

// Active reports whether the agent takes work.
func (a *Agent) Active() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.active
}

// Busy is the number of fetches in flight.
func (a *Agent) Busy() int { return a.pool.Busy() }

// Run heartbeats until ctx ends, taking work while the fleet ranks the
// agent active; then it leaves the queue and the fleet and stops its pool.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	a.info.StartedAt = a.now()
	a.mu.Unlock()
	defer a.pool.Close()
	// The writer outlives the batches: it writes what they fetched until
	// the last has left, then what is still queued.
	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	var writer sync.WaitGroup
	writer.Go(func() { a.runner.Writer.Run(writerCtx) })
	defer writer.Wait()
	defer stopWriter()
	t := time.NewTicker(a.cfg.Heartbeat)
	defer t.Stop()
	for {
		if err := a.beat(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("heartbeat failed", "agent", a.cfg.ID, "err", err)
		}
		select {
		case <-ctx.Done():
			a.leave(context.WithoutCancel(ctx))
			return nil
		case <-t.C:
		}
	}
}

// leave stops taking work and removes the agent from the fleet, so that a
// standby takes over at once instead of after the live window.
func (a *Agent) leave(ctx context.Context) {
	a.setActive(ctx, false)
	if err := a.store.RemoveAgent(ctx, a.cfg.ID); err != nil {
		a.log.Warn("leaving the fleet", "agent", a.cfg.ID, "err", err)
	}
}

// beat reports the agent and switches it to what its rank calls for.
func (a *Agent) beat(ctx context.Context) error {
	live, desired, err := a.report(ctx)
	if err != nil {
		return err
	}
	rank := len(live)
	for i, other := range live {
		if other.ID == a.cfg.ID {
			rank = i
		}
	}
	if a.setActive(ctx, rank < warm.Working(desired, len(live))) {
		// Report the new state now rather than a heartbeat later.
		_, _, err = a.report(ctx)
	}
	return err
}

func (a *Agent) report(ctx context.Context) ([]warm.Agent, int, error) {
	a.mu.Lock()
	now := a.now()
	a.info.Busy = a.pool.Busy()
	a.info.Active = a.active
	a.info.LastHeartbeat = now
	info := a.info
	a.mu.Unlock()
	return a.store.Heartbeat(ctx, info, now.Add(-a.cfg.LiveWindow))
}

// setActive switches the agent and reports whether its state changed.
// Turning it off closes the drain at once (running batches record what
// they have and return) and returns once they have.
func (a *Agent) setActive(ctx context.Context, active bool) bool {
	a.mu.Lock()
	if active == a.active {
		a.mu.Unlock()
		return false
	}
	if active {
		a.drain = make(chan struct{})
	} else {
		close(a.drain)
	}
	a.active = active
	stop := a.stopConsumer
	a.stopConsumer = nil
	a.mu.Unlock()

	var err error
	if active {
		batches := a.batches(ctx)
		a.runner.SetFetching(batches)
		stop, err = a.queue.Consume(ctx, a.cfg.ID, a.cfg.Location, TakenBatches(batches), &worker{agent: a})
	} else if stop != nil {
		err = a.reporting(ctx, stop)
		stop = nil
	}
	a.mu.Lock()
	a.stopConsumer = stop
	if err != nil && active { // try again at the next heartbeat
		close(a.drain)
		a.active = false
	}
	a.mu.Unlock()
	if err != nil {
		a.log.Error("switching agent", "agent", a.cfg.ID, "active", active, "err", err)
		return !active
	}
	a.log.Info("agent "+warm.Agent{Active: active}.State(), "agent", a.cfg.ID, "name", a.cfg.Name)
	return true
}

// BusyBatches is how many batches an agent that fetches n at once keeps
// busy, for the queue windows (see Agent.batches): next to the database,
// n; farther, three times as many again beyond the default, so that the
// window holds the batches taken but not fetching (TakenBatches) and more
// queued behind them.
func BusyBatches(n int) int { return n + 3*extraBatches(n) }

// TakenBatches is how many batches an agent that fetches n at once takes
// from the queue: twice n — the others have fetched and wait for their
// last write, or wait for a fetch slot, having read their tasks and sent
// their claims — and, far from the database, twice more what it fetches
// beyond the default: there a batch's last write and the next batch's
// start each cost round trips, and a far agent that took twice n fetched
// in waves, idle while the batches it held waited for their writes.
func TakenBatches(n int) int { return 2*n + 2*extraBatches(n) }

// extraBatches is what an agent fetching n batches at once fetches beyond
// the default: what a far database costs it.
func extraBatches(n int) int { return max(n-DefaultBatches, 0) }

// batches is how many batches the agent fetches at once while active: as
// configured, or sized from the database's round trip, measured now (a
// failed measurement keeps the default); the writer's lanes follow the
// round trip in either case. The fleet hears in the heartbeats how many batches the
// agent keeps busy (BusyBatches) — a job's window of queued batches
// follows it (next to the database a deeper queue would only make a small
// job wait longer behind a big one).
func (a *Agent) batches(ctx context.Context) int {
	rtt, err := a.store.RoundTrip(ctx)
	if err != nil {
		a.log.Warn("measuring the database's round trip", "agent", a.cfg.ID, "err", err)
	}
	n := a.cfg.Batches
	if n <= 0 {
		n = BatchesFor(rtt)
	}
	a.runner.Writer.SetLanes(LanesFor(rtt))
	a.mu.Lock()
	a.info.Batches, a.info.DBRoundTrip = BusyBatches(n), rtt
	a.mu.Unlock()
	if rtt > 0 {
		a.log.Info("agent sized to its database's round trip", "agent", a.cfg.ID, "round_trip", rtt.Round(time.Microsecond), "batches", n)
	}
	return n
}

// reporting runs stop, which waits for the running batches to record what
// they fetched — as long as their fetches in flight take, minutes for a
// large object — and heartbeats meanwhile: a silent agent is taken for
// dead and its running batches handed to another.
func (a *Agent) reporting(ctx context.Context, stop func(context.Context) error) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(a.cfg.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if _, _, err := a.report(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("heartbeat failed", "agent", a.cfg.ID, "err", err)
			}
		}
	})
	err := stop(ctx)
	close(done)
	wg.Wait()
	return err
}

// draining is closed when the agent must stop starting fetches: it is
// standing by or shutting down.
func (a *Agent) draining() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.drain
}

// worker is the agent's River worker: a River job of the warm queue is one
// batch.
type worker struct {
	river.WorkerDefaults[queue.WarmArgs]
	agent *Agent
}

// Timeout is the longest one run of a batch may take.
func (w *worker) Timeout(*river.Job[queue.WarmArgs]) time.Duration { return w.agent.cfg.StepTimeout }

// Work fetches the batch.
func (w *worker) Work(ctx context.Context, j *river.Job[queue.WarmArgs]) error {
	if len(j.Args.Rewarms) > 0 {
		rws := make([]warm.Rewarm, len(j.Args.Rewarms))
		for i, rw := range j.Args.Rewarms {
			rws[i] = warm.Rewarm{URLIndex: rw.URL, Variant: rw.Variant}
		}
		return queue.Outcome(w.agent.runner.RunRewarms(ctx, j.Args.JobID, j.Args.POP, rws))
	}
	b := warm.Batch{JobID: j.Args.JobID, Seq: j.Args.Batch, POP: j.Args.POP, From: j.Args.From, To: j.Args.To}
	return queue.Outcome(w.agent.runner.RunBatch(ctx, b, w.agent.draining()))
}
