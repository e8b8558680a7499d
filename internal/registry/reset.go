package registry

import (
	"context"
	"errors"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// Password reset, seen from the registry: who may get a code (an active
// user whose address is verified), and setting the password once the code
// is proved. Which code is sent, and how, is internal/signup's.

// Audit actions of a reset.
const (
	AuditResetRequested = "user.password_reset_requested"
	AuditPasswordReset  = "user.password"
)

// MsgNoVerifiedContact refuses an administrator's reset for a user with
// no verified email or phone: nothing could reach them.
const MsgNoVerifiedContact = "this user has no verified email or phone, so no reset code can reach them; ask them to verify one, or set a password they must change"

// ErrResetMismatch is the one answer to a reset code that does not match
// an account able to reset: it does not say whether the address is
// registered.
var ErrResetMismatch = roster.Invalid(roster.FieldError{Field: "code", Message: MsgResetMismatch})

// MsgResetMismatch is ErrResetMismatch's message.
const MsgResetMismatch = "this code does not match a reset asked for this address; ask for a new code"

// resettable is the active user holding the address (typ and value as
// NormaliseContact returns them) when that contact is verified, or nil.
func (s *Service) resettable(ctx context.Context, q store.Queryer, typ, value string) (*store.UserRecord, error) {
	id, err := store.LookupUserID(ctx, q, typ, s.lookupValue(typ, value))
	if errors.Is(err, store.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	rec, err := store.GetUser(ctx, q, id)
	if errors.Is(err, store.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	verified := rec.EmailVerified
	if typ == roster.LookupPhone {
		verified = rec.PhoneVerified
	}
	if !verified || rec.Status != roster.StatusActive || rec.IsDeleted || rec.ErasedDate != nil {
		return nil, nil
	}
	return rec, nil
}

// CanReset reports whether a reset code sent to the address would reach
// an account: an active user holding it, verified. The caller answers the
// same either way.
func (s *Service) CanReset(ctx context.Context, typ, value string) (bool, error) {
	rec, err := s.resettable(ctx, s.db, typ, value)
	return rec != nil, err
}

// ResetPassword sets the password of the user holding the verified
// address, once the caller has checked the reset code: the code proved
// the address, so the new password is the user's own choice. Every
// session ends, and the change is audited as the user's.
func (s *Service) ResetPassword(ctx context.Context, typ, value, next string) error {
	if msg := CheckPassword(next); msg != "" {
		return roster.Invalid(roster.FieldError{Field: FieldNewPassword, Message: msg})
	}
	hash, err := s.hashPassword(ctx, password.Interactive, next)
	if err != nil {
		return err
	}
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := s.resettable(ctx, tx, typ, value)
		if err != nil {
			return err
		}
		if rec == nil {
			return ErrResetMismatch
		}
		now := roster.Now()
		rec.PasswordHash, rec.PasswordMustChange, rec.UpdatedBy, rec.UpdatedDate = hash, false, rec.ID, &now
		if err := store.UpdateUser(ctx, tx, rec); err != nil {
			return err
		}
		return endSessions(ctx, tx, rec.ID, rec.ID, "reset:"+typ)
	})
}

// ResetContact is where an administrator's reset for user id goes: the
// user's verified email, else their verified phone (typ and the
// normalised value, for the caller to send a code to; never shown to the
// administrator). It needs the same permission as setting the password,
// and audits the request.
func (s *Service) ResetContact(ctx context.Context, p *roster.Principal, id string) (typ, value string, err error) {
	rec, err := s.userFor(ctx, s.db, p, id, authz.UpdateUser)
	if err != nil {
		return "", "", err
	}
	keys, err := s.readKey(ctx, s.db, rec.ID)
	if err != nil {
		return "", "", err
	}
	switch {
	case rec.EmailVerified && len(rec.EmailEnc) > 0:
		typ = roster.LookupEmail
		value, err = keys.Open(rec.EmailEnc, pii.UserField(rec.ID, pii.FieldEmail))
	case rec.PhoneVerified && len(rec.PhoneEnc) > 0:
		typ = roster.LookupPhone
		value, err = keys.Open(rec.PhoneEnc, pii.UserField(rec.ID, pii.FieldPhone))
	}
	if err != nil {
		return "", "", err
	}
	if value == "" {
		_ = store.Audit(ctx, s.db, p.UserID, AuditResetRequested, "user", rec.ID, "refused", "no_verified_contact")
		return "", "", roster.Invalid(roster.FieldError{Field: "user", Message: MsgNoVerifiedContact})
	}
	return typ, value, store.Audit(ctx, s.db, p.UserID, AuditResetRequested, "user", rec.ID, "ok", typ)
}
