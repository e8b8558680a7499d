-- +goose Up
-- One-time codes (sign-up verification now; password reset and account
-- linking later). Nothing here is readable: the destination and the
-- client address are blind indexes and the code is an HMAC bound to its
-- purpose and destination, so a copy of this table neither reveals who
-- signed up nor yields a code. Rows stay after use or expiry because the
-- throttles count them: how many codes a destination or a client was sent
-- in the last hour, and when the last one went out.
CREATE TABLE one_time_code (
    id          TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    dest_hash   TEXT NOT NULL,
    client_hash TEXT NOT NULL DEFAULT '',
    code_hash   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX one_time_code_dest ON one_time_code (dest_hash, purpose, created_at);
CREATE INDEX one_time_code_client ON one_time_code (client_hash, created_at);
CREATE INDEX one_time_code_created ON one_time_code (created_at);

-- A parent may manage only so many children (registry.MaxManagedUsers);
-- counting them must not scan every user.
CREATE INDEX users_managed_by ON users (managed_by);

-- +goose Down
DROP INDEX users_managed_by;
DROP TABLE one_time_code;
