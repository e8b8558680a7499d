package registry

import (
	"context"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
)

// IdempotencyTTL is how long an Idempotency-Key's answer is kept: long
// enough for any client's retries, short enough that the table stays small.
const IdempotencyTTL = 24 * time.Hour

// Messages of the Idempotency-Key checks.
const (
	MsgIdempotencyMismatch   = "this Idempotency-Key was used with a different request; use a new key for a new request"
	MsgIdempotencyInProgress = "the first request with this Idempotency-Key is still running; retry in a moment"
)

// IdempotentAnswer is the first answer given to a request with a key.
type IdempotentAnswer struct {
	Status      int
	ContentType string
	Body        []byte
}

// ClaimIdempotency starts a request carrying an Idempotency-Key. It
// returns nil when this is the key's first use by the caller for the
// operation (the caller then runs the request and calls FinishIdempotency
// or ReleaseIdempotency), or the first answer to replay. Keys are per
// caller, so one caller can neither read nor block another's answers.
func (s *Service) ClaimIdempotency(ctx context.Context, p *roster.Principal, operation, key, requestHash string) (*IdempotentAnswer, error) {
	now := time.Now().UTC()
	old, err := store.ClaimIdempotencyKey(ctx, s.db, store.IdempotencyRecord{
		CallerID: p.UserID, Operation: operation, Key: key, RequestHash: requestHash,
		CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL),
	})
	switch {
	case err != nil:
		return nil, err
	case old == nil:
		return nil, nil
	case old.RequestHash != requestHash:
		return nil, roster.Invalid(roster.FieldError{Field: "Idempotency-Key", Message: MsgIdempotencyMismatch})
	case old.Status == 0:
		return nil, roster.Errorf(roster.ECONFLICT, MsgIdempotencyInProgress)
	}
	return &IdempotentAnswer{Status: old.Status, ContentType: old.ContentType, Body: old.Body}, nil
}

// FinishIdempotency keeps the answer of a claimed key.
func (s *Service) FinishIdempotency(ctx context.Context, p *roster.Principal, operation, key string, a IdempotentAnswer) error {
	return store.FinishIdempotencyKey(ctx, s.db, p.UserID, operation, key, a.Status, a.ContentType, a.Body)
}

// ReleaseIdempotency forgets a claimed key, so a retry runs the request.
func (s *Service) ReleaseIdempotency(ctx context.Context, p *roster.Principal, operation, key string) error {
	return store.ReleaseIdempotencyKey(ctx, s.db, p.UserID, operation, key)
}
