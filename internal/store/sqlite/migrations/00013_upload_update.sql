-- +goose Up
-- Uploads that change existing users (issue 12.3, 12.4): the mode the
-- admin chose, whether they confirmed going past the change threshold,
-- and per row what the row did (create, update, unchanged) and which
-- fields it changed, old -> new with personal values masked. The changes
-- hold masked values only, never a clear contact.
ALTER TABLE upload ADD COLUMN mode TEXT NOT NULL DEFAULT 'create';
ALTER TABLE upload ADD COLUMN confirmed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE upload_row ADD COLUMN action TEXT NOT NULL DEFAULT '';
ALTER TABLE upload_row ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE upload_row DROP COLUMN changes;
ALTER TABLE upload_row DROP COLUMN action;
ALTER TABLE upload DROP COLUMN confirmed;
ALTER TABLE upload DROP COLUMN mode;
