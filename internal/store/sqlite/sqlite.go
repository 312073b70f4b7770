// Package sqlite opens prewarm's embedded database: a SQLite file in the data
// directory, in WAL mode, with one writer connection (shared with the queue,
// which needs that) and a small pool of readers, so progress reads never wait
// behind a write.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"modernc.org/sqlite" // the pure-Go SQLite driver
	sqlite3 "modernc.org/sqlite/lib"

	"prewarm/internal/store"
	"prewarm/internal/warm"
)

// DB is an open embedded database.
type DB struct {
	W    *sql.DB // the one writer connection; the queue uses it too
	R    *sql.DB // readers
	lock *os.File
	dir  string
}

var _ store.DB = (*DB)(nil)

// Open opens (creating if needed) the database in dir and applies the
// schema. It locks the directory: two processes on one SQLite file would
// each believe the other's running work was orphaned.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "prewarm.lock"), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("data directory %s is in use by another prewarm process (use PostgreSQL to run several): %w", dir, err)
	}
	path := filepath.Join(dir, "prewarm.db")
	if err := private(path); err != nil {
		lock.Close()
		return nil, err
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	w, err := sql.Open(driverName, dsn)
	if err != nil {
		lock.Close()
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open(driverName, "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		lock.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	db := &DB{W: w, R: r, lock: lock, dir: dir}
	if err := w.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := store.Migrate(ctx, w, db.Dialect()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// private makes the database file readable by its owner only, creating it
// so: it holds the report links' secret and jobs' headers (Authorization,
// cookies). SQLite gives its -wal and -shm files the database's mode.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return f.Chmod(0o600)
	}
	return nil
}

// Close closes the pools and releases the directory.
func (d *DB) Close() error {
	err := errors.Join(d.R.Close(), d.W.Close())
	if d.lock != nil {
		d.lock.Close()
	}
	return err
}

// Dialect describes SQLite.
func (d *DB) Dialect() store.Dialect { return store.Dialect{Name: "sqlite", MaxParams: 32766} }

// Reader is the read pool.
func (d *DB) Reader() store.Querier { return querier{d.R} }

// Exec runs a statement on the writer.
func (d *DB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return d.writer().Exec(ctx, q, args...)
}

// Query runs a query on the writer.
func (d *DB) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	return d.writer().Query(ctx, q, args...)
}

// QueryRow runs a one-row query on the writer.
func (d *DB) QueryRow(ctx context.Context, q string, args ...any) store.Row {
	return d.writer().QueryRow(ctx, q, args...)
}

func (d *DB) writer() querier { return querier{d.W} }

// Begin starts a write transaction.
func (d *DB) Begin(ctx context.Context) (store.Tx, error) {
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	return &sqlTx{querier: querier{tx}, tx: tx}, nil
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// querier runs the store's SQL on a pool or in a transaction; the
// connections keep the statements prepared (see cachingConn).
type querier struct {
	e execer
}

// on is what runs s with args, its placeholders rewritten (see
// positional).
func (q querier) on(_ context.Context, s string, args []any) (execer, string, []any) {
	s, args = positional(s, args)
	return q.e, s, args
}

// positional rewrites the store's $N placeholders as plain ?s, repeating
// arguments as the query repeats them. The driver asks SQLite for every
// parameter's name, and SQLite finds a name ($N, ?N) by walking a list, so a
// bulk insert with thousands of named or numbered parameters is quadratic;
// anonymous ones have no name to look up.
func positional(q string, args []any) (string, []any) {
	if !strings.Contains(q, "$") {
		return q, args
	}
	b := make([]byte, 0, len(q))
	out := make([]any, 0, len(args))
	for i := 0; i < len(q); i++ {
		if q[i] != '$' || i+1 == len(q) || q[i+1] < '0' || q[i+1] > '9' {
			b = append(b, q[i])
			continue
		}
		n := 0
		for i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
			i++
			n = n*10 + int(q[i]-'0')
		}
		b = append(b, '?')
		if n >= 1 && n <= len(args) {
			out = append(out, args[n-1])
		}
	}
	return string(b), out
}

func (q querier) Exec(ctx context.Context, s string, args ...any) (int64, error) {
	e, s, args := q.on(ctx, s, args)
	res, err := e.ExecContext(ctx, s, args...)
	if err != nil {
		return 0, translate(err)
	}
	return res.RowsAffected()
}

func (q querier) Query(ctx context.Context, s string, args ...any) (store.Rows, error) {
	e, s, args := q.on(ctx, s, args)
	rows, err := e.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, translate(err)
	}
	return sqlRows{rows}, nil
}

func (q querier) QueryRow(ctx context.Context, s string, args ...any) store.Row {
	e, s, args := q.on(ctx, s, args)
	return fullRow{store.DriverRow(e.QueryRowContext(ctx, s, args...), sql.ErrNoRows)}
}

// translate names a full disk (SQLite's "database or disk is full") as
// warm.ErrStorageFull.
func translate(err error) error {
	if IsFull(err) {
		return fmt.Errorf("%w (%v)", warm.ErrStorageFull, err)
	}
	return err
}

// IsFull reports whether err is SQLite's "database or disk is full", from
// the store or from anything else that used the database (the queue).
func IsFull(err error) bool {
	var se *sqlite.Error
	return errors.Is(err, warm.ErrStorageFull) || errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}

type fullRow struct{ store.Row }

func (r fullRow) Scan(dest ...any) error { return translate(r.Row.Scan(dest...)) }

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type sqlTx struct {
	querier
	tx        *sql.Tx
	committed bool // by CommitWith
}

func (t *sqlTx) Pipeline(ctx context.Context, stmts []store.Stmt) error {
	return store.RunStmts(ctx, t, stmts)
}

// CommitWith runs the statements and commits: in process, nothing to
// save by sending them together.
func (t *sqlTx) CommitWith(ctx context.Context, stmts []store.Stmt) error {
	if err := t.Pipeline(ctx, stmts); err != nil {
		return err
	}
	if err := t.Commit(ctx); err != nil {
		return err
	}
	t.committed = true
	return nil
}

func (t *sqlTx) Commit(context.Context) error {
	if t.committed {
		return nil
	}
	return translate(t.tx.Commit())
}

func (t *sqlTx) Rollback(context.Context) error      { return t.tx.Rollback() }
func (t *sqlTx) Driver(context.Context) (any, error) { return t.tx, nil }
