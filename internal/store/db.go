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

// collect reads every row of rows with scan, in order, and closes rows.
func collect[T any](rows Rows, scan func(Rows, *T) error) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Row is a single-row result; Scan returns ErrNoRows when there is none.
type Row interface {
	Scan(dest ...any) error
}

// Tx is a transaction. Driver returns the driver's own transaction value
// (*sql.Tx, pgx.Tx), begun if it was not yet, so the queue can insert its
// jobs in the same transaction.
type Tx interface {
	Querier
	// Pipeline runs statements in order, each seeing what the ones before
	// it wrote, but sent together: one round trip to PostgreSQL for all of
	// them (SQLite, in process, runs them one by one). For statements that
	// need no answer from the one before, which is most of a write.
	Pipeline(ctx context.Context, stmts []Stmt) error
	// CommitWith is Pipeline and Commit in one: on PostgreSQL the COMMIT
	// goes with the statements, a round trip saved, and the rows they
	// lock are held for no round trip at all. The transaction is over once
	// it returns nil (Commit after it does nothing); the statements'
	// answers are read, but reading one cannot undo the commit, so they
	// must be answers to use, not checks to pass.
	CommitWith(ctx context.Context, stmts []Stmt) error
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
	Driver(ctx context.Context) (any, error)
}

// Stmt is one statement of a pipeline. Rows, if set, reads its rows;
// otherwise Affected, if set, gets the rows it changed.
type Stmt struct {
	SQL      string
	Args     []any
	Rows     func(Rows) error
	Affected *int64
}

// Answer takes the statement's answer from exec (the rows it changed) or
// query (its rows), whichever it wants: an engine's pipeline reads each
// statement's answer this way.
func (st Stmt) Answer(exec func() (int64, error), query func() (Rows, error)) error {
	if st.Rows == nil {
		n, err := exec()
		if err == nil && st.Affected != nil {
			*st.Affected = n
		}
		return err
	}
	rows, err := query()
	if err != nil {
		return err
	}
	err = st.Rows(rows)
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	return err
}

// RunStmts runs a pipeline's statements one by one on q: the pipeline of
// an engine that gains nothing from sending them together.
func RunStmts(ctx context.Context, q Querier, stmts []Stmt) error {
	for _, st := range stmts {
		err := st.Answer(func() (int64, error) { return q.Exec(ctx, st.SQL, st.Args...) },
			func() (Rows, error) { return q.Query(ctx, st.SQL, st.Args...) })
		if err != nil {
			return err
		}
	}
	return nil
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
