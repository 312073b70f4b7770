// Package postgres opens prewarm's shared database on PostgreSQL, the
// scale-out engine: several serve and agent processes on several machines
// share one database. Schema changes are serialised with an advisory lock,
// so nodes starting at the same moment do not trip over each other.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"prewarm/internal/store"
	"prewarm/internal/warm"
)

// DB is an open PostgreSQL database.
type DB struct {
	Pool *pgxpool.Pool // writes, and the queue
	// reads serves the API's reads from connections of their own, so a
	// progress answer never waits for a connection behind the queue's and
	// the agents' work.
	reads *pgxpool.Pool
}

var _ store.DB = (*DB)(nil)

// Open connects to url. It does not touch the schema: see Migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("--database: %w", err)
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	// Reads open connections as they need them, up to maxReadConns: an
	// agent far from the database has many batches reading at once, each
	// read holding a connection for a round trip.
	rcfg := cfg.Copy()
	rcfg.MaxConns, rcfg.MinConns = maxReadConns, 1
	reads, err := pgxpool.NewWithConfig(ctx, rcfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return &DB{Pool: pool, reads: reads}, nil
}

// maxReadConns bounds the read pool. Agents 100 ms from the database
// re-warmed at 3,580 tasks/s with 8, at 5,730 with 32.
const maxReadConns = 32

// migrationLock is the advisory lock key held while migrating ("prewarm").
const migrationLock = 0x70726577

// Migrate runs fn — the queue's migrations, then the store's — holding an
// advisory lock, so that of several nodes starting at once one migrates and
// the others wait and find nothing left to do.
func (d *DB) Migrate(ctx context.Context, fn func(ctx context.Context) error) error {
	conn, err := d.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock) //nolint:errcheck
	if err := fn(ctx); err != nil {
		return err
	}
	// The store's migrations go through database/sql, over this pool.
	sqlDB := stdlib.OpenDBFromPool(d.Pool)
	defer sqlDB.Close()
	return store.Migrate(ctx, sqlDB, d.Dialect())
}

// Close closes the pools.
func (d *DB) Close() error {
	d.reads.Close()
	d.Pool.Close()
	return nil
}

// Dialect describes PostgreSQL.
func (d *DB) Dialect() store.Dialect { return store.Dialect{Name: "postgres", MaxParams: 65535} }

// Reader is the read pool.
func (d *DB) Reader() store.Querier { return querier{d.reads} }

// Exec runs a statement.
func (d *DB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return querier{d.Pool}.Exec(ctx, q, args...)
}

// Query runs a query.
func (d *DB) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	return querier{d.Pool}.Query(ctx, q, args...)
}

// QueryRow runs a one-row query.
func (d *DB) QueryRow(ctx context.Context, q string, args ...any) store.Row {
	return querier{d.Pool}.QueryRow(ctx, q, args...)
}

// execer is what a pool and a transaction share.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type querier struct{ e execer }

func (q querier) Exec(ctx context.Context, s string, args ...any) (int64, error) {
	tag, err := q.e.Exec(ctx, s, args...)
	if err != nil {
		return 0, translate(err)
	}
	return tag.RowsAffected(), nil
}

func (q querier) Query(ctx context.Context, s string, args ...any) (store.Rows, error) {
	rows, err := q.e.Query(ctx, s, args...)
	if err != nil {
		return nil, translate(err)
	}
	return rows, nil
}

func (q querier) QueryRow(ctx context.Context, s string, args ...any) store.Row {
	return fullRow{store.DriverRow(q.e.QueryRow(ctx, s, args...), pgx.ErrNoRows)}
}

// translate names a full disk (SQLSTATE 53100, disk_full) as
// warm.ErrStorageFull.
func translate(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "53100" {
		return fmt.Errorf("%w (%v)", warm.ErrStorageFull, err)
	}
	return err
}

type fullRow struct{ store.Row }

func (r fullRow) Scan(dest ...any) error { return translate(r.Row.Scan(dest...)) }
