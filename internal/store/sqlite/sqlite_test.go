package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDataDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Open(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v, want 'in use'", err)
	}
}

func TestPositional(t *testing.T) {
	q, args := positional("INSERT INTO t VALUES ($1,$2),($1,$3) -- $x $", []any{"a", "b", "c"})
	if q != "INSERT INTO t VALUES (?,?),(?,?) -- $x $" || fmt.Sprint(args) != "[a b a c]" {
		t.Fatalf("%q %v", q, args)
	}
	if q, args := positional("SELECT $10, $2", []any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}); q != "SELECT ?, ?" || fmt.Sprint(args) != "[10 2]" {
		t.Fatalf("%q %v", q, args)
	}
}

// A statement first run inside a transaction (the writer's one connection
// busy) is prepared once the transaction ends, and later transactions and
// plain runs use that statement.
func TestStatementsArePreparedOnce(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO kv (k, v) VALUES ($1, $2)`
	before := len(db.wStmts.stmts) // the migrations' own
	cached := func() bool {
		db.wStmts.mu.Lock()
		defer db.wStmts.mu.Unlock()
		key, _ := positional(insert, nil)
		return db.wStmts.stmts[key] != nil
	}
	for i := range 3 {
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, insert, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); !cached(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the statement was never prepared")
			}
		}
	}
	if _, err := db.Exec(ctx, insert, 3, "v3"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM kv WHERE v LIKE $1`, "v%").Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d rows, %v", n, err)
	}
	if w, r := len(db.wStmts.stmts)-before, len(db.rStmts.stmts); w != 1 || r != 1 {
		t.Fatalf("%d writer and %d reader statements prepared, want 1 and 1", w, r)
	}
}

// The database holds secrets: its files are the owner's alone, in a data
// directory that already existed with open permissions, and an existing
// file left readable by others is closed up.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prewarm.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.W.Exec(`CREATE TABLE t (x INTEGER)`); err != nil { // a write, so the -wal file exists
		t.Fatal(err)
	}
	for _, name := range []string{"prewarm.db", "prewarm.db-wal", "prewarm.db-shm"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, st.Mode().Perm())
		}
	}
}
