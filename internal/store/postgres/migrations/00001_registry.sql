-- +goose Up
-- Registry tables from seed 001. The engines differ only in the blob and
-- timestamp types; JSON is kept as TEXT on both so the same Go code reads it.

CREATE TABLE organisation (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    channel       TEXT,
    is_tenant     BOOLEAN NOT NULL DEFAULT FALSE,
    is_custodian  BOOLEAN NOT NULL DEFAULT FALSE,
    root_org_id   TEXT NOT NULL,
    external_id   TEXT,
    provider      TEXT,
    location_ids  TEXT NOT NULL DEFAULT '[]',
    status        INTEGER NOT NULL DEFAULT 1,
    created_date  TIMESTAMPTZ NOT NULL,
    updated_date  TIMESTAMPTZ
);
CREATE UNIQUE INDEX organisation_tenant_channel ON organisation (channel) WHERE is_tenant;
CREATE UNIQUE INDEX organisation_provider_external_id ON organisation (provider, external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX organisation_single_custodian ON organisation (is_custodian) WHERE is_custodian;
CREATE INDEX organisation_root_org ON organisation (root_org_id);

CREATE TABLE location (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    parent_id  TEXT REFERENCES location (id)
);
CREATE UNIQUE INDEX location_type_code ON location (type, code);

-- "user" is reserved in PostgreSQL, hence "users".
CREATE TABLE users (
    id                    TEXT PRIMARY KEY,
    username              TEXT NOT NULL,
    first_name            TEXT NOT NULL,
    last_name             TEXT NOT NULL DEFAULT '',
    email_enc             BYTEA    ,
    masked_email          TEXT NOT NULL DEFAULT '',
    email_verified        BOOLEAN NOT NULL DEFAULT FALSE,
    phone_enc             BYTEA    ,
    masked_phone          TEXT NOT NULL DEFAULT '',
    phone_verified        BOOLEAN NOT NULL DEFAULT FALSE,
    recovery_email_enc    BYTEA    ,
    recovery_phone_enc    BYTEA    ,
    prev_used_email_enc   BYTEA    ,
    prev_used_phone_enc   BYTEA    ,
    country_code          TEXT NOT NULL DEFAULT '',
    dob                   TEXT NOT NULL DEFAULT '',
    gender                TEXT NOT NULL DEFAULT '',
    language              TEXT NOT NULL DEFAULT '[]',
    position              TEXT NOT NULL DEFAULT '',
    profile_summary       TEXT NOT NULL DEFAULT '',
    location              TEXT NOT NULL DEFAULT '',
    channel               TEXT NOT NULL DEFAULT '',
    root_org_id           TEXT NOT NULL REFERENCES organisation (id),
    flags_value           INTEGER NOT NULL DEFAULT 0,
    framework             TEXT NOT NULL DEFAULT '{}',
    profile_location      TEXT NOT NULL DEFAULT '[]',
    profile_user_types    TEXT NOT NULL DEFAULT '[]',
    all_tnc_accepted      TEXT NOT NULL DEFAULT '{}',
    tnc_accepted_on       TIMESTAMPTZ,
    tnc_accepted_version  TEXT NOT NULL DEFAULT '',
    managed_by            TEXT,
    status                INTEGER NOT NULL DEFAULT 1,
    is_deleted            BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_date          TIMESTAMPTZ,
    password_hash         TEXT NOT NULL DEFAULT '',
    created_by            TEXT,
    created_date          TIMESTAMPTZ NOT NULL,
    updated_by            TEXT,
    updated_date          TIMESTAMPTZ
);
CREATE INDEX users_root_org ON users (root_org_id);

-- Lookup by email/phone/username/externalid. value is a keyed blind index
-- (HMAC) of the normalised value, never plaintext; the primary key is what
-- makes two concurrent creates with one email end with exactly one user.
CREATE TABLE user_lookup (
    type     TEXT NOT NULL,
    value    TEXT NOT NULL,
    user_id  TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (type, value)
);
CREATE INDEX user_lookup_user ON user_lookup (user_id);

CREATE TABLE usr_external_identity (
    provider          TEXT NOT NULL,
    id_type           TEXT NOT NULL,
    external_id_hash  TEXT NOT NULL,
    external_id_enc   BYTEA     NOT NULL,
    user_id           TEXT NOT NULL REFERENCES users (id),
    created_by        TEXT,
    created_on        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider, id_type, external_id_hash)
);
CREATE INDEX usr_external_identity_user ON usr_external_identity (user_id);

CREATE TABLE user_organisation (
    user_id           TEXT NOT NULL REFERENCES users (id),
    organisation_id   TEXT NOT NULL REFERENCES organisation (id),
    association_type  INTEGER NOT NULL DEFAULT 0,
    roles             TEXT NOT NULL DEFAULT '[]',
    is_approved       BOOLEAN NOT NULL DEFAULT TRUE,
    is_rejected       BOOLEAN NOT NULL DEFAULT FALSE,
    is_deleted        BOOLEAN NOT NULL DEFAULT FALSE,
    approval_date     TIMESTAMPTZ,
    org_join_date     TIMESTAMPTZ NOT NULL,
    org_left_date     TIMESTAMPTZ,
    updated_by        TEXT,
    updated_date      TIMESTAMPTZ,
    PRIMARY KEY (user_id, organisation_id)
);
CREATE INDEX user_organisation_org ON user_organisation (organisation_id);

-- Who did what to which object. detail never holds PII.
CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor_id     TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL DEFAULT '',
    object_id    TEXT NOT NULL DEFAULT '',
    outcome      TEXT NOT NULL DEFAULT 'ok',
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE user_organisation;
DROP TABLE usr_external_identity;
DROP TABLE user_lookup;
DROP TABLE users;
DROP TABLE location;
DROP TABLE organisation;
