-- Schedules: a job body started again and again on a cron expression.
-- next_run is the next slot (micros); the node that moves it on from the
-- slot it read starts that run, so each slot runs once across the fleet.

-- +goose Up
CREATE TABLE schedules (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL DEFAULT '',
	cron        TEXT NOT NULL,
	timezone    TEXT NOT NULL,
	job         TEXT NOT NULL, -- the job body as submitted to the API
	spec        TEXT NOT NULL, -- the same, as the domain reads it
	owner       TEXT NOT NULL DEFAULT '',
	paused      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at  BIGINT NOT NULL,
	next_run    BIGINT NOT NULL,
	last_run    BIGINT NOT NULL DEFAULT 0,
	last_job    TEXT NOT NULL DEFAULT '',
	last_error  TEXT NOT NULL DEFAULT '',
	runs        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX schedules_due ON schedules (next_run) WHERE NOT paused;
ALTER TABLE jobs ADD COLUMN schedule_id TEXT NOT NULL DEFAULT '';
