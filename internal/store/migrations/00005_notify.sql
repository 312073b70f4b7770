-- Notifications: a job may name a URL told when it ends (a signed JSON
-- POST, retried with backoff); the job records how delivery went.
-- notify_state: '' (none), pending, delivered or failed; notify_next is
-- when the next attempt may start (micros), also a claim's expiry.

-- +goose Up
ALTER TABLE jobs ADD COLUMN notify_url TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN notify_state TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN notify_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN notify_error TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN notify_next BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN notified_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_notify_pending ON jobs (notify_next) WHERE notify_state = 'pending';
