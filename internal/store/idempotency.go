package store

import (
	"context"
	"errors"
	"time"
)

// IdempotencyRecord is a row of idempotency_key. Status is 0 while the
// first request with the key is still running.
type IdempotencyRecord struct {
	CallerID    string
	Operation   string
	Key         string
	RequestHash string
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// ClaimIdempotencyKey records that rec's request is starting. When the
// caller already used the key for the operation and it has not expired,
// nothing is written and the earlier record is returned instead.
// Expired keys are removed first, so a key can be used again later and the
// table holds only live ones.
func ClaimIdempotencyKey(ctx context.Context, q Queryer, rec IdempotencyRecord) (*IdempotencyRecord, error) {
	if _, err := q.Exec(ctx, `DELETE FROM idempotency_key WHERE expires_at <= $1`, rec.CreatedAt); err != nil {
		return nil, err
	}
	n, err := q.Exec(ctx, `INSERT INTO idempotency_key
		(caller_id, operation, idem_key, request_hash, status, content_type, body, created_at, expires_at)
		VALUES ($1, $2, $3, $4, 0, '', NULL, $5, $6) ON CONFLICT DO NOTHING`,
		rec.CallerID, rec.Operation, rec.Key, rec.RequestHash, rec.CreatedAt, rec.ExpiresAt)
	if err != nil || n == 1 {
		return nil, err
	}
	var old IdempotencyRecord
	err = q.QueryRow(ctx, `SELECT caller_id, operation, idem_key, request_hash, status, content_type, body, created_at, expires_at
		FROM idempotency_key WHERE caller_id = $1 AND operation = $2 AND idem_key = $3`,
		rec.CallerID, rec.Operation, rec.Key).
		Scan(&old.CallerID, &old.Operation, &old.Key, &old.RequestHash, &old.Status, &old.ContentType, &old.Body, &old.CreatedAt, &old.ExpiresAt)
	if errors.Is(err, ErrNoRows) {
		// Released between the insert and the read: the caller may retry.
		return nil, errors.New("store: idempotency key released concurrently")
	}
	if err != nil {
		return nil, err
	}
	old.CreatedAt, old.ExpiresAt = old.CreatedAt.UTC(), old.ExpiresAt.UTC()
	return &old, nil
}

// FinishIdempotencyKey stores the answer of a claimed key.
func FinishIdempotencyKey(ctx context.Context, q Queryer, callerID, operation, key string, status int, contentType string, body []byte) error {
	_, err := q.Exec(ctx, `UPDATE idempotency_key SET status = $4, content_type = $5, body = $6
		WHERE caller_id = $1 AND operation = $2 AND idem_key = $3`, callerID, operation, key, status, contentType, body)
	return err
}

// ReleaseIdempotencyKey forgets a claimed key whose request failed on the
// server's side, so a retry runs the request again.
func ReleaseIdempotencyKey(ctx context.Context, q Queryer, callerID, operation, key string) error {
	_, err := q.Exec(ctx, `DELETE FROM idempotency_key WHERE caller_id = $1 AND operation = $2 AND idem_key = $3`, callerID, operation, key)
	return err
}
