package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"prewarm/internal/store"
	"prewarm/internal/store/sqlite"
	"prewarm/internal/store/sqlite/sqlitetest"
	"prewarm/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.DB { return sqlitetest.Open(t) })
}

func TestMigrations(t *testing.T) {
	storetest.RunMigrations(t, func(t *testing.T) storetest.Engine {
		dir := t.TempDir()
		return storetest.Engine{
			Dialect: (*sqlite.DB)(nil).Dialect(),
			Driver:  "sqlite",
			DSN:     filepath.Join(dir, "prewarm.db"),
			Migrate: func(ctx context.Context) error {
				db, err := sqlite.Open(ctx, dir)
				if err != nil {
					return err
				}
				return db.Close()
			},
		}
	})
}
