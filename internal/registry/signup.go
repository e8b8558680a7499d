package registry

import (
	"context"
	"errors"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/store"
)

// Self sign-up, seen from the registry: a new account in the custodian
// organisation, inactive until its email or phone is verified. Which code
// is sent, and to whom, is internal/signup's; the registry owns the
// account and its rules.

// MaxManagedUsers bounds the children one parent signs up.
const MaxManagedUsers = 10

// MsgTooManyManaged refuses one child more.
const MsgTooManyManaged = "a parent can manage at most 10 accounts"

// MsgNotVerified is the sign-in refusal of a pending sign-up.
const MsgNotVerified = "this account is not active yet: enter the code we sent to your email or phone"

// Audit actions of sign-up.
const (
	AuditSignUp         = "user.signup"
	AuditSignUpVerified = "user.signup_verified"
)

// SignUpOutcome says what SignUp did with an address; the caller must
// answer all three the same way, so sign-up does not reveal who is
// registered.
type SignUpOutcome int

// The outcomes.
const (
	// SignUpCreated: a new pending account.
	SignUpCreated SignUpOutcome = iota + 1
	// SignUpReplaced: the address had a pending sign-up, now holding this
	// request's details: whoever enters the code must know the password
	// given last (VerifySignUp), so a stranger who signed up with someone
	// else's address first gains nothing.
	SignUpReplaced
	// SignUpTaken: an active (or blocked) account holds the address.
	SignUpTaken
	// SignUpManaged: a parent's managed child, active at once (it has no
	// contact of its own to verify).
	SignUpManaged
)

// pendingSignUp: an inactive account that is not deleted is a sign-up
// waiting for its code (block sets isDeleted too).
func pendingSignUp(rec *store.UserRecord) bool {
	return rec.Status == roster.StatusInactive && !rec.IsDeleted
}

// SignUpAssociation is the association type of a self sign-up's custodian
// membership: the person declared themselves (seed 001 has no value of
// its own for self sign-up; it is neither SSO nor a system upload).
const SignUpAssociation = roster.AssociationSelfDeclared

// CheckSignUp applies the rule book, location table included, to a sign-up
// without writing anything, so a caller can refuse bad input before it
// spends a code. It normalises in as CheckUser does.
func (s *Service) CheckSignUp(ctx context.Context, in *NewUser) error {
	in.SelfSignUp, in.OrgID, in.AssociationType, in.Roles = true, "", SignUpAssociation, nil
	errs := CheckUser(in, roster.Now())
	lerrs, err := CheckProfileLocation(ctx, s.db, in.User.ProfileLocation)
	if err != nil {
		return err
	}
	if errs = append(errs, lerrs...); len(errs) > 0 {
		return roster.Invalid(errs...)
	}
	return nil
}

// SignUp creates p's own account (p is nil for a visitor) or, when
// in.User.ManagedBy names p, p's managed child, in the custodian
// organisation with no role but PUBLIC. It returns the user's id and
// username and what happened; see SignUpOutcome.
func (s *Service) SignUp(ctx context.Context, p *roster.Principal, in NewUser) (SignedUp, error) {
	if err := s.CheckSignUp(ctx, &in); err != nil {
		return SignedUp{}, err
	}
	org, err := s.Bootstrap(ctx)
	if err != nil {
		return SignedUp{}, err
	}
	var parent *authz.User
	if in.User.ManagedBy != "" {
		parent = &authz.User{ID: in.User.ManagedBy}
	}
	if err := authz.Decide(p, authz.SignUp, authz.Resource{Tenant: org.ID, Org: org.ID, User: parent}); err != nil {
		return SignedUp{}, err
	}
	in.OrgID = org.ID
	if in.Password != "" {
		// Hashed on the interactive lane before any lookup, so every
		// outcome costs the same time.
		if in.User.PasswordHash, err = s.hashPassword(ctx, password.Interactive, in.Password); err != nil {
			return SignedUp{}, err
		}
	}
	actor := "self"
	if p != nil {
		actor = p.UserID
	}
	n, _ := s.validate(&in)
	var id, username string
	outcome := SignUpCreated
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		if in.User.ManagedBy != "" {
			if count, err := store.CountManagedUsers(ctx, tx, in.User.ManagedBy); err != nil {
				return err
			} else if count >= MaxManagedUsers {
				return roster.Invalid(roster.FieldError{Field: FieldManagedBy, Message: MsgTooManyManaged})
			}
		}
		holder, err := s.contactHolder(ctx, tx, n)
		if err != nil {
			return err
		}
		if holder != nil && !pendingSignUp(holder) {
			id, outcome = holder.ID, SignUpTaken
			return nil
		}
		if holder != nil {
			id, outcome = holder.ID, SignUpReplaced
			return s.replacePending(ctx, tx, holder, in)
		}
		u, err := s.createTx(ctx, tx, actor, in, n, org)
		if err != nil {
			return err
		}
		id, username = u.ID, u.Username
		if in.User.ManagedBy != "" {
			outcome = SignUpManaged
		}
		return store.Audit(ctx, tx, actor, AuditSignUp, "user", id, "ok", "")
	})
	if err != nil {
		return SignedUp{}, err
	}
	return SignedUp{ID: id, Username: username, Outcome: outcome}, nil
}

// SignedUp is what SignUp did. Username is set for a created account.
type SignedUp struct {
	ID, Username string
	Outcome      SignUpOutcome
}

