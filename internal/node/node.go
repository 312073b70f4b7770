// Package node assembles a running prewarm process from a Config: the
// database picked by its URL (embedded SQLite or a shared PostgreSQL), the
// store and the queue on it, the service the API and the CLI call, and —
// as the process's role asks — planning and timeouts, the reaper of dead
// agents, and in-process agents. serve, agent and run each open one node.
package node

import (
	"context"
	"fmt"
	"os"
	"prewarm/internal/every"
	"sync"
	"time"

	"github.com/google/uuid"

	"prewarm/internal/agent"
	"prewarm/internal/invalidate"
	"prewarm/internal/metrics"
	"prewarm/internal/notify"
	"prewarm/internal/queue"
	"prewarm/internal/store"
	"prewarm/internal/warm"
)

// Timing of queued steps. A batch starts no fetch after its budget, so one
// run of a step lasts at most the budget plus the slowest task.
const (
	batchBudget   = agent.DefaultBatchBudget
	planBudget    = 30 * time.Second
	planChunk     = 2000
	batchSize     = 250
	probeParallel = 128
	probeMinURLs  = 20
	// controlWorkers plan this many jobs at once. Planning a small job is
	// mostly waiting (a DNS answer, a probe, the database's writer), so a
	// burst of small jobs flows only with many planned together; a large
	// job's planning is chunked, and its probes share the host budgets.
	controlWorkers = 32
)

