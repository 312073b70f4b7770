-- Changed only: a job expanding sitemaps may keep only the URLs whose
-- lastmod is after changed_since (micros; 0: every URL).

-- +goose Up
ALTER TABLE jobs ADD COLUMN changed_since BIGINT NOT NULL DEFAULT 0;
