-- +goose Up
-- A self-signed-up teacher's declaration of their state, school and
-- teacher id, waiting for the state to approve or reject it (issue 11.2).
-- The teacher id is sealed (pii.Declaration); it becomes the user's
-- external identity only on approval, which is where uniqueness is
-- claimed. The partial index is what keeps one pending declaration per
-- user even when two submissions race.
CREATE TABLE user_declaration (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    tenant_id       TEXT NOT NULL REFERENCES organisation (id),
    org_id          TEXT NOT NULL REFERENCES organisation (id),
    teacher_id_enc  BLOB      NOT NULL,
    status          TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',
    created_date    TIMESTAMP NOT NULL,
    decided_by      TEXT,
    decided_date    TIMESTAMP
);
CREATE UNIQUE INDEX user_declaration_one_pending ON user_declaration (user_id) WHERE status = 'pending';
CREATE INDEX user_declaration_queue ON user_declaration (tenant_id, status, id);
CREATE INDEX user_declaration_user ON user_declaration (user_id, created_date);

-- +goose Down
DROP TABLE user_declaration;
