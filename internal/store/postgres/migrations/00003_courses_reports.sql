-- +goose Up
-- Courses, batches, enrolments, the consent ledger and on-demand User
-- Profile Exhaust reports (seed 000). The engines differ only in the blob and
-- timestamp types.

CREATE TABLE course (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    channel           TEXT NOT NULL DEFAULT '',
    root_org_id       TEXT NOT NULL REFERENCES organisation (id),
    created_by        TEXT NOT NULL REFERENCES users (id),
    requires_consent  BOOLEAN NOT NULL DEFAULT TRUE,
    created_date      TIMESTAMPTZ NOT NULL
);
CREATE INDEX course_created_by ON course (created_by);
CREATE INDEX course_root_org ON course (root_org_id);

-- Status (upcoming / in progress / completed) is derived from the dates when
-- read, so no scheduler has to keep a stored copy up to date.
CREATE TABLE course_batch (
    id                  TEXT PRIMARY KEY,
    course_id           TEXT NOT NULL REFERENCES course (id),
    name                TEXT NOT NULL,
    created_by          TEXT NOT NULL REFERENCES users (id),
    mentors             TEXT NOT NULL DEFAULT '[]',
    start_date          TIMESTAMPTZ NOT NULL,
    end_date            TIMESTAMPTZ,
    enrolment_end_date  TIMESTAMPTZ,
    created_date        TIMESTAMPTZ NOT NULL
);
CREATE INDEX course_batch_course ON course_batch (course_id);

-- The primary key doubles as the report's keyset cursor (batch, then user).
-- A user holds at most one active enrolment per course, as in the seed.
CREATE TABLE enrolment (
    batch_id       TEXT NOT NULL REFERENCES course_batch (id),
    user_id        TEXT NOT NULL REFERENCES users (id),
    course_id      TEXT NOT NULL REFERENCES course (id),
    enrolled_date  TIMESTAMPTZ NOT NULL,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    updated_date   TIMESTAMPTZ,
    PRIMARY KEY (batch_id, user_id)
);
CREATE UNIQUE INDEX enrolment_one_active_per_course ON enrolment (user_id, course_id) WHERE active;

-- Append-only: every grant and revocation is kept; the latest entry (by at,
-- then by the time-ordered id) is the user's current choice.
CREATE TABLE consent (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    consumer_id  TEXT NOT NULL REFERENCES organisation (id),
    object_id    TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),
    at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX consent_latest ON consent (user_id, object_id, consumer_id, at, id);

-- Per-tenant narrowing of the personal fields a report shares on consent,
-- separately for self-signed-up (ssu) and state-validated (sso) users. No row
-- means every field is shared on consent.
CREATE TABLE report_policy (
    root_org_id   TEXT PRIMARY KEY REFERENCES organisation (id),
    ssu_fields    TEXT NOT NULL DEFAULT '[]',
    sso_fields    TEXT NOT NULL DEFAULT '[]',
    updated_by    TEXT NOT NULL DEFAULT '',
    updated_date  TIMESTAMPTZ NOT NULL
);

-- password_enc holds the archive password sealed with the PII key ring only
-- while the job may still need it; it is set to NULL when the job ends.
CREATE TABLE report_request (
    id              TEXT PRIMARY KEY,
    course_id       TEXT NOT NULL REFERENCES course (id),
    batch_id        TEXT REFERENCES course_batch (id),
    requested_by    TEXT NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL,
    failure         TEXT NOT NULL DEFAULT '',
    total_rows      BIGINT NOT NULL DEFAULT 0,
    consented_rows  BIGINT NOT NULL DEFAULT 0,
    file_path       TEXT,
    file_size       BIGINT NOT NULL DEFAULT 0,
    password_enc    BYTEA    ,
    requested_at    TIMESTAMPTZ NOT NULL,
    started_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    expires_at      TIMESTAMPTZ
);
CREATE INDEX report_request_requester ON report_request (requested_by, requested_at);
CREATE INDEX report_request_expiry ON report_request (status, expires_at);
-- At most one pending request per course, batch (or all batches) and
-- requester: a second identical request returns the first.
CREATE UNIQUE INDEX report_request_pending ON report_request (course_id, COALESCE(batch_id, ''), requested_by)
    WHERE status IN ('SUBMITTED', 'PROCESSING');

CREATE TABLE report_download (
    id          TEXT PRIMARY KEY,
    report_id   TEXT NOT NULL REFERENCES report_request (id),
    user_id     TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX report_download_report ON report_download (report_id, at);

-- +goose Down
DROP TABLE report_download;
DROP TABLE report_request;
DROP TABLE report_policy;
DROP TABLE consent;
DROP TABLE enrolment;
DROP TABLE course_batch;
DROP TABLE course;
