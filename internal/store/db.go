package store

import (
	"context"
	"errors"
)

// Querier runs SQL. Both a database and a transaction are Queriers.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) Row
}

// Rows is a result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result; Scan returns ErrNoRows when there is none.
type Row interface {
	Scan(dest ...any) error
}

// Tx is a transaction. Driver returns the driver's own transaction value
// (*sql.Tx, pgx.Tx), so the queue can insert its jobs in the same
// transaction.
type Tx interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
	Driver() any
}

// DB is a database as the store uses it. Reads may go to a separate pool
// (SQLite serves reads from other connections while the one writer writes).
type DB interface {
	Querier
	Begin(ctx context.Context) (Tx, error)
	Reader() Querier
	// Dialect tells the few places where the engines' SQL differs.
	Dialect() Dialect
}

// Dialect is what differs between the engines.
type Dialect struct {
	Name string
	// MaxParams is the most bind parameters one statement may carry.
	MaxParams int
}

// ErrNoRows is what adapters return from Row.Scan when there was no row.
var ErrNoRows = errors.New("no rows")

// DriverRow adapts a driver's one-row result: its Scan returns ErrNoRows
// where the driver's returns noRows, the driver's own error for it.
func DriverRow(r Row, noRows error) Row { return driverRow{r, noRows} }

type driverRow struct {
	Row
	noRows error
}

func (r driverRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, r.noRows) {
		return ErrNoRows
	}
	return err
}
