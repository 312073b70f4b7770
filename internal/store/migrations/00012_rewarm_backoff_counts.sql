-- A failed re-warm is tried again after a wait that doubles with each
-- failure in a row (5 s, 10 s, … up to 5 minutes), not every 5 s for as
-- long as the job keeps warm: failing counts them. A re-warm put off by
-- its host's pause (429, 503, the circuit breaker) is not a failure and
-- leaves it as it was.

-- +goose Up
ALTER TABLE rewarms ADD COLUMN failing INTEGER NOT NULL DEFAULT 0;

-- A keep-warm job's progress counts are kept as they change, one row per
-- job, instead of summed over its rewarms rows on every read (28 ms at
-- 100,000 URL × POP on SQLite; GET /prewarm has 50 ms at a million tasks).
-- The earliest re-warm due is read from an index of (job, due time).
CREATE TABLE keep_counts (
	job_id   TEXT NOT NULL PRIMARY KEY,
	kept     BIGINT NOT NULL DEFAULT 0, -- a re-warm due or queued
	queued   BIGINT NOT NULL DEFAULT 0,
	ended    BIGINT NOT NULL DEFAULT 0, -- fresh to the end: nothing more to do
	not_kept BIGINT NOT NULL DEFAULT 0,
	rewarms  BIGINT NOT NULL DEFAULT 0,
	failures BIGINT NOT NULL DEFAULT 0
) {{.WithoutRowID}};
INSERT INTO keep_counts (job_id, kept, queued, ended, not_kept, rewarms, failures)
	SELECT job_id,
		SUM(CASE WHEN due_at > 0 OR queued THEN 1 ELSE 0 END),
		SUM(CASE WHEN queued THEN 1 ELSE 0 END),
		SUM(CASE WHEN due_at = 0 AND NOT queued AND not_kept = '' THEN 1 ELSE 0 END),
		SUM(CASE WHEN not_kept <> '' THEN 1 ELSE 0 END),
		SUM(rewarms), SUM(failures)
	FROM rewarms GROUP BY job_id;
CREATE INDEX rewarms_job_due ON rewarms (job_id, due_at) WHERE due_at > 0 AND NOT queued;
