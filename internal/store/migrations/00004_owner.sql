-- Named API keys: each job records the name of the key that submitted it
-- (never the key), empty when the API is open or for older jobs.

-- +goose Up
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
