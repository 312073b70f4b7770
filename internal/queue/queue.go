package queue

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

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
	RescueAfter    time.Duration
	ControlWorkers int
}

func (c Config) withDefaults() Config {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	c.PollInterval = cmp.Or(c.PollInterval, time.Second)
	c.StepTimeout = cmp.Or(c.StepTimeout, 5*time.Minute)
	if c.RescueAfter <= c.StepTimeout {
		c.RescueAfter = c.StepTimeout + 30*time.Second
	}
	c.ControlWorkers = cmp.Or(c.ControlWorkers, 4)
	return c
}

// Queue is a process's handle on the queue: it inserts steps in the
// store's transactions and runs the River clients that work them.
type Queue struct {
	river interface {
		migrate(ctx context.Context) error
		enqueue(ctx context.Context, tx any, params []river.InsertManyParams) error
		startControl(ctx context.Context, ctl Control) error
		consume(ctx context.Context, id string, queues []string, batches int, w river.Worker[WarmArgs]) (func(context.Context) error, error)
		stop(ctx context.Context) error
	}
	// requeue makes running entries available again: those attempted last
	// by the given client, or every one when it is empty.
	requeue func(ctx context.Context, clientID string) error
}

var _ store.Enqueuer = (*Queue)(nil)

// NewSQLite is the queue on the embedded database's writer connection.
func NewSQLite(w *sql.DB, cfg Config) (*Queue, error) {
	c, err := newClients(riversqlite.New(w), cfg)
	if err != nil {
		return nil, err
	}
	requeue := func(ctx context.Context, clientID string) error {
		if clientID != "" {
			// One process per embedded database: its agents die with it,
			// and the next start requeues everything.
			return nil
		}
		_, err := w.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
		return err
	}
	return &Queue{river: c, requeue: requeue}, nil
}

