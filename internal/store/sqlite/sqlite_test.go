package sqlite_test

import (
	"context"
	"strings"
	"testing"

	"prewarm/internal/store"
	"prewarm/internal/store/sqlite"
	"prewarm/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.DB {
		db, err := sqlite.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestDataDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := sqlite.Open(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v, want 'in use'", err)
	}
}
