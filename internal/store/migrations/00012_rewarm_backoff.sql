-- A failed re-warm is tried again after a wait that doubles with each
-- failure in a row (5 s, 10 s, … up to 5 minutes), not every 5 s for as
-- long as the job keeps warm: failing counts them. A re-warm put off by
-- its host's pause (429, 503, the circuit breaker) is not a failure and
-- leaves it as it was.

-- +goose Up
ALTER TABLE rewarms ADD COLUMN failing INTEGER NOT NULL DEFAULT 0;
