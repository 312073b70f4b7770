package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"

	"modernc.org/sqlite"
)

// SQLite parses a statement's text anew each time it runs as text; a
// prepared statement is parsed once. The driver registered here keeps each
// connection's statements by text, so everything that uses the database —
// the store and the queue alike — runs its recurring statements prepared,
// without preparing them itself.
const driverName = "sqlite-prepared"

func init() { sql.Register(driverName, cachingDriver{&sqlite.Driver{}}) }

// maxStmts bounds the statements one connection keeps; past it, statements
// run as text. The store's and the queue's recurring ones (a few dozen, in
// their chunk sizes) fit.
const maxStmts = 256

type cachingDriver struct{ d *sqlite.Driver }

func (d cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.d.Open(name)
	if err != nil {
		return nil, err
	}
	return &cachingConn{conn: c.(sqliteConn), stmts: map[string]*cachedStmt{}}, nil
}

// sqliteConn is what database/sql uses of the driver's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is a connection with its prepared statements. database/sql
// uses a connection from one goroutine at a time, so it needs no lock.
type cachingConn struct {
	conn  sqliteConn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt driver.Stmt
	busy bool // its rows are open: a second use runs as text
}

func (c *cachingConn) Prepare(q string) (driver.Stmt, error) { return c.conn.Prepare(q) }
func (c *cachingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.conn.PrepareContext(ctx, q)
}
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.conn.BeginTx(context.Background(), driver.TxOptions{})
}
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.BeginTx(ctx, opts)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.conn.Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.conn.ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.conn.IsValid() }

func (c *cachingConn) Close() error {
	for _, s := range c.stmts {
		_ = s.stmt.Close()
	}
	c.stmts = nil
	return c.conn.Close()
}

// stmt is the connection's statement for q, prepared on first use; nil to
// run q as text: no arguments (schema scripts, one-off reads), the cache is
// full, q does not prepare (running it says why), or its rows are open.
func (c *cachingConn) stmt(ctx context.Context, q string, args []driver.NamedValue) *cachedStmt {
	if len(args) == 0 {
		return nil
	}
	if s, ok := c.stmts[q]; ok {
		if s.busy {
			return nil
		}
		return s
	}
	if len(c.stmts) >= maxStmts {
		return nil
	}
	st, err := c.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	s := &cachedStmt{stmt: st}
	c.stmts[q] = s
	return s
}

func (c *cachingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if s := c.stmt(ctx, q, args); s != nil {
		return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	}
	return c.conn.ExecContext(ctx, q, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.stmt(ctx, q, args)
	if s == nil {
		return c.conn.QueryContext(ctx, q, args)
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, stmt: s}, nil
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	r.stmt.busy = false
	return r.Rows.Close()
}

var _ io.Closer = (*cachedRows)(nil)
