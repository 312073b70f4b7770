-- Origin safety: a job's own budget, tier-first ordering, the fleet's shares
-- of every budget, hosts that pushed back, and a job's warnings.

-- +goose Up
ALTER TABLE jobs ADD COLUMN max_concurrency INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN max_rps DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN tier_first BOOLEAN NOT NULL DEFAULT TRUE;
-- What an agent last said the job waits for (a budget), and when.
ALTER TABLE jobs ADD COLUMN waiting TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN waiting_at BIGINT NOT NULL DEFAULT 0;

-- The job's POP whose batches come first (tier first); '' for the top tier.
ALTER TABLE job_pops ADD COLUMN after_pop TEXT NOT NULL DEFAULT '';

-- A batch waiting for the batch of the same URLs at after_pop (one tier
-- up) is queued only once that one is done; '' for none.
ALTER TABLE batches ADD COLUMN after_pop TEXT NOT NULL DEFAULT '';
CREATE INDEX batches_after ON batches (job_id, url_from, after_pop);

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
