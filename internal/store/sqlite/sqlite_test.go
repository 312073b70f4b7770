package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"prewarm/internal/store"
	"prewarm/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.DB {
		db, err := Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

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
