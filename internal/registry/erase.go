package registry

import (
	"context"
	"errors"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// Messages of an erasure.
const (
	MsgErasePassword      = "enter your own password to confirm the erasure"
	MsgEraseWrongPassword = "is not your password"
	MsgAlreadyErased      = "the user has already been erased"
)

// ErrErasePassword is EraseUser's answer to a wrong confirming password,
// which the caller throttles like a failed sign-in.
var ErrErasePassword = roster.Invalid(roster.FieldError{Field: FieldPassword, Message: MsgEraseWrongPassword})

// readKey returns the handle that opens userID's personal values: their
// data key, or for a user without one (created before per-user keys, or
// erased) a handle that opens only ring-sealed values.
func (s *Service) readKey(ctx context.Context, q store.Queryer, userID string) (*pii.UserKey, error) {
	r, err := store.GetUserKey(ctx, q, userID)
	if errors.Is(err, store.ErrNoRows) {
		return s.keys.NoUserKey(userID), nil
	} else if err != nil {
		return nil, err
	}
	return s.keys.UnwrapUserKey(userID, r.Wrapped)
}

// writeKey returns a handle that seals userID's values: their data key,
// made now for a user from before per-user keys (their older values stay
// ring-sealed until `roster keys rewrap` moves them). Erased users are
// never written (userFor refuses deleted users), so none gets a new key.
func (s *Service) writeKey(ctx context.Context, tx store.Queryer, userID string) (*pii.UserKey, error) {
	uk, err := s.readKey(ctx, tx, userID)
	if err != nil || uk.HasDataKey() {
		return uk, err
	}
	uk, wrapped, keyID := s.keys.NewUserKey(userID)
	created, err := store.InsertUserKey(ctx, tx, store.UserKeyRecord{UserID: userID, KeyID: keyID, Wrapped: wrapped, Created: roster.Now()})
	if err != nil {
		return nil, err
	}
	if !created { // another writer made one first
		return s.readKey(ctx, tx, userID)
	}
	return uk, nil
}

// EraseUser erases a user for good, on their own request or an admin's
// in scope (authz.EraseUser): their data key is destroyed, so every copy
// of their personal values, backups included, can no longer be opened;
// their lookups and external identities are deleted, every personal field
// blanked and every session ended. Their id, memberships and enrolments
// stay, so counts do not change. Whoever erases confirms with their own
// password; system callers (operator commands) need none.
func (s *Service) EraseUser(ctx context.Context, p *roster.Principal, id, confirmPassword string) error {
	if p != nil && !p.System {
		if err := s.confirmPassword(ctx, p, confirmPassword); err != nil {
			return err
		}
	}
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := store.GetUser(ctx, tx, id)
		if err != nil {
			return storeErr(err, "user")
		}
		u, err := authz.Subject(ctx, tx, rec)
		if err != nil {
			return err
		}
		if err := authz.Decide(p, authz.EraseUser, authz.Resource{User: u}); err != nil {
			return err
		}
		if rec.ErasedDate != nil {
			return roster.Errorf(roster.ECONFLICT, MsgAlreadyErased)
		}
		now := roster.Now()
		if err := s.eraseTraces(ctx, tx, rec, now); err != nil {
			return err
		}
		err = store.EraseUser(ctx, tx, rec.ID, p.UserID, now)
		if errors.Is(err, store.ErrNoRows) { // erased meanwhile
			return roster.Errorf(roster.ECONFLICT, MsgAlreadyErased)
		} else if err != nil {
			return err
		}
		how := "admin"
		if p.UserID == rec.ID {
			how = "self"
		}
		return store.Audit(ctx, tx, p.UserID, "user.erase", "user", rec.ID, "ok", how)
	})
}

// eraseTraces removes what of the user is kept outside their row and
// their key: a pending declaration leaves the review queue, and the
// one-time codes sent to their address (stored under its blind index, so
// they name the address) are deleted.
func (s *Service) eraseTraces(ctx context.Context, tx store.Tx, rec *store.UserRecord, now time.Time) error {
	if _, err := s.withdrawPending(ctx, tx, rec.ID, now); err != nil {
		return err
	}
	uk, err := s.readKey(ctx, tx, rec.ID)
	if err != nil {
		return err
	}
	var dests []string
	for _, c := range []struct {
		channel, field string
		enc            []byte
	}{
		{"email", pii.FieldEmail, rec.EmailEnc}, {"sms", pii.FieldPhone, rec.PhoneEnc},
	} {
		addr, err := uk.Open(c.enc, pii.UserField(rec.ID, c.field))
		if err != nil {
			return err
		}
		if addr != "" {
			dests = append(dests, s.keys.OneTimeCodeDestination(c.channel, addr))
		}
	}
	return store.DeleteOneTimeCodesTo(ctx, tx, dests)
}

// confirmPassword checks the acting user's own password.
func (s *Service) confirmPassword(ctx context.Context, p *roster.Principal, pw string) error {
	if pw == "" {
		return roster.Invalid(roster.FieldError{Field: FieldPassword, Message: MsgErasePassword})
	}
	if len(pw) > maxConfirmPassword {
		return ErrErasePassword
	}
	actor, err := store.GetUser(ctx, s.db, p.UserID)
	if err != nil {
		return storeErr(err, "user")
	}
	hash := actor.PasswordHash
	if hash == "" {
		hash = dummyHash // same time, same answer, for accounts without a password
	}
	if poolErr, mismatch := s.verifyPassword(ctx, pw, hash); poolErr != nil {
		return poolErr
	} else if mismatch != nil || actor.PasswordHash == "" {
		return ErrErasePassword
	}
	return nil
}

// maxConfirmPassword bounds a confirming password before it is hashed.
const maxConfirmPassword = 1024