// contactHolder is the user holding the sign-up's email or phone, if any.
func (s *Service) contactHolder(ctx context.Context, q store.Queryer, n normalised) (*store.UserRecord, error) {
	typ, value := roster.LookupEmail, n.email
	if value == "" {
		typ, value = roster.LookupPhone, n.phone
	}
	if value == "" {
		return nil, nil // a managed child: no contact
	}
	id, err := store.LookupUserID(ctx, q, typ, s.lookupValue(typ, value))
	if errors.Is(err, store.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return store.GetUser(ctx, q, id)
}

// replacePending gives a pending sign-up the details of a newer request
// for the same address: the last request's password is the one the code
// activates.
func (s *Service) replacePending(ctx context.Context, tx store.Tx, rec *store.UserRecord, in NewUser) error {
	u := &rec.User
	now := roster.Now()
	u.FirstName, u.LastName, u.DOB = in.User.FirstName, in.User.LastName, in.User.DOB
	u.ProfileLocation, u.TncAcceptedVersion, u.TncAcceptedOn = in.User.ProfileLocation, in.User.TncAcceptedVersion, in.User.TncAcceptedOn
	u.PasswordHash, u.UpdatedBy, u.UpdatedDate = in.User.PasswordHash, "self", &now
	if err := store.UpdateUser(ctx, tx, rec); err != nil {
		return err
	}
	return store.Audit(ctx, tx, "self", AuditSignUp, "user", rec.ID, "replaced", "")
}

// SignUpContact names the address a sign-up is verified through.
type SignUpContact struct {
	Email, Phone string
}

// normaliseContact applies the rule book to a contact given alone (verify
// and resend name only the address).
func normaliseContact(c SignUpContact) (typ, value string, err error) {
	in := NewUser{User: roster.User{FirstName: "x", Email: c.Email, Phone: c.Phone}}
	for _, f := range CheckUser(&in, roster.Now()) {
		if f.Field == FieldEmail || f.Field == FieldPhone || f.Field == FieldCountryCode {
			return "", "", roster.Invalid(f)
		}
	}
	if in.User.Email != "" && in.User.Phone != "" {
		return "", "", roster.Invalid(roster.FieldError{Field: FieldPhone, Message: MsgOneContact})
	}
	if in.User.Email != "" {
		return roster.LookupEmail, in.User.Email, nil
	}
	return roster.LookupPhone, in.User.Phone, nil
}

// NormaliseContact returns the lookup type (email or phone) and the
// normalised address of a contact, by the rule book.
func NormaliseContact(c SignUpContact) (typ, value string, err error) { return normaliseContact(c) }

// PendingSignUp reports whether a pending sign-up holds the address
// (typ and value as NormaliseContact returns them).
func (s *Service) PendingSignUp(ctx context.Context, typ, value string) (bool, error) {
	id, err := store.LookupUserID(ctx, s.db, typ, s.lookupValue(typ, value))
	if errors.Is(err, store.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	rec, err := store.GetUser(ctx, s.db, id)
	if err != nil {
		return false, err
	}
	return pendingSignUp(rec), nil
}

// ErrSignUpMismatch is the one answer for a password that is not the
// sign-up's and an address with no pending sign-up: neither says whether
// the address is registered.
var ErrSignUpMismatch = roster.Invalid(roster.FieldError{Field: "code", Message: MsgSignUpMismatch})

// MsgSignUpMismatch is ErrSignUpMismatch's message.
const MsgSignUpMismatch = "this code and password do not match a sign-up waiting for this address; check both, or sign up again"

// CheckPendingPassword checks the password of the pending sign-up holding
// the address; every failure is ErrSignUpMismatch, after the same argon2
// work as a real check.
func (s *Service) CheckPendingPassword(ctx context.Context, typ, value, pw string) (string, error) {
	id, err := store.LookupUserID(ctx, s.db, typ, s.lookupValue(typ, value))
	if err != nil && !errors.Is(err, store.ErrNoRows) {
		return "", err
	}
	var rec *store.UserRecord
	if err == nil {
		if rec, err = store.GetUser(ctx, s.db, id); err != nil {
			return "", err
		}
	}
	if rec == nil || !pendingSignUp(rec) || rec.PasswordHash == "" {
		if poolErr, _ := s.verifyPassword(ctx, pw, dummyHash); poolErr != nil {
			return "", poolErr
		}
		return "", ErrSignUpMismatch
	}
	if poolErr, mismatch := s.verifyPassword(ctx, pw, rec.PasswordHash); poolErr != nil {
		return "", poolErr
	} else if mismatch != nil {
		return "", ErrSignUpMismatch
	}
	return rec.ID, nil
}

// ActivateSignUp makes a pending sign-up an active account whose contact
// (typ: email or phone) is verified. The caller has checked the code.
func (s *Service) ActivateSignUp(ctx context.Context, userID, typ string) error {
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := store.GetUser(ctx, tx, userID)
		if err != nil {
			return storeErr(err, "user")
		}
		if !pendingSignUp(rec) {
			return ErrSignUpMismatch
		}
		now := roster.Now()
		rec.Status, rec.UpdatedBy, rec.UpdatedDate = roster.StatusActive, rec.ID, &now
		if typ == roster.LookupEmail {
			rec.EmailVerified = true
		} else {
			rec.PhoneVerified = true
		}
		if err := store.UpdateUser(ctx, tx, rec); err != nil {
			return err
		}
		return store.Audit(ctx, tx, rec.ID, AuditSignUpVerified, "user", rec.ID, "ok", typ)
	})
}
