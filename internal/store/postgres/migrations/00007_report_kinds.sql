-- +goose Up
-- A report request names what it builds (kind) and how it is written
-- (format). Every request before this migration was a User Profile Exhaust
-- written as CSV, which is what the defaults say. The pending-request rule
-- now covers kind and format too: asking for another kind of report of the
-- same batch is a different request, not a duplicate.
ALTER TABLE report_request ADD COLUMN kind TEXT NOT NULL DEFAULT 'user-profile-exhaust';
ALTER TABLE report_request ADD COLUMN format TEXT NOT NULL DEFAULT 'csv';
DROP INDEX report_request_pending;
CREATE UNIQUE INDEX report_request_pending ON report_request (course_id, COALESCE(batch_id, ''), requested_by, kind, format)
    WHERE status IN ('SUBMITTED', 'PROCESSING');

-- +goose Down
DROP INDEX report_request_pending;
CREATE UNIQUE INDEX report_request_pending ON report_request (course_id, COALESCE(batch_id, ''), requested_by)
    WHERE status IN ('SUBMITTED', 'PROCESSING');
ALTER TABLE report_request DROP COLUMN format;
ALTER TABLE report_request DROP COLUMN kind;
