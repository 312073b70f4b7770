package store

import (
	"context"
	"fmt"
	"strings"
)

// migrations are applied in order, each once, in its own transaction.
// "WITHOUT_ROWID" becomes SQLite's WITHOUT ROWID (tables keyed by their
// primary key alone) and disappears on PostgreSQL. Never edit an applied
// migration: add a new one.
var migrations = []string{`
CREATE TABLE jobs (
	id              TEXT PRIMARY KEY,
	status          TEXT NOT NULL,
	message         TEXT NOT NULL DEFAULT '',
	cf_domain       TEXT NOT NULL,
	target_type     TEXT NOT NULL,
	targets         TEXT NOT NULL,
	headers         TEXT NOT NULL,
	timeout_us      BIGINT NOT NULL,
	need_invalidate BOOLEAN NOT NULL DEFAULT FALSE,
	url_count       INTEGER NOT NULL,
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	timeout_at      BIGINT NOT NULL,
	total_count     BIGINT NOT NULL DEFAULT 0,
	done_count      BIGINT NOT NULL DEFAULT 0,
	ok_count        BIGINT NOT NULL DEFAULT 0,
	failed_count    BIGINT NOT NULL DEFAULT 0,
	download_size   BIGINT NOT NULL DEFAULT 0,
	total_size      BIGINT NOT NULL DEFAULT 0,
	planned_urls    INTEGER NOT NULL DEFAULT 0,
	planned         BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX jobs_created_at ON jobs (created_at);

-- A job's URL list as submitted, newline-separated, apart from the jobs
-- row so that the counters updated with every result stay in a small row.
CREATE TABLE job_lists (
	job_id TEXT PRIMARY KEY,
	urls   TEXT NOT NULL
);

CREATE TABLE job_urls (
	job_id TEXT NOT NULL,
	idx    INTEGER NOT NULL,
	url    TEXT NOT NULL,
	size   BIGINT NOT NULL DEFAULT -1,
	error  TEXT NOT NULL DEFAULT '',
	probed BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (job_id, idx)
) WITHOUT_ROWID;

CREATE TABLE job_pops (
	job_id    TEXT NOT NULL,
	code      TEXT NOT NULL,
	position  INTEGER NOT NULL,
	explicit  BOOLEAN NOT NULL,
	addresses TEXT NOT NULL,
	error     TEXT NOT NULL DEFAULT '',
	skipped   BOOLEAN NOT NULL DEFAULT FALSE,
	done      BIGINT NOT NULL DEFAULT 0,
	ok        BIGINT NOT NULL DEFAULT 0,
	failed    BIGINT NOT NULL DEFAULT 0,
	bytes     BIGINT NOT NULL DEFAULT 0,
	attempted BIGINT NOT NULL DEFAULT 0,
	reached   BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (job_id, code)
) WITHOUT_ROWID;

CREATE TABLE batches (
	job_id     TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	pop        TEXT NOT NULL,
	url_from   INTEGER NOT NULL,
	url_to     INTEGER NOT NULL,
	state      TEXT NOT NULL,
	agent      TEXT NOT NULL DEFAULT '',
	claimed    INTEGER NOT NULL DEFAULT 0,
	done       INTEGER NOT NULL DEFAULT 0,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (job_id, seq)
) WITHOUT_ROWID;
CREATE INDEX batches_state ON batches (job_id, state);

CREATE TABLE results (
	job_id       TEXT NOT NULL,
	pop          TEXT NOT NULL,
	url_idx      INTEGER NOT NULL,
	variant      TEXT NOT NULL DEFAULT '',
	ok           BOOLEAN NOT NULL,
	status_code  INTEGER NOT NULL,
	bytes        BIGINT NOT NULL,
	cache_status TEXT NOT NULL,
	served_by    TEXT NOT NULL,
	edge_ip      TEXT NOT NULL,
	ttfb_us      BIGINT NOT NULL,
	duration_us  BIGINT NOT NULL,
	attempts     INTEGER NOT NULL,
	error        TEXT NOT NULL,
	at           BIGINT NOT NULL,
	PRIMARY KEY (job_id, pop, url_idx, variant)
) WITHOUT_ROWID;
CREATE INDEX results_failed ON results (job_id, url_idx) WHERE NOT ok;

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE agents (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	host           TEXT NOT NULL,
	concurrency    INTEGER NOT NULL,
	busy           INTEGER NOT NULL,
	active         BOOLEAN NOT NULL,
	started_at     BIGINT NOT NULL,
	last_heartbeat BIGINT NOT NULL
);
`, `
ALTER TABLE jobs ADD COLUMN distribution_id TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN invalidated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE job_pops ADD COLUMN purge_method TEXT NOT NULL DEFAULT '';
`, `
ALTER TABLE jobs ADD COLUMN verify BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE jobs ADD COLUMN encodings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN expand TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN variants INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN expanded BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE jobs ADD COLUMN verified_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN not_cached_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_pops ADD COLUMN verified BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_pops ADD COLUMN not_cached BIGINT NOT NULL DEFAULT 0;
ALTER TABLE results ADD COLUMN verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE results ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE results ADD COLUMN warning TEXT NOT NULL DEFAULT '';
`, `
ALTER TABLE job_pops ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
`, `
ALTER TABLE jobs ADD COLUMN probed_urls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN probed BOOLEAN NOT NULL DEFAULT FALSE;
`}

// Migrate brings the schema up to date. Callers that may race (several
// nodes on one PostgreSQL) serialise it themselves.
func Migrate(ctx context.Context, db DB) error {
	if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS prewarm_migrations (
		version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	var current int
	if err := db.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM prewarm_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	suffix := ""
	if db.Dialect().Name == "sqlite" {
		suffix = "WITHOUT ROWID"
	}
	s := New(db, nil, nil)
	for v := current + 1; v <= len(migrations); v++ {
		sql := strings.ReplaceAll(migrations[v-1], "WITHOUT_ROWID", suffix)
		err := s.inTx(ctx, func(tx Tx) error {
			for _, stmt := range strings.Split(sql, ";\n") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", firstLine(stmt), err)
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO prewarm_migrations (version, applied_at) VALUES ($1, $2)`, v, micros(s.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
