-- Keys share the agents: a job's queue window is split among the running
-- jobs of its key while other keys run too. Counting them reads this
-- index, not the whole jobs table.

-- +goose Up
CREATE INDEX jobs_owner_running ON jobs (owner) WHERE status IN ('CREATED', 'IN_PROGRESS');
