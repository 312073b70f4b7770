package queue

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"prewarm/internal/store"
	"prewarm/internal/store/postgres"
	"prewarm/internal/store/sqlite"
)

// Queue is a process's handle on the queue and the store it shares a
// database with.
type Queue struct {
	store *store.Store
	impl  interface {
		store.Enqueuer
		startControl(ctx context.Context, ctl Control) error
		newSwitch(ctx context.Context, agentID string, run func(ctx context.Context, jobID string, batch int) error) Switch
		stop(ctx context.Context) error
	}
	close func() error
}

// Switch turns an agent's share of the warm queue on and off.
type Switch interface {
	SetActive(ctx context.Context, active bool) error
}

// RequeueAgent makes the steps a dead agent was running available again at
// once, instead of after River's rescue horizon (which must exceed the
// longest step). A step run twice records nothing twice: results are
// idempotent.
func (q *Queue) RequeueAgent(ctx context.Context, agentID string) error {
	if q.store.DB().Dialect().Name != "postgres" {
		return nil // one process per embedded database: its agents die with it, and start-up requeues their work
	}
	_, err := q.store.DB().Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
		WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $1`, agentID)
	if err != nil {
		return fmt.Errorf("requeue the steps of agent %s: %w", agentID, err)
	}
	return nil
}

// Store is the store on the queue's database.
func (q *Queue) Store() *store.Store { return q.store }

// StartControl starts this process's planning and timeout work.
func (q *Queue) StartControl(ctx context.Context, ctl Control) error {
	return q.impl.startControl(ctx, ctl)
}

// NewSwitch returns the queue switch of an agent; run works one batch.
func (q *Queue) NewSwitch(ctx context.Context, agentID string, run func(ctx context.Context, jobID string, batch int) error) Switch {
	return q.impl.newSwitch(ctx, agentID, run)
}

// Close stops every client, then closes the database.
func (q *Queue) Close(ctx context.Context) error {
	err := q.impl.stop(ctx)
	if cerr := q.close(); err == nil {
		err = cerr
	}
	return err
}

func (n *node[TTx]) newSwitch(ctx context.Context, agentID string, run func(ctx context.Context, jobID string, batch int) error) Switch {
	return &worker[TTx]{n: n, id: agentID, run: run, ctx: ctx, qcfg: river.QueueConfig{MaxWorkers: n.cfg.BatchesPerAgent}}
}

// OpenSQLite opens the embedded database in dir, brings both schemas up to
// date and hands back to the queue whatever a killed process left running
// (the directory lock guarantees that process is gone).
func OpenSQLite(ctx context.Context, dir string, cfg Config) (*Queue, error) {
	cfg = cfg.withDefaults()
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	driver := riversqlite.New(db.W)
	if err := migrateRiver[*sql.Tx](ctx, driver); err != nil {
		db.Close()
		return nil, err
	}
	n, err := newNode(driver, cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	st := store.New(db, n, nil)
	if err := requeueOrphans(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return &Queue{store: st, impl: n, close: db.Close}, nil
}

// OpenPostgres connects to a PostgreSQL database shared with other nodes and
// brings both schemas up to date under an advisory lock.
func OpenPostgres(ctx context.Context, url string, cfg Config) (*Queue, error) {
	cfg = cfg.withDefaults()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	driver := riverpgxv5.New(db.Pool)
	if err := db.Migrate(ctx, func(ctx context.Context) error { return migrateRiver[pgx.Tx](ctx, driver) }); err != nil {
		db.Close()
		return nil, err
	}
	n, err := newNode(driver, cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Queue{store: store.New(db, n, nil), impl: n, close: db.Close}, nil
}

func migrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

// requeueOrphans makes the work of a process that died (kill -9, power
// loss) available again at start-up, instead of waiting for River's rescuer:
// only used where no other process can share the database.
func requeueOrphans(ctx context.Context, db store.DB) error {
	if _, err := db.Exec(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`); err != nil {
		return fmt.Errorf("requeue orphaned steps: %w", err)
	}
	if _, err := db.Exec(ctx, `UPDATE batches SET state = 'pending', claimed = 0, done = 0 WHERE state = 'running'`); err != nil {
		return fmt.Errorf("release orphaned batches: %w", err)
	}
	return nil
}
