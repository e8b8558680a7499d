-- +goose Up
-- Bulk user uploads (seed 002). upload.id is the process ID the admin is
-- given. The uploaded file holds passwords and personal data in clear, so it
-- is kept only sealed with the PII key ring (file_enc) and only until the
-- upload finishes; after that each row's original values survive solely as
-- upload_row.original_enc, sealed and with the password blanked, for the
-- result CSV. The engines differ only in the blob and timestamp types.

CREATE TABLE upload (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organisation (id),
    root_org_id  TEXT NOT NULL REFERENCES organisation (id),
    uploaded_by  TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    file_size    INTEGER NOT NULL DEFAULT 0,
    format       TEXT NOT NULL,
    columns      TEXT NOT NULL DEFAULT '[]',
    file_enc     BYTEA    ,
    status       TEXT NOT NULL,
    failure      TEXT NOT NULL DEFAULT '',
    total        INTEGER NOT NULL DEFAULT 0,
    processed    INTEGER NOT NULL DEFAULT 0,
    succeeded    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    dry_run      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ
);
CREATE INDEX upload_org ON upload (org_id, id);

-- One outcome per data row. The primary key is what makes a resumed or
-- doubly-run upload unable to record a row twice.
CREATE TABLE upload_row (
    upload_id     TEXT NOT NULL REFERENCES upload (id),
    row_number    INTEGER NOT NULL,
    status        TEXT NOT NULL,
    user_id       TEXT REFERENCES users (id),
    errors        TEXT NOT NULL DEFAULT '[]',
    original_enc  BYTEA    ,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (upload_id, row_number)
);

-- +goose Down
DROP TABLE upload_row;
DROP TABLE upload;
