package postgres_test

import (
	"context"
	"testing"

	"time"

	"github.com/jackc/pgx/v5"

	"prewarm/internal/store"
	"prewarm/internal/store/pgtest"
	"prewarm/internal/store/postgres"
	"prewarm/internal/warm"
)

// txDB is a database with one table, t (v int), for the transaction tests.
func txDB(t *testing.T) *postgres.DB {
	db := open(t, pgtest.Shared(t).DatabaseT(t))
	if _, err := db.Exec(context.Background(), `CREATE TABLE t (v int)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// begin starts a transaction on db.
func begin(t *testing.T, db *postgres.DB) store.Tx {
	t.Helper()
	tx, err := db.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func insert(v int) store.Stmt {
	return store.Stmt{SQL: `INSERT INTO t (v) VALUES ($1)`, Args: []any{v}}
}

// count is how many rows of t other connections see, and checks that no
// transaction kept its connection.
func count(t *testing.T, db *postgres.DB) int {
	t.Helper()
	if n := db.Pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("%d connections still acquired after the transaction", n)
	}
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The BEGIN goes with the first pipeline and the COMMIT with the last:
// what they wrote is committed, and a Commit after it does nothing.
func TestCommitWith(t *testing.T) {
	ctx := context.Background()
	db := txDB(t)
	tx := begin(t, db)
	if err := tx.Pipeline(ctx, []store.Stmt{insert(1), insert(2)}); err != nil {
		t.Fatal(err)
	}
	var seen int64
	read := store.Stmt{SQL: `SELECT v FROM t`, Rows: func(rows store.Rows) error {
		for rows.Next() {
			seen++
		}
		return nil
	}}
	if err := tx.CommitWith(ctx, []store.Stmt{insert(3), read}); err != nil {
		t.Fatal(err)
	}
	if seen != 3 {
		t.Errorf("the last pipeline read %d rows, want the 3 of its transaction", seen)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Errorf("Commit after CommitWith: %v", err)
	}
	if n := count(t, db); n != 3 {
		t.Errorf("%d rows committed, want 3", n)
	}
}

// A statement that fails in the committing pipeline commits nothing of
// the transaction, even what earlier pipelines wrote, and its connection
// goes back to the pool usable.
func TestCommitWithFailingStatementCommitsNothing(t *testing.T) {
	ctx := context.Background()
	db := txDB(t)
	for _, first := range []bool{true, false} {
		tx := begin(t, db)
		if !first {
			if err := tx.Pipeline(ctx, []store.Stmt{insert(1)}); err != nil {
				t.Fatal(err)
			}
		}
		err := tx.CommitWith(ctx, []store.Stmt{insert(2), {SQL: `SELECT 1/0`, Rows: func(store.Rows) error { return nil }}, insert(3)})
		if err == nil {
			t.Fatal("CommitWith with a failing statement returned nil")
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Errorf("Rollback: %v", err)
		}
	}
	if n := count(t, db); n != 0 {
		t.Errorf("%d rows committed by failed transactions, want 0", n)
	}
}

// A statement before any pipeline, or the queue's through Driver, begins
// the transaction on its own; a rollback undoes all of it.
func TestDriverAndRollback(t *testing.T) {
	ctx := context.Background()
	db := txDB(t)
	tx := begin(t, db)
	d, err := tx.Driver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ptx, ok := d.(pgx.Tx)
	if !ok {
		t.Fatalf("Driver returned %T, want pgx.Tx", d)
	}
	if _, err := ptx.Exec(ctx, `INSERT INTO t (v) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Pipeline(ctx, []store.Stmt{insert(2)}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db); n != 0 {
		t.Errorf("%d rows after a rollback, want 0", n)
	}
	tx = begin(t, db)
	if _, err := tx.Exec(ctx, `INSERT INTO t (v) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db); n != 1 {
		t.Errorf("%d rows after a commit, want 1", n)
	}
}

// A budget round's read of the host limits, and a heartbeat, do not wait
// behind the batches' reads, which fill the read pool of an agent far from
// the database: each is one round trip on the write pool.
func TestHostLimitsAndHeartbeatDoNotWaitForTheReadPool(t *testing.T) {
	ctx := context.Background()
	db := open(t, pgtest.Shared(t).DatabaseT(t))
	if err := db.Migrate(ctx, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	st := store.New(db, nil, nil)
	if err := st.SetHostLimits(ctx, warm.Limit{Concurrency: 64}); err != nil {
		t.Fatal(err)
	}
	for range postgres.MaxReadConns {
		rows, err := db.Reader().Query(ctx, `SELECT 1`) // holds its connection until closed
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hl, err := st.HostLimits(wait)
	if err != nil {
		t.Fatalf("host limits with the read pool full: %v", err)
	}
	if hl.Default.Concurrency != 64 {
		t.Errorf("host concurrency %d, want 64", hl.Default.Concurrency)
	}
	now := time.Now()
	live, desired, err := st.Heartbeat(wait, warm.Agent{ID: "far-1", StartedAt: now, LastHeartbeat: now}, now.Add(-time.Minute))
	if err != nil {
		t.Fatalf("heartbeat with the read pool full: %v", err)
	}
	if len(live) != 1 || live[0].ID != "far-1" || desired != -1 {
		t.Errorf("heartbeat saw %+v live and a desired capacity of %d, want far-1 and -1 (unset)", live, desired)
	}
}
