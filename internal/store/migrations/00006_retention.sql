-- Retention: an ended job's per-task rows are deleted after the retention
-- period; its summary is kept on the job row first, so the job and its
-- summary stay.

-- +goose Up
ALTER TABLE jobs ADD COLUMN kept_summary TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_ended ON jobs (updated_at) WHERE kept_summary = '' AND status IN ('FINISHED', 'TIMEOUT', 'STOPPED', 'FAILED');
