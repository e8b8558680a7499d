-- +goose Up
-- Idempotency-Key of upload and report requests: a retry with the same key
-- by the same caller gets the first answer instead of a second upload or
-- report. A row is claimed (status 0) before the work starts, so a retry
-- racing the first request is refused rather than run twice; the answer is
-- kept until the key expires. The answers hold no personal values (upload
-- and report views mask or omit them), so nothing here is sealed.
CREATE TABLE idempotency_key (
    caller_id    TEXT NOT NULL,
    operation    TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    body         BLOB,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (caller_id, operation, idem_key)
);
CREATE INDEX idempotency_key_expires ON idempotency_key (expires_at);

-- +goose Down
DROP TABLE idempotency_key;
