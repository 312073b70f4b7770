package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// A connection keeps the statements it runs with arguments, in and out of
// transactions, whoever runs them (the store or the queue); a statement
// whose rows are still open when it is run again runs as text, and both
// results are right.
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
	kept := func(db *sql.DB) (n int) {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.Raw(func(dc any) error { n = len(dc.(*cachingConn).stmts); return nil })
		return n
	}
	before := kept(db.W) // the migrations' own
	const insert = `INSERT INTO kv (k, v) VALUES ($1, $2)`
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
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, 3, "v3"); err != nil { // the same, as the queue would run it
		t.Fatal(err)
	}
	if n := kept(db.W) - before; n != 1 {
		t.Fatalf("the writer keeps %d more statements, want 1", n)
	}
	// Two reads of one statement at once, on one connection.
	conn, err := db.R.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const read = `SELECT v FROM kv WHERE k >= ? ORDER BY k`
	outer, err := conn.QueryContext(ctx, read, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var v string
		if err := outer.Scan(&v); err != nil {
			t.Fatal(err)
		}
		var inner string
		if err := conn.QueryRowContext(ctx, read, 3).Scan(&inner); err != nil || inner != "v3" {
			t.Fatalf("the statement again while its rows are open: %q %v", inner, err)
		}
		got = append(got, v)
	}
	if err := outer.Close(); err != nil || strings.Join(got, ",") != "v0,v1,v2,v3" {
		t.Fatalf("rows %v, %v", got, err)
	}
	var n int
	_ = conn.Raw(func(dc any) error { n = len(dc.(*cachingConn).stmts); return nil })
	if n != 1 {
		t.Fatalf("the reader keeps %d statements, want 1", n)
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
