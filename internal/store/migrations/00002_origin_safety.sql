-- Origin safety and many jobs at once: a job's own budget, priority and
-- name, tier-first ordering, a job's batches queued a window at a time, the
-- fleet's shares of every budget, hosts that pushed back, and a job's
-- warnings.

-- +goose Up
ALTER TABLE jobs ADD COLUMN max_concurrency INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN max_rps DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN tier_first BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE jobs ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE jobs ADD COLUMN name TEXT NOT NULL DEFAULT '';
-- The running jobs, counted on every progress read of one of them.
CREATE INDEX jobs_status ON jobs (status);
-- What an agent last said the job waits for (a budget), and when.
ALTER TABLE jobs ADD COLUMN waiting TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN waiting_at BIGINT NOT NULL DEFAULT 0;

-- The job's POP whose batches come first (tier first); '' for the top tier.
ALTER TABLE job_pops ADD COLUMN after_pop TEXT NOT NULL DEFAULT '';

-- A batch waiting for the batch of the same URLs at after_pop (one tier
-- up) is queued only once that one is done; '' for none.
ALTER TABLE batches ADD COLUMN after_pop TEXT NOT NULL DEFAULT '';
CREATE INDEX batches_after ON batches (job_id, url_from, after_pop);
-- A job keeps only a window of its batches in the queue; the rest wait
-- here, unqueued, and are queued as the queued ones are done, so jobs
-- share the agents instead of the first one holding them.
ALTER TABLE batches ADD COLUMN queued BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX batches_unqueued ON batches (job_id, queued, after_pop, seq);

-- Each agent's share of a budget ("job:<id>", "host:<name>"): fetches in
-- flight (slots) and fetches started per second (rate), what it asked for,
-- and until when the share holds unless renewed.
CREATE TABLE budget_shares (
	key        TEXT NOT NULL,
	agent      TEXT NOT NULL,
	slots      INTEGER NOT NULL,
	rate       DOUBLE PRECISION NOT NULL,
	demand     INTEGER NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (key, agent)
) {{.WithoutRowID}};

-- A URL host that pushed back (429, 503) or mostly failed: paused until
-- paused_until, then allowed a window of fetches in flight that starts at
-- resume_window and grows back gradually.
CREATE TABLE host_states (
	host          TEXT PRIMARY KEY,
	paused_until  BIGINT NOT NULL,
	resume_window INTEGER NOT NULL,
	strikes      INTEGER NOT NULL,
	reason       TEXT NOT NULL,
	updated_at   BIGINT NOT NULL
);

CREATE TABLE job_warnings (
	job_id  TEXT NOT NULL,
	warning TEXT NOT NULL,
	at      BIGINT NOT NULL,
	PRIMARY KEY (job_id, warning)
) {{.WithoutRowID}};