// Node is a running prewarm process minus its HTTP server.
type Node struct {
	Store   *store.Store
	Service *warm.Service
	// Schedules keeps the schedules; a control node starts their runs.
	Schedules *warm.Scheduler
	// Metrics counts what this process's agents fetch and, on a node
	// with Control, reads the system's gauges.
	Metrics *metrics.Metrics
	Agents  []*agent.Agent

	cfg     Config
	queue   *queue.Queue
	budgets *agent.Budgets
	closeDB func() error
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// Open opens the database, brings its schema up to date and starts the
// node's parts. They run until Close; ctx bounds only the opening.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	edges, err := newEdges(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.AgentLocation, err = edges.catalog.Location(cfg.AgentLocation); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.locationFlag(), err)
	}
	n := &Node{cfg: cfg}
	if err := n.openDatabase(ctx); err != nil {
		return nil, cfg.explain(err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	n.stop = stop
	cancels := agent.NewCancels()
	limits := warm.DefaultLimits
	limits.MaxURLs = cfg.MaxURLs
	limits.CanNotify = cfg.WebhookSecret != ""
	limits.DefaultDiscover, _ = warm.DefaultDiscoverMode(cfg.DefaultDiscover) // checked by Validate
	n.Service = &warm.Service{Store: n.Store, Selector: edges.catalog, Limits: limits, Cancels: cancels,
		Board: &warm.Board{Store: n.Store}, LiveWindow: cfg.AgentTimeout, NewID: uuid.NewString, Now: time.Now,
		Resolver: edges.resolver, Direct: edges.client, NotifyURL: cfg.NotifyURL}
	n.Schedules = &warm.Scheduler{Store: n.Store, Service: n.Service, NewID: uuid.NewString, Now: time.Now, MinGap: cfg.ScheduleMinGap}
	// One keeper of budget shares for the whole process, so that a host
	// pausing here pauses every fetch and probe of the process at once.
	n.budgets = agent.NewBudgets(n.Store, "node-"+uuid.NewString(), cfg.Log, time.Now)
	n.budgets.SetCapacity(cfg.Concurrency * max(cfg.Agents, 1))
	var sys metrics.System
	if cfg.Control {
		sys = n.Service
		if err := n.startControl(runCtx, edges); err != nil {
			n.Close()
			return nil, cfg.explain(err)
		}
	}
	n.Metrics = metrics.New(sys, cfg.Log)
	n.startAgents(runCtx, edges, cancels)
	n.wg.Go(func() { n.budgets.Run(runCtx) })
	return n, nil
}

// startControl records the per-host limits and starts planning, timeouts
// and the reaper.
func (n *Node) startControl(ctx context.Context, edges *edges) error {
	log := n.cfg.Log
	if err := n.Store.SetHostLimits(ctx, n.cfg.HostLimit); err != nil {
		return err
	}
	planner := &warm.Planner{
		Gate:  n.budgets, // the size probes are fetches too
		Store: n.Store, Resolver: edges.resolver, Prober: edges.client, Expander: expander{edges.client},
		MaxURLs: n.cfg.MaxURLs, Log: log, Now: time.Now,
		ChunkSize: planChunk, BatchSize: batchSize, ProbeConcurrency: probeParallel, ProbeMinURLs: probeMinURLs,
		Budget:  planBudget,
		Locator: edges.catalog, Fleet: n.Store, LiveWindow: n.cfg.AgentTimeout,
		Invalidator: &invalidate.Clearer{
			NewCloudFront: func(ctx context.Context) (*invalidate.CloudFront, error) {
				return invalidate.NewCloudFront(ctx, invalidate.CloudFrontConfig{
					Endpoint: n.cfg.CloudFrontEndpoint, PollInterval: n.cfg.InvalidationPoll, Log: log})
			},
			Purger: &invalidate.Purger{Edges: edges.client, Log: log},
		},
	}
	if err := n.queue.StartControl(ctx, queue.Control{Plan: planner.Plan, Timeout: n.Service.Timeout}); err != nil {
		return err
	}
	n.wg.Go(func() { n.sweepDeadlines(ctx) })
	reaper := &agent.Reaper{Store: n.Store, Requeue: n.queue.RequeueAgent, Window: n.cfg.AgentTimeout, Log: log, Now: time.Now,
		Located: n.Store, LocationGrace: n.cfg.LocationGrace}
	n.wg.Go(func() { reaper.Run(ctx) })
	if n.cfg.Retention > 0 {
		n.wg.Go(func() { n.sweepRetention(ctx) })
	}
	n.wg.Go(func() { n.runSchedules(ctx) })
	n.wg.Go(func() { n.queueRewarms(ctx) })
	if err := n.startScaler(ctx); err != nil {
		return err
	}
	if n.cfg.WebhookSecret != "" {
		notifier := notify.New(n.Store, []byte(n.cfg.WebhookSecret), n.cfg.AllowPrivateWebhooks, log)
		n.wg.Go(func() { notifier.Run(ctx) })
	}
	return nil
}

// startAgents starts the configured agents, sharing the fetch client and
// the registry of running work.
func (n *Node) startAgents(ctx context.Context, edges *edges, cancels *agent.Cancels) {
	host, _ := os.Hostname()
	name := n.cfg.AgentName
	if name == "" {
		name = host
	}
	for i := range n.cfg.Agents {
		cfg := agent.Config{
			ID: uuid.NewString(), Name: name, Host: host, Concurrency: n.cfg.Concurrency, Location: n.cfg.AgentLocation,
			LiveWindow: n.cfg.AgentTimeout, BatchBudget: batchBudget,
			StepTimeout: n.stepTimeout(),
		}
		if n.cfg.Agents > 1 {
			cfg.Name = fmt.Sprintf("%s-%d", name, i+1)
		}
		a := agent.New(cfg, agent.Parts{
			Store: n.Store, Queue: n.queue, Fetcher: edges.client, Cancels: cancels, Budgets: n.budgets, Observer: n.Metrics,
			Log: n.cfg.Log,
		})
		n.Agents = append(n.Agents, a)
		n.wg.Go(func() { _ = a.Run(ctx) })
	}
}

// sweepEvery is how often a control node ends the jobs past their
// deadline: how late a job may end.
const sweepEvery = 250 * time.Millisecond

// sweepDeadlines ends overdue jobs until ctx ends.
func (n *Node) sweepDeadlines(ctx context.Context) {
	every.Tick(ctx, sweepEvery, func(ctx context.Context) {
		ended, err := n.Service.EndOverdue(ctx)
		if err != nil && ctx.Err() == nil {
			n.cfg.Log.Warn("ending jobs past their deadline", "err", err)
		}
		for _, id := range ended {
			n.cfg.Log.Info("job timed out", "job", id)
		}
	})
}

// runSchedules starts the schedules' due runs, checking every second.
func (n *Node) runSchedules(ctx context.Context) {
	every.Tick(ctx, time.Second, func(ctx context.Context) {
		started, err := n.Schedules.RunDue(ctx)
		if err != nil && ctx.Err() == nil {
			n.cfg.Log.Warn("starting scheduled runs", "err", err)
		}
		for _, id := range started {
			n.cfg.Log.Info("scheduled run started", "job", id)
		}
	})
}

// rewarmEvery is how often a control node queues the keep-warm jobs'
// due re-warms: how late one may be queued. A refreshing re-warm is due a
// second or more before expiry (see warm.NextRewarm), so this, the queue's
// poll and the fetch fit in it.
const rewarmEvery = 250 * time.Millisecond

// rewarmChunk is the most re-warms one claim queues.
const rewarmChunk = 5000

// queueRewarms queues due re-warms until ctx ends. Every control node
// runs it; each re-warm is claimed, and so queued, by one of them.
func (n *Node) queueRewarms(ctx context.Context) {
	every.Tick(ctx, rewarmEvery, func(ctx context.Context) {
		for {
			queued, err := n.Store.QueueRewarms(ctx, time.Now(), rewarmChunk)
			if err != nil && ctx.Err() == nil {
				n.cfg.Log.Warn("queueing re-warms", "err", err)
			}
			if queued < rewarmChunk {
				return
			}
		}
	})
}

// sweepRetention trims the per-task rows of jobs ended longer than the
// retention ago, checking ten times per retention period (at most hourly,
// at least every second).
func (n *Node) sweepRetention(ctx context.Context) {
	trim := func(ctx context.Context) {
		for {
			trimmed, err := n.Store.Retain(ctx, time.Now().Add(-n.cfg.Retention), 20)
			if err != nil && ctx.Err() == nil {
				n.cfg.Log.Warn("trimming ended jobs past retention", "err", err)
			}
			if len(trimmed) > 0 {
				n.cfg.Log.Info("ended jobs trimmed past retention", "jobs", len(trimmed), "retention", n.cfg.Retention)
			}
			if len(trimmed) < 20 {
				return
			}
		}
	}
	trim(ctx) // what ended long ago goes at start, not a period later
	every.Tick(ctx, min(max(n.cfg.Retention/10, time.Second), time.Hour), trim)
}

// stepTimeout is the longest one run of a queued step may take: its budget
// plus the slowest task, and a margin to record what it fetched.
func (n *Node) stepTimeout() time.Duration { return batchBudget + n.cfg.TaskTimeout + 30*time.Second }

// Close stops the agents (they record what they fetched and leave the
// fleet), planning and timeouts, then closes the database.
func (n *Node) Close() error {
	n.stop()
	n.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := n.queue.Stop(ctx)
	if cerr := n.closeDB(); err == nil {
		err = cerr
	}
	return err
}

// Describe names the node's database for logs.
func (n *Node) Describe() string { return n.cfg.Describe() }
