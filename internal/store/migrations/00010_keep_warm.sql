-- Keep warm: a job with keep_warm_until re-warms each URL × POP as its
-- freshness at that POP runs out, until then. Each task's result keeps
-- when its freshness ends (fresh_until, micros; 0: unknown), and each
-- kept URL × POP has a rewarms row: when its next re-warm is due. The node
-- whose update marks a due row queued queues that re-warm, so each is
-- queued once across the fleet.

-- +goose Up
ALTER TABLE jobs ADD COLUMN keep_warm_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN refresh_header TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN warmed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE results ADD COLUMN fresh_until BIGINT NOT NULL DEFAULT 0;
CREATE TABLE rewarms (
	job_id       TEXT NOT NULL,
	pop          TEXT NOT NULL,
	url_idx      INTEGER NOT NULL,
	variant      TEXT NOT NULL DEFAULT '',
	due_at       BIGINT NOT NULL,          -- the next re-warm; 0: none (kept to the end, or cannot be kept)
	queued       BOOLEAN NOT NULL DEFAULT FALSE,
	fresh_until  BIGINT NOT NULL DEFAULT 0,
	rewarms      INTEGER NOT NULL DEFAULT 0,
	failures     INTEGER NOT NULL DEFAULT 0,
	cache_status TEXT NOT NULL DEFAULT '', -- the last re-warm's
	error        TEXT NOT NULL DEFAULT '', -- the last failed re-warm's
	not_kept     TEXT NOT NULL DEFAULT '', -- why it cannot be kept warm
	PRIMARY KEY (job_id, pop, url_idx, variant)
) {{.WithoutRowID}};
CREATE INDEX rewarms_due ON rewarms (due_at) WHERE due_at > 0 AND NOT queued;
