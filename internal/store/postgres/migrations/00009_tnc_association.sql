-- +goose Up
-- Seed 001's associationType is 1 (SSO), 2 (self-declared) or 4 (system
-- upload); Roster stored 0 for users an admin created through the API or
-- CLI and for memberships added by PUT membership. Every such row was made
-- by an admin on the tenant's behalf, never by the user or an IdP, which
-- is what system upload means, so 0 becomes 4 (the value those paths store
-- from now on). Not reversed by Down: after the change a 4 cannot be told
-- from one that was always 4.
UPDATE user_organisation SET association_type = 4 WHERE association_type = 0;

-- Published versions of the terms and conditions, per kind (seed 001:
-- the platform terms of tncAcceptedVersion, and allTncAccepted's
-- orgAdminTnc, reportViewerTnc). The current version of a kind is the one
-- published last; older rows stay as the record of what users accepted.
CREATE TABLE tnc_version (
    kind          TEXT NOT NULL,
    version       TEXT NOT NULL,
    url           TEXT NOT NULL,
    published_at  TIMESTAMPTZ NOT NULL,
    published_by  TEXT NOT NULL,
    PRIMARY KEY (kind, version)
);
CREATE INDEX tnc_version_current ON tnc_version (kind, published_at);

-- +goose Down
DROP TABLE tnc_version;
