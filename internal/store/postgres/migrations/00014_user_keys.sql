-- +goose Up
-- Per-user data keys (issue 12 req 6): each user's personal values are
-- sealed under a random key of their own, stored here only wrapped by the
-- PII key ring (key_id says which ring key, so a rewrap finds the rows
-- still under a retired one). Erasing a user deletes their row, which
-- leaves every copy of their values undecryptable. Users from before this
-- migration have no row: their values stay sealed by the ring directly
-- until their next change or `roster keys rewrap` gives them a key.
CREATE TABLE user_key (
    user_id     TEXT PRIMARY KEY REFERENCES users (id),
    key_id      TEXT NOT NULL,
    wrapped_enc BYTEA NOT NULL,
    created     TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_key_key_id ON user_key (key_id);

-- When the user was erased; the row stays (its id, memberships and
-- enrolments still count) with every personal field blank.
ALTER TABLE users ADD COLUMN erased_date TIMESTAMPTZ;

-- +goose Down
ALTER TABLE users DROP COLUMN erased_date;
DROP TABLE user_key;
