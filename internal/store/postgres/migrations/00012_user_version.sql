-- +goose Up
-- Every write of a user row increments version, and every write names the
-- version it read: an edit made from a stale form (the ETag a client got)
-- and the second of two racing read-modify-writes fail instead of silently
-- undoing the other's change.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN version;
