-- A job's window is split among the running jobs of its key: counting
-- them at every batch done reads this index, not the whole jobs table.

-- +goose Up
CREATE INDEX jobs_owner_running ON jobs (owner) WHERE status IN ('CREATED', 'IN_PROGRESS');
