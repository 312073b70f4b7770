-- Agents far from the database: each works as many batches at once as
-- its round trip to the database calls for, and a job's window of queued
-- batches follows the active agents' batches.

-- +goose Up
ALTER TABLE agents ADD COLUMN batches INTEGER NOT NULL DEFAULT 16;
ALTER TABLE agents ADD COLUMN db_rtt_us BIGINT NOT NULL DEFAULT 0;
