-- +goose Up
-- A school's admins list the declarations pending for their school (the
-- review queue and the directory's declaration=pending filter); the queue
-- index leads with the tenant, so without this a school's list would walk
-- its whole state's declarations.
CREATE INDEX user_declaration_school_queue ON user_declaration (org_id, status, id);

-- +goose Down
DROP INDEX user_declaration_school_queue;
