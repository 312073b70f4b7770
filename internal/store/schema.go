package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"prewarm/internal/store/migrations"
)

// versionTable is where goose records the migrations applied.
const versionTable = "prewarm_schema_migrations"

// gooseDialects names the engines as goose does.
var gooseDialects = map[string]goose.Dialect{"sqlite": goose.DialectSQLite3, "postgres": goose.DialectPostgres}

// Migrate brings the schema up to date on db, the database/sql handle of
// the engine d describes: the files of package migrations, applied by goose,
// each once and in its own transaction. A database of the unreleased builds
// is carried over first (see carryOver). Callers that may race (several
// nodes on one PostgreSQL) serialise it themselves.
func Migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	return MigrateTo(ctx, db, d, math.MaxInt64)
}

// MigrateTo is Migrate up to version and no further: the tests of
// carrying a database over build it as an older build left it.
func MigrateTo(ctx context.Context, db *sql.DB, d Dialect, version int64) error {
	dialect, ok := gooseDialects[d.Name]
	if !ok {
		return fmt.Errorf("migrate: unknown engine %q", d.Name)
	}
	fsys, err := migrations.For(d.Name)
	if err != nil {
		return err
	}
	versions, err := database.NewStore(dialect, versionTable)
	if err != nil {
		return err
	}
	if err := carryOver(ctx, db, d, versions); err != nil {
		return err
	}
	p, err := goose.NewProvider(database.DialectCustom, db, fsys,
		goose.WithStore(versions), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate the schema: %w", err)
	}
	return nil
}

// The unreleased builds tracked their schema in legacyTable, by five
// migrations; the last one's schema is the first migration's now,
// squashedVersion.
const (
	legacyTable     = "prewarm_migrations"
	legacyVersion   = 5
	squashedVersion = 1
)

// carryOver records a database of the unreleased builds at legacyVersion as
// at squashedVersion, and drops legacyTable, in one transaction. One at
// another version is refused: its schema is not the first migration's.
func carryOver(ctx context.Context, db *sql.DB, d Dialect, versions database.Store) error {
	exists := `SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '` + legacyTable + `'`
	if d.Name == "postgres" {
		exists = `SELECT to_regclass('` + legacyTable + `') IS NOT NULL`
	}
	var found bool
	if err := db.QueryRowContext(ctx, exists).Scan(&found); err != nil || !found {
		return err
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+legacyTable).Scan(&v); err != nil {
		return fmt.Errorf("schema version of the unreleased builds: %w", err)
	}
	if v != legacyVersion {
		return fmt.Errorf("the database was made by an unreleased build of prewarm and its schema is at that build's version %d "+
			"(table %s); only version %d can be carried over: open it once with a build from before the migrations "+
			"were squashed to finish them, or start from an empty database", v, legacyTable, legacyVersion)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	// The table as goose makes it, with its zero row, then the squashed
	// migration's row.
	err = versions.CreateVersionTable(ctx, tx)
	for _, version := range []int64{0, squashedVersion} {
		if err == nil {
			err = versions.Insert(ctx, tx, database.InsertRequest{Version: version})
		}
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, `DROP TABLE `+legacyTable)
	}
	if err != nil {
		return fmt.Errorf("carry the schema over from %s: %w", legacyTable, err)
	}
	return tx.Commit()
}
