-- The schema as first released. A text/template: {{.WithoutRowID}} keys a
-- table by its primary key alone on SQLite (WITHOUT ROWID) and is empty on
-- PostgreSQL, whose tables have no rowid.

-- +goose Up
CREATE TABLE jobs (
	id               TEXT PRIMARY KEY,
	status           TEXT NOT NULL,
	message          TEXT NOT NULL DEFAULT '',
	cf_domain        TEXT NOT NULL,
	distribution_id  TEXT NOT NULL DEFAULT '',
	target_type      TEXT NOT NULL,
	targets          TEXT NOT NULL,
	headers          TEXT NOT NULL,
	timeout_us       BIGINT NOT NULL,
	need_invalidate  BOOLEAN NOT NULL DEFAULT FALSE,
	invalidated      BOOLEAN NOT NULL DEFAULT FALSE,
	verify           BOOLEAN NOT NULL DEFAULT TRUE,
	encodings        TEXT NOT NULL DEFAULT '[]',
	expand           TEXT NOT NULL DEFAULT '[]',
	variants         INTEGER NOT NULL DEFAULT 1,
	url_count        INTEGER NOT NULL,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	timeout_at       BIGINT NOT NULL,
	total_count      BIGINT NOT NULL DEFAULT 0,
	done_count       BIGINT NOT NULL DEFAULT 0,
	ok_count         BIGINT NOT NULL DEFAULT 0,
	failed_count     BIGINT NOT NULL DEFAULT 0,
	verified_count   BIGINT NOT NULL DEFAULT 0,
	not_cached_count BIGINT NOT NULL DEFAULT 0,
	download_size    BIGINT NOT NULL DEFAULT 0,
	total_size       BIGINT NOT NULL DEFAULT 0,
	expanded         BOOLEAN NOT NULL DEFAULT FALSE,
	probed_urls      INTEGER NOT NULL DEFAULT 0,
	probed           BOOLEAN NOT NULL DEFAULT FALSE,
	planned_urls     INTEGER NOT NULL DEFAULT 0,
	planned          BOOLEAN NOT NULL DEFAULT FALSE
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
) {{.WithoutRowID}};

CREATE TABLE job_pops (
	job_id       TEXT NOT NULL,
	code         TEXT NOT NULL,
	position     INTEGER NOT NULL,
	explicit     BOOLEAN NOT NULL,
	addresses    TEXT NOT NULL,
	purge_method TEXT NOT NULL DEFAULT '',
	error        TEXT NOT NULL DEFAULT '',
	last_error   TEXT NOT NULL DEFAULT '',
	skipped      BOOLEAN NOT NULL DEFAULT FALSE,
	done         BIGINT NOT NULL DEFAULT 0,
	ok           BIGINT NOT NULL DEFAULT 0,
	failed       BIGINT NOT NULL DEFAULT 0,
	verified     BIGINT NOT NULL DEFAULT 0,
	not_cached   BIGINT NOT NULL DEFAULT 0,
	bytes        BIGINT NOT NULL DEFAULT 0,
	attempted    BIGINT NOT NULL DEFAULT 0,
	reached      BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (job_id, code)
) {{.WithoutRowID}};

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
) {{.WithoutRowID}};
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
	verified     BOOLEAN NOT NULL DEFAULT FALSE,
	reason       TEXT NOT NULL DEFAULT '',
	warning      TEXT NOT NULL DEFAULT '',
	at           BIGINT NOT NULL,
	PRIMARY KEY (job_id, pop, url_idx, variant)
) {{.WithoutRowID}};
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
