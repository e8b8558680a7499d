-- +goose Up
-- The console's directory searches an organisation's users by the start of
-- a first or last name, case-insensitively. The lower-cased names are
-- generated columns so one LIKE 'abc%' is indexable on both engines: here
-- through a NOCASE index (SQLite's LIKE optimisation needs a column, not
-- an expression), on PostgreSQL through text_pattern_ops. The tenant leads
-- so one tenant's search never walks another's names.
ALTER TABLE users ADD COLUMN first_name_key TEXT COLLATE NOCASE GENERATED ALWAYS AS (lower(first_name)) VIRTUAL;
ALTER TABLE users ADD COLUMN last_name_key TEXT COLLATE NOCASE GENERATED ALWAYS AS (lower(last_name)) VIRTUAL;
CREATE INDEX users_first_name_search ON users (root_org_id, first_name_key);
CREATE INDEX users_last_name_search ON users (root_org_id, last_name_key);
-- A tenant's directory pages by id: with the tenant first, a page is a
-- short walk of this index instead of a sort of every user of the tenant.
CREATE INDEX users_root_org_id ON users (root_org_id, id);

-- Every audit row belongs to a tenant, so a tenant's admins read their own
-- log and never another's. It is the tenant of the object acted on, or of
-- the actor when the object has none ('' for the platform's own rows).
ALTER TABLE audit_log ADD COLUMN root_org_id TEXT NOT NULL DEFAULT '';
UPDATE audit_log SET root_org_id = COALESCE(CASE object_type
    WHEN 'user' THEN (SELECT u.root_org_id FROM users u WHERE u.id = audit_log.object_id)
    WHEN 'organisation' THEN (SELECT o.root_org_id FROM organisation o WHERE o.id = audit_log.object_id)
    WHEN 'upload' THEN (SELECT up.root_org_id FROM upload up WHERE up.id = audit_log.object_id)
    WHEN 'course' THEN (SELECT c.root_org_id FROM course c WHERE c.id = audit_log.object_id)
    WHEN 'batch' THEN (SELECT c.root_org_id FROM course_batch b JOIN course c ON c.id = b.course_id WHERE b.id = audit_log.object_id)
    WHEN 'report' THEN (SELECT c.root_org_id FROM report_request r JOIN course c ON c.id = r.course_id WHERE r.id = audit_log.object_id)
  END, (SELECT u.root_org_id FROM users u WHERE u.id = audit_log.actor_id), '');
-- The log is read newest first (ids are time-ordered UUIDv7) within a tenant.
CREATE INDEX audit_log_tenant ON audit_log (root_org_id, id);

-- +goose Down
DROP INDEX audit_log_tenant;
ALTER TABLE audit_log DROP COLUMN root_org_id;
DROP INDEX users_root_org_id;
DROP INDEX users_last_name_search;
DROP INDEX users_first_name_search;
ALTER TABLE users DROP COLUMN last_name_key;
ALTER TABLE users DROP COLUMN first_name_key;
