-- +goose Up
-- A password change must end every session and token issued before it.
-- Tokens carry the generation current when they were issued and are
-- accepted only while it is still the user's; a change increments it. A
-- counter rather than a "valid after" time closes the race a time leaves
-- open: a sign-in that checked the old password a moment before the change
-- would otherwise get a token stamped after it.
ALTER TABLE users ADD COLUMN session_generation BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN session_generation;