// NewPostgres is the queue on a PostgreSQL database shared with other
// processes.
func NewPostgres(pool *pgxpool.Pool, cfg Config) (*Queue, error) {
	c, err := newClients(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, err
	}
	requeue := func(ctx context.Context, clientID string) error {
		_, err := pool.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
			WHERE state = 'running' AND ($1 = '' OR attempted_by[array_length(attempted_by, 1)] = $1)`, clientID)
		return err
	}
	return &Queue{river: c, requeue: requeue}, nil
}

// Migrate brings River's tables up to date. On a shared database, callers
// serialise it (see postgres.DB.Migrate).
func (q *Queue) Migrate(ctx context.Context) error { return q.river.migrate(ctx) }

// Enqueue inserts steps in the store's transaction.
func (q *Queue) Enqueue(ctx context.Context, tx store.Tx, steps ...warm.Step) error {
	params, err := stepParams(steps)
	if err != nil {
		return err
	}
	driverTx, err := tx.Driver(ctx)
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return q.river.enqueue(ctx, driverTx, params)
}

// StartControl starts this process's planning and timeout work.
func (q *Queue) StartControl(ctx context.Context, ctl Control) error {
	return q.river.startControl(ctx, ctl)
}

// Consume starts working the warm queue as client id (an agent's id, which
// River records on the entries it takes) with w, up to batches entries at
// once, until the returned stop is called; stop waits for the running
// entries. ctx bounds the client's life: when it ends, running entries are
// cancelled.
//
// An agent with a location works its location's queue (WarmQueue) besides
// the shared one: the shared queue's batches reach their POPs at the POPs'
// own addresses, from anywhere, and a fleet of located agents must still
// run them; its location's queue holds what only it may fetch. Each queue
// takes up to batches entries; the agent's fetch slots bound what they
// fetch at once together.
func (q *Queue) Consume(ctx context.Context, id, location string, batches int, w river.Worker[WarmArgs]) (func(context.Context) error, error) {
	queues := []string{QueueWarm}
	if location != "" {
		queues = append(queues, WarmQueue(location))
	}
	return q.river.consume(ctx, id, queues, max(batches, 1), w)
}

// RequeueAgent makes the steps a dead agent was running available again at
// once, instead of after River's rescue horizon (which must exceed the
// longest step). A step run twice records nothing twice: results are
// idempotent.
func (q *Queue) RequeueAgent(ctx context.Context, agentID string) error {
	if err := q.requeue(ctx, agentID); err != nil {
		return fmt.Errorf("requeue the steps of agent %s: %w", agentID, err)
	}
	return nil
}

// RequeueOrphans makes every running step available again: the work of a
// process that died (kill -9, power loss). Only where no other process can
// share the database.
func (q *Queue) RequeueOrphans(ctx context.Context) error {
	if err := q.requeue(ctx, ""); err != nil {
		return fmt.Errorf("requeue orphaned steps: %w", err)
	}
	return nil
}

// Stop stops every client this queue started, letting running steps end
// (they watch their contexts and checkpoint).
func (q *Queue) Stop(ctx context.Context) error { return q.river.stop(ctx) }

// clients are the River clients of a process, over one driver.
type clients[TTx any] struct {
	driver   riverdriver.Driver[TTx]
	cfg      Config
	inserter *river.Client[TTx] // insert-only: never started

	mu      sync.Mutex
	running map[*river.Client[TTx]]bool
}

func newClients[TTx any](driver riverdriver.Driver[TTx], cfg Config) (*clients[TTx], error) {
	c := &clients[TTx]{driver: driver, cfg: cfg.withDefaults(), running: map[*river.Client[TTx]]bool{}}
	var err error
	c.inserter, err = river.NewClient(driver, c.config("", nil, nil))
	if err != nil {
		return nil, fmt.Errorf("river inserter: %w", err)
	}
	return c, nil
}

func (c *clients[TTx]) config(id string, queues map[string]river.QueueConfig, workers *river.Workers) *river.Config {
	return &river.Config{
		ID:                   id,
		Logger:               c.cfg.Logger.With("component", "river"),
		FetchPollInterval:    c.cfg.PollInterval,
		FetchCooldown:        min(100*time.Millisecond, c.cfg.PollInterval/2),
		JobTimeout:           c.cfg.StepTimeout,
		RescueStuckJobsAfter: c.cfg.RescueAfter,
		Queues:               queues,
		Workers:              workers,
		// Finished queue entries are history the store already keeps.
		CompletedJobRetentionPeriod: time.Hour,
	}
}

func (c *clients[TTx]) migrate(ctx context.Context) error {
	m, err := rivermigrate.New(c.driver, nil)
	if err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

func (c *clients[TTx]) enqueue(ctx context.Context, tx any, params []river.InsertManyParams) error {
	driverTx, ok := tx.(TTx)
	if !ok {
		return fmt.Errorf("enqueue: transaction of type %T, want the queue driver's", tx)
	}
	const chunk = 1000
	for from := 0; from < len(params); from += chunk {
		if _, err := c.inserter.InsertManyFastTx(ctx, driverTx, params[from:min(from+chunk, len(params))]); err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
	}
	return nil
}

// start starts a client working queues with its workers.
func (c *clients[TTx]) start(ctx context.Context, id string, queues map[string]river.QueueConfig, workers *river.Workers) (*river.Client[TTx], error) {
	names := make([]string, 0, len(queues))
	for name := range queues {
		names = append(names, name)
	}
	rc, err := river.NewClient(c.driver, c.config(id, queues, workers))
	if err != nil {
		return nil, fmt.Errorf("%v client: %w", names, err)
	}
	if err := rc.Start(ctx); err != nil {
		return nil, fmt.Errorf("start %v client: %w", names, err)
	}
	c.mu.Lock()
	c.running[rc] = true
	c.mu.Unlock()
	return rc, nil
}

func (c *clients[TTx]) startControl(ctx context.Context, ctl Control) error {
	workers := river.NewWorkers()
	river.AddWorker(workers, &planWorker{plan: ctl.Plan, timeout: c.cfg.StepTimeout})
	river.AddWorker(workers, &timeoutWorker{timeout: ctl.Timeout})
	_, err := c.start(ctx, "", map[string]river.QueueConfig{QueueControl: {MaxWorkers: c.cfg.ControlWorkers}}, workers)
	return err
}

func (c *clients[TTx]) consume(ctx context.Context, id string, queues []string, batches int, w river.Worker[WarmArgs]) (func(context.Context) error, error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	qc := make(map[string]river.QueueConfig, len(queues))
	for _, name := range queues {
		qc[name] = river.QueueConfig{MaxWorkers: batches}
	}
	rc, err := c.start(ctx, id, qc, workers)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return c.stopClient(ctx, rc) }, nil
}

func (c *clients[TTx]) stopClient(ctx context.Context, rc *river.Client[TTx]) error {
	c.mu.Lock()
	delete(c.running, rc)
	c.mu.Unlock()
	if err := rc.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (c *clients[TTx]) stop(ctx context.Context) error {
	c.mu.Lock()
	running := make([]*river.Client[TTx], 0, len(c.running))
	for rc := range c.running {
		running = append(running, rc)
	}
	c.mu.Unlock()
	errs := make([]error, len(running))
	var wg sync.WaitGroup
	for i, rc := range running {
		wg.Go(func() { errs[i] = c.stopClient(ctx, rc) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
