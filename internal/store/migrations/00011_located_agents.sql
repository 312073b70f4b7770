-- Located agents: an agent says where it runs (agent --location), and a
-- job with vantage "agents" sends each POP's batches only to agents
-- located there, through a queue of that location. The place a POP's
-- batches go to is chosen once, when the job is planned, and kept with
-- the POP and each batch, so that a batch queued later (the job's window)
-- goes to the same queue.

-- +goose Up
ALTER TABLE agents ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN vantage TEXT NOT NULL DEFAULT '';
ALTER TABLE job_pops ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE batches ADD COLUMN location TEXT NOT NULL DEFAULT '';
