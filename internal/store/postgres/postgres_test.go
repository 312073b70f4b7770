package postgres_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"prewarm/internal/store"
	"prewarm/internal/store/pgtest"
	"prewarm/internal/store/postgres"
	"prewarm/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

func open(t *testing.T) *postgres.DB {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Shared(t).DatabaseT(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.DB {
		db := open(t)
		if err := db.Migrate(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// Nodes starting at the same moment all succeed; the schema is applied once.
func TestConcurrentMigrations(t *testing.T) {
	url := pgtest.Shared(t).DatabaseT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			db, err := postgres.Open(context.Background(), url)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- db.Migrate(context.Background(), func(context.Context) error { return nil })
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db := open2(t, url)
	var n, latest int
	if err := db.QueryRow(context.Background(), "SELECT COUNT(*), MAX(version) FROM prewarm_migrations").Scan(&n, &latest); err != nil || n != latest || n < 2 {
		t.Fatalf("%d migrations recorded up to version %d: %v", n, latest, err)
	}
}

func open2(t *testing.T, url string) *postgres.DB {
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
