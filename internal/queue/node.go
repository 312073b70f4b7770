package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"prewarm/internal/store"
	"prewarm/internal/warm"
)

// Config tunes the River clients.
type Config struct {
	Logger *slog.Logger
	// PollInterval is how often an idle client looks for work when the
	// database cannot notify it.
	PollInterval time.Duration
	// StepTimeout is the longest one run of a batch or of planning may take
	// (its budget plus the slowest fetch); River cancels it past that.
	StepTimeout time.Duration
	// RescueAfter is when a step whose process died is handed to another;
	// it must exceed StepTimeout.
	RescueAfter time.Duration
	// BatchesPerAgent is how many batches an agent works at once (they share
	// its fetch pool).
	BatchesPerAgent int
	ControlWorkers  int
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.StepTimeout <= 0 {
		c.StepTimeout = 5 * time.Minute
	}
	if c.RescueAfter <= c.StepTimeout {
		c.RescueAfter = c.StepTimeout + 30*time.Second
	}
	if c.BatchesPerAgent <= 0 {
		c.BatchesPerAgent = 4
	}
	if c.ControlWorkers <= 0 {
		c.ControlWorkers = 4
	}
	return c
}

// node is the River side of a process, over one driver.
type node[TTx any] struct {
	driver   riverdriver.Driver[TTx]
	cfg      Config
	inserter *river.Client[TTx] // insert-only: never started

	mu      sync.Mutex
	clients []*river.Client[TTx]
}

func newNode[TTx any](driver riverdriver.Driver[TTx], cfg Config) (*node[TTx], error) {
	n := &node[TTx]{driver: driver, cfg: cfg}
	var err error
	n.inserter, err = river.NewClient(driver, n.config("", nil, nil))
	if err != nil {
		return nil, fmt.Errorf("river inserter: %w", err)
	}
	return n, nil
}

func (n *node[TTx]) config(id string, queues map[string]river.QueueConfig, workers *river.Workers) *river.Config {
	return &river.Config{
		ID:                   id,
		Logger:               n.cfg.Logger.With("component", "river"),
		FetchPollInterval:    n.cfg.PollInterval,
		FetchCooldown:        min(100*time.Millisecond, n.cfg.PollInterval),
		JobTimeout:           n.cfg.StepTimeout,
		RescueStuckJobsAfter: n.cfg.RescueAfter,
		Queues:               queues,
		Workers:              workers,
		// Finished queue entries are history the store already keeps.
		CompletedJobRetentionPeriod: time.Hour,
	}
}

// Enqueue inserts steps in the store's transaction.
func (n *node[TTx]) Enqueue(ctx context.Context, tx store.Tx, steps ...warm.Step) error {
	driverTx, ok := tx.Driver().(TTx)
	if !ok {
		return fmt.Errorf("enqueue: transaction of type %T, want the queue driver's", tx.Driver())
	}
	params, err := stepParams(steps)
	if err != nil {
		return err
	}
	const chunk = 1000
	for from := 0; from < len(params); from += chunk {
		if _, err := n.inserter.InsertManyFastTx(ctx, driverTx, params[from:min(from+chunk, len(params))]); err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
	}
	return nil
}

func (n *node[TTx]) start(ctx context.Context, c *river.Client[TTx]) error {
	if err := c.Start(ctx); err != nil {
		return err
	}
	n.mu.Lock()
	n.clients = append(n.clients, c)
	n.mu.Unlock()
	return nil
}

func (n *node[TTx]) startControl(ctx context.Context, ctl Control) error {
	workers := river.NewWorkers()
	river.AddWorker(workers, &planWorker{plan: ctl.Plan, timeout: n.cfg.StepTimeout})
	river.AddWorker(workers, &timeoutWorker{timeout: ctl.Timeout})
	c, err := river.NewClient(n.driver, n.config("", map[string]river.QueueConfig{
		QueueControl: {MaxWorkers: n.cfg.ControlWorkers},
	}, workers))
	if err != nil {
		return fmt.Errorf("control client: %w", err)
	}
	return n.start(ctx, c)
}

// stop stops every client this node started, letting running steps end
// (they watch their contexts and checkpoint).
func (n *node[TTx]) stop(ctx context.Context) error {
	n.mu.Lock()
	clients := n.clients
	n.clients = nil
	n.mu.Unlock()
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			if err := c.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// worker is an agent's River client: it works the warm queue only while the
// agent is active. The client starts on the first activation and leaves or
// rejoins the queue as the agent's state changes.
type worker[TTx any] struct {
	n    *node[TTx]
	id   string
	run  func(ctx context.Context, jobID string, batch int) error
	mu   sync.Mutex
	c    *river.Client[TTx]
	on   bool
	ctx  context.Context
	qcfg river.QueueConfig
}

func (w *worker[TTx]) SetActive(ctx context.Context, active bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if active == w.on {
		return nil
	}
	switch {
	case active && w.c == nil:
		workers := river.NewWorkers()
		river.AddWorker(workers, &warmWorker{run: w.run, timeout: w.n.cfg.StepTimeout})
		c, err := river.NewClient(w.n.driver, w.n.config(w.id, map[string]river.QueueConfig{QueueWarm: w.qcfg}, workers))
		if err != nil {
			return fmt.Errorf("agent client: %w", err)
		}
		if err := w.n.start(w.ctx, c); err != nil {
			return fmt.Errorf("start agent client: %w", err)
		}
		w.c = c
	case active:
		if err := w.c.Queues().Add(QueueWarm, w.qcfg); err != nil {
			return fmt.Errorf("join warm queue: %w", err)
		}
	default:
		if err := w.c.Queues().Remove(ctx, QueueWarm); err != nil {
			return fmt.Errorf("leave warm queue: %w", err)
		}
	}
	w.on = active
	return nil
}
