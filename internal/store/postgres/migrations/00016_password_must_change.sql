-- +goose Up
-- A password someone else chose (an administrator, an upload) is only a
-- way in: its holder must choose their own at the next sign-in, and until
-- then the session may do nothing else (issue 12 req 5). Users who set
-- their own password (sign-up, a change, a reset) have it false.
ALTER TABLE users ADD COLUMN password_must_change BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE users DROP COLUMN password_must_change;
