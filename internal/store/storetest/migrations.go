package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"prewarm/internal/store"
	"prewarm/internal/store/migrations"
)

// Engine reaches one fresh, empty database of an engine, for the migration
// tests.
type Engine struct {
	Dialect store.Dialect
	// Driver and DSN reach it through database/sql, under the program's
	// feet, to set up what an older build left.
	Driver, DSN string
	// Migrate opens it as the program does, which migrates it, and closes it.
	Migrate func(ctx context.Context) error
}

// RunMigrations checks how the schema of a database made by the unreleased
// builds, which tracked it in prewarm_migrations, is taken over: at their
// last version (5) it is recorded as the squashed first migration, its rows
// kept; at any other it is refused, the database untouched.
func RunMigrations(t *testing.T, fresh func(t *testing.T) Engine) {
	ctx := context.Background()
	t.Run("CarriesOverTheLastUnreleasedVersion", func(t *testing.T) {
		e := fresh(t)
		db := legacy(t, e, 5)
		for start := range 2 { // carried over, then started again
			if err := e.Migrate(ctx); err != nil {
				t.Fatalf("start %d: %v", start+1, err)
			}
			var capacity string
			var first, applied, latest int
			if err := db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'desired_capacity'`).Scan(&capacity); err != nil || capacity != "7" {
				t.Fatalf("start %d: the row written before is %q (%v)", start+1, capacity, err)
			}
			err := db.QueryRowContext(ctx, `SELECT MIN(version_id), COUNT(*), MAX(version_id) FROM prewarm_schema_migrations
				WHERE version_id > 0`).Scan(&first, &applied, &latest)
			if want, last := MigrationVersions(t); err != nil || first != 1 || applied != want || latest != last {
				t.Fatalf("start %d: %d migrations recorded, versions %d to %d (%v), want the squashed one and every later one (%d, to %d)",
					start+1, applied, first, latest, err, want, last)
			}
			if _, err := db.ExecContext(ctx, `SELECT 1 FROM prewarm_migrations`); err == nil {
				t.Fatalf("start %d: the old version table is still there", start+1)
			}
		}
	})
	t.Run("RefusesAnEarlierVersion", func(t *testing.T) {
		e := fresh(t)
		db := legacy(t, e, 3)
		err := e.Migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), "version 3") || !strings.Contains(err.Error(), "prewarm_migrations") {
			t.Fatalf("err = %v, want a refusal naming version 3 and prewarm_migrations", err)
		}
		var v int
		if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM prewarm_migrations`).Scan(&v); err != nil || v != 3 {
			t.Fatalf("old version table: version %d (%v), want it untouched at 3", v, err)
		}
		if _, err := db.ExecContext(ctx, `SELECT 1 FROM prewarm_schema_migrations`); err == nil {
			t.Fatal("a refused database got the new version table")
		}
	})
}

// legacy makes e's database look as the unreleased builds left it at
// version: their tables (the squashed migration's, which are those of
// their version 5) with a row in them, and their version table instead of
// goose's. It returns the raw handle on it.
func legacy(t *testing.T, e Engine, version int) *sql.DB {
	ctx := context.Background()
	db, err := sql.Open(e.Driver, e.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := store.MigrateTo(ctx, db, e.Dialect, 1); err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		`DROP TABLE prewarm_schema_migrations`,
		`CREATE TABLE prewarm_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`,
		`INSERT INTO settings (key, value) VALUES ('desired_capacity', '7')`,
	}
	for v := 1; v <= version; v++ {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO prewarm_migrations (version, applied_at) VALUES (%d, 1767225600000000)`, v))
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return db
}

// MigrationVersions are how many migrations there are and the highest
// version among them: numbers reserved by work not merged yet leave gaps.
func MigrationVersions(t testing.TB) (count, latest int) {
	fsys, err := migrations.For("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		var v int
		if _, err := fmt.Sscanf(name, "%05d_", &v); err != nil {
			t.Fatalf("migration %s: %v", name, err)
		}
		latest = max(latest, v)
	}
	return len(names), latest
}
