package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"prewarm/internal/store"
)

// Begin starts a transaction on a connection of the pool. Its BEGIN is not
// sent yet: it goes with the first pipeline (pgx's Batch.BeginTx), and its
// COMMIT may go with the last (CommitWith). For an agent 100 ms from the
// database, a write of four round trips becomes one of two, and the rows
// its last statements lock are held for no round trip at all.
func (d *DB) Begin(ctx context.Context) (store.Tx, error) {
	conn, err := d.Pool.Acquire(ctx)
	if err != nil {
		return nil, translate(err)
	}
	return &tx{conn: conn}, nil
}

// tx is a transaction on one pool connection.
type tx struct {
	conn  *pgxpool.Conn
	ptx   pgx.Tx // once begun
	ended bool   // committed or rolled back; the connection is back in the pool
}

// errTxEnded answers a statement sent after the end.
var errTxEnded = errors.New("postgres: transaction already ended")

// begun returns the transaction, sending BEGIN on its own if no pipeline
// has yet: for a statement that is not a pipeline's.
func (t *tx) begun(ctx context.Context) (pgx.Tx, error) {
	switch {
	case t.ended:
		return nil, errTxEnded
	case t.ptx != nil:
		return t.ptx, nil
	}
	ptx, err := t.conn.Begin(ctx)
	if err != nil {
		return nil, translate(err)
	}
	t.ptx = ptx
	return ptx, nil
}

func (t *tx) Exec(ctx context.Context, s string, args ...any) (int64, error) {
	ptx, err := t.begun(ctx)
	if err != nil {
		return 0, err
	}
	return querier{ptx}.Exec(ctx, s, args...)
}

func (t *tx) Query(ctx context.Context, s string, args ...any) (store.Rows, error) {
	ptx, err := t.begun(ctx)
	if err != nil {
		return nil, err
	}
	return querier{ptx}.Query(ctx, s, args...)
}

func (t *tx) QueryRow(ctx context.Context, s string, args ...any) store.Row {
	ptx, err := t.begun(ctx)
	if err != nil {
		return errRow{err}
	}
	return querier{ptx}.QueryRow(ctx, s, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Driver returns pgx's transaction, for the queue to insert its jobs in.
func (t *tx) Driver(ctx context.Context) (any, error) { return t.begun(ctx) }

// Pipeline sends the statements as one batch: a single round trip, or two
// the first time a connection meets a statement (pgx prepares it). The
// transaction's first batch carries its BEGIN.
func (t *tx) Pipeline(ctx context.Context, stmts []store.Stmt) error {
	if len(stmts) == 0 {
		return nil
	}
	return t.send(ctx, stmts, false)
}

// CommitWith sends the statements and COMMIT as one batch.
func (t *tx) CommitWith(ctx context.Context, stmts []store.Stmt) error {
	return t.send(ctx, stmts, true)
}

func (t *tx) send(ctx context.Context, stmts []store.Stmt, commit bool) error {
	if t.ended {
		return errTxEnded
	}
	b := &pgx.Batch{}
	lead := t.ptx == nil
	if lead {
		b.BeginTx(pgx.TxOptions{})
	}
	for _, st := range stmts {
		b.Queue(st.SQL, st.Args...)
	}
	if commit {
		b.Queue("COMMIT")
	}
	var br pgx.BatchResults
	if lead {
		br = t.conn.SendBatch(ctx, b)
		t.ptx = br.Tx()
	} else {
		br = t.ptx.SendBatch(ctx, b)
	}
	err := readBatch(br, stmts, lead, commit)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && commit {
		// pgx's transaction still counts itself open: its COMMIT went in
		// the batch. The connection is out of it, and goes back to the pool.
		t.end()
	}
	return translate(err)
}

// readBatch reads the statements' answers, after the BEGIN's and before
// the COMMIT's if the batch has them. PostgreSQL skips what follows a
// failed statement, COMMIT included: a batch that fails has committed
// nothing, and its transaction waits for the ROLLBACK.
func readBatch(br pgx.BatchResults, stmts []store.Stmt, begin, commit bool) error {
	if begin {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	exec := func() (int64, error) {
		tag, err := br.Exec()
		return tag.RowsAffected(), err
	}
	query := func() (store.Rows, error) {
		rows, err := br.Query()
		if err != nil {
			return nil, err
		}
		return rows, nil
	}
	for _, st := range stmts {
		if err := st.Answer(exec, query); err != nil {
			return err
		}
	}
	if !commit {
		return nil
	}
	tag, err := br.Exec()
	if err == nil && tag.String() != "COMMIT" {
		err = pgx.ErrTxCommitRollback // the transaction had failed
	}
	return err
}

func (t *tx) Commit(ctx context.Context) error {
	if t.ended {
		return nil // CommitWith did
	}
	if t.ptx != nil {
		if err := t.ptx.Commit(ctx); err != nil {
			t.end()
			return translate(err)
		}
	}
	t.end()
	return nil
}

// Rollback ends the transaction if it is still open. A connection left in
// a transaction (its ROLLBACK could not be sent) is closed by the pool.
func (t *tx) Rollback(ctx context.Context) error {
	if t.ended {
		return nil
	}
	defer t.end()
	if t.ptx == nil || t.conn.Conn().PgConn().TxStatus() == 'I' {
		return nil
	}
	return t.ptx.Rollback(ctx)
}

func (t *tx) end() {
	t.ended = true
	t.conn.Release()
}
