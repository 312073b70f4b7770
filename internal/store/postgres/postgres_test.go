package postgres_test

import (
	"context"
	"os"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql's "pgx" driver
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

// open opens the database at url, closed when the test ends.
func open(t *testing.T, url string) *postgres.DB {
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.DB {
		db := open(t, pgtest.Shared(t).DatabaseT(t))
		if err := db.Migrate(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestMigrations(t *testing.T) {
	storetest.RunMigrations(t, func(t *testing.T) storetest.Engine {
		url := pgtest.Shared(t).DatabaseT(t)
		return storetest.Engine{
			Dialect: (*postgres.DB)(nil).Dialect(),
			Driver:  "pgx",
			DSN:     url,
			Migrate: func(ctx context.Context) error {
				db, err := postgres.Open(ctx, url)
				if err != nil {
					return err
				}
				defer db.Close()
				return db.Migrate(ctx, func(context.Context) error { return nil })
			},
		}
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
	db := open(t, url)
	var n, latest int
	err := db.QueryRow(context.Background(), "SELECT COUNT(*), MAX(version_id) FROM prewarm_schema_migrations WHERE version_id > 0").Scan(&n, &latest)
	if want, last := storetest.MigrationVersions(t); err != nil || n != want || latest != last {
		t.Fatalf("%d migrations recorded up to version %d (%v), want %d up to %d", n, latest, err, want, last)
	}
}
