package registry

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// UserPatch changes some fields of a user; nil means "leave as is" and an
// empty string clears an optional field.
type UserPatch struct {
	FirstName        *string               `json:"firstName,omitempty"`
	LastName         *string               `json:"lastName,omitempty"`
	Email            *string               `json:"email,omitempty"`
	Phone            *string               `json:"phone,omitempty"`
	DOB              *string               `json:"dob,omitempty"`
	Gender           *string               `json:"gender,omitempty"`
	Password         *string               `json:"password,omitempty"`
	ProfileLocation  *[]roster.LocationRef `json:"profileLocation,omitempty" maxItems:"20"`
	ProfileUserTypes *[]roster.UserType    `json:"profileUserTypes,omitempty" maxItems:"20"`
	Framework        *map[string][]string  `json:"framework,omitempty" maxProperties:"20"`
	RecoveryEmail    *string               `json:"recoveryEmail,omitempty"`
	RecoveryPhone    *string               `json:"recoveryPhone,omitempty"`
	CountryCode      *string               `json:"countryCode,omitempty"`
	Language         *[]string             `json:"language,omitempty" maxItems:"20"`
	Position         *string               `json:"position,omitempty"`
	// Roles replaces the roles of the user's current memberships, by
	// organisation id; joining or leaving an organisation is a membership
	// change or a transfer, not an edit.
	Roles *map[string][]string `json:"roles,omitempty" maxProperties:"20" doc:"Organisation id → the user's roles there (PUBLIC when empty), for organisations the user belongs to now"`
	// IfVersion, when set, is the version the caller's copy was read at
	// (the ETag of GET /users/{id}); the edit fails with ESTALE if the
	// user has changed since.
	IfVersion *int64 `json:"-"`
}

// checkPatch runs the rule book over the user as the patch would leave
// them and reports the errors of the fields the patch sets; an old
// record's untouched values do not block an unrelated change. It leaves
// the normalised values in rec and in patch's contact fields.
func (s *Service) checkPatch(ctx context.Context, q store.Queryer, rec *store.UserRecord, patch *UserPatch) ([]roster.FieldError, error) {
	cand := NewUser{User: rec.User}
	u := &cand.User
	u.Email, u.Phone, u.RecoveryEmail, u.RecoveryPhone = "", "", "", ""
	u.PhoneVerified, u.EmailVerified = false, false
	touched := map[string]bool{}
	for _, f := range []struct {
		field string
		dst   *string
		v     *string
	}{
		{FieldFirstName, &u.FirstName, patch.FirstName}, {FieldLastName, &u.LastName, patch.LastName},
		{FieldDOB, &u.DOB, patch.DOB}, {FieldGender, &u.Gender, patch.Gender},
		{FieldEmail, &u.Email, patch.Email}, {FieldPhone, &u.Phone, patch.Phone},
		{FieldCountryCode, &u.CountryCode, patch.CountryCode},
		{FieldRecoveryEmail, &u.RecoveryEmail, patch.RecoveryEmail}, {FieldRecoveryPhone, &u.RecoveryPhone, patch.RecoveryPhone},
		{FieldPassword, &cand.Password, patch.Password}, {FieldPosition, &u.Position, patch.Position},
	} {
		if f.v != nil {
			*f.dst, touched[f.field] = *f.v, true
		}
	}
	if patch.CountryCode == nil {
		u.CountryCode = "" // the stored one came from the old number
	}
	if patch.ProfileLocation != nil {
		u.ProfileLocation, touched[FieldProfileLocation] = slices.Clone(*patch.ProfileLocation), true
	}
	if patch.ProfileUserTypes != nil {
		u.ProfileUserTypes, touched[FieldProfileUserType] = *patch.ProfileUserTypes, true
	}
	if patch.Language != nil {
		u.Language, touched[FieldLanguage] = slices.Clone(*patch.Language), true
	}
	if patch.Framework != nil {
		u.Framework = maps.Clone(*patch.Framework)
		touched[FieldFramework], touched[FieldGrade], touched[FieldSubject] = true, true, true
	}
	var errs []roster.FieldError
	for _, e := range CheckUser(&cand, roster.Now()) {
		// Whether another contact remains is not known without decrypting;
		// clearing one of email and phone stays allowed.
		if touched[e.Field] && e.Message != MsgEmailOrPhone {
			errs = append(errs, e)
		}
	}
	if patch.Password != nil && *patch.Password == "" {
		errs = append(errs, roster.FieldError{Field: FieldPassword, Message: MsgPasswordLength})
	}
	if patch.ProfileLocation != nil {
		lerrs, err := CheckProfileLocation(ctx, q, u.ProfileLocation)
		if err != nil {
			return nil, err
		}
		errs = append(errs, lerrs...)
	}
	if len(errs) > 0 {
		return errs, nil
	}
	rec.FirstName, rec.LastName, rec.DOB, rec.Gender = u.FirstName, u.LastName, u.DOB, u.Gender
	rec.ProfileLocation, rec.ProfileUserTypes, rec.Framework = u.ProfileLocation, u.ProfileUserTypes, u.Framework
	rec.Language, rec.Position = u.Language, u.Position
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{patch.Email, u.Email}, {patch.Phone, u.Phone}, {patch.RecoveryEmail, u.RecoveryEmail}, {patch.RecoveryPhone, u.RecoveryPhone},
	} {
		if f.dst != nil {
			*f.dst = f.v
		}
	}
	return nil, nil
}

// UpdateUser applies patch in a transaction of its own (UpdateUserTx
// says what it does) and returns the user as p now sees them.
func (s *Service) UpdateUser(ctx context.Context, p *roster.Principal, id string, patch UserPatch) (*UserView, error) {
	var contacts NewUser // the unique values the patch claims
	if patch.Email != nil || patch.Phone != nil {
		if err := s.ConflictBudget(ctx, s.db, p); err != nil {
			return nil, err
		}
		if patch.Email != nil {
			contacts.User.Email = *patch.Email
		}
		if patch.Phone != nil {
			contacts.User.Phone = *patch.Phone
		}
	}
	var res Edit
	err := unlessRaced(patch.IfVersion == nil, func() error {
		return store.InTx(ctx, s.db, func(tx store.Tx) error {
			var err error
			res, err = s.UpdateUserTx(ctx, tx, p, id, patch)
			return err
		})
	})
	if inUse(err) {
		if aerr := s.auditConflicts(ctx, p, res.Tenant, id, contacts); aerr != nil {
			return nil, aerr
		}
	}
	if err != nil {
		return nil, err
	}
	return s.GetUser(ctx, p, id)
}

// unlessRaced runs a write again when another write of the same user
// committed between its read and its own (store.ErrStale), so a caller who
// gave no If-Match gets "last write wins" without undoing the other's
// change. With a precondition (retry false) the stale answer stands.
func unlessRaced(retry bool, write func() error) error {
	err := write()
	for i := 0; retry && i < 3 && errors.Is(err, store.ErrStale); i++ {
		err = write()
	}
	return err
}

// Field names of a password change.
const (
	FieldCurrentPassword = "currentPassword"
	FieldNewPassword     = "newPassword"
)

// ErrWrongPassword is ChangeOwnPassword's answer to a wrong current
// password, which sign-in throttling counts as a failed guess.
var ErrWrongPassword = roster.Invalid(roster.FieldError{Field: FieldCurrentPassword, Message: "is not your current password"})

// ChangeOwnPassword sets the caller's password once they have proved they
// know the current one, and ends every session and token issued before;
// the caller gets a fresh token from the authenticator (auth.Reissue).
func (s *Service) ChangeOwnPassword(ctx context.Context, p *roster.Principal, current, next string) error {
	var errs []roster.FieldError
	if current == "" {
		errs = append(errs, roster.FieldError{Field: FieldCurrentPassword, Message: "is required"})
	}
	if msg := CheckPassword(next); msg != "" {
		errs = append(errs, roster.FieldError{Field: FieldNewPassword, Message: msg})
	}
	if len(errs) > 0 {
		return roster.Invalid(errs...)
	}
	rec, err := store.GetUser(ctx, s.db, p.UserID)
	if err != nil {
		return storeErr(err, "user")
	}
	if rec.PasswordHash == "" {
		return ErrWrongPassword
	}
	if poolErr, mismatch := s.verifyPassword(ctx, current, rec.PasswordHash); poolErr != nil {
		return poolErr
	} else if mismatch != nil {
		return ErrWrongPassword
	}
	// Hashed outside the transaction: argon2 takes long enough that holding
	// a write lock meanwhile would stall other writers on SQLite.
	hash, err := s.hashPassword(ctx, password.Interactive, next)
	if err != nil {
		return err
	}
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := store.GetUser(ctx, tx, p.UserID)
		if err != nil {
			return storeErr(err, "user")
		}
		now := roster.Now()
		rec.PasswordHash, rec.UpdatedBy, rec.UpdatedDate = hash, p.UserID, &now
		rec.PasswordMustChange = false
		if err := store.UpdateUser(ctx, tx, rec); err != nil {
			return err
		}
		return endSessions(ctx, tx, p.UserID, rec.ID, "self")
	})
}

// endSessions records a password change and ends the sessions and tokens
// issued before it, as a block does: whoever had the old password or a
// token got with it is out.
func endSessions(ctx context.Context, tx store.Tx, actorID, userID, how string) error {
	if err := store.EndSessions(ctx, tx, userID); err != nil {
		return err
	}
	return store.Audit(ctx, tx, actorID, "user.password", "user", userID, "ok", how)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// changeContact replaces the email or phone of rec with value (normalised
// by the rule book, "" to clear it), keeping the old value
// sealed as prevUsed* and moving the lookup row. A value the caller got
// wrong comes back as a field error; a database failure as an error.
func (s *Service) changeContact(ctx context.Context, tx store.Tx, keys *pii.UserKey, rec *store.UserRecord, kind, value string) (*roster.FieldError, error) {
	field := FieldEmail
	oldEnc, prevEnc, masked := &rec.EmailEnc, &rec.PrevUsedEmailEnc, &rec.MaskedEmail
	mask := pii.MaskEmail
	if kind == roster.LookupPhone {
		field = FieldPhone
		oldEnc, prevEnc, masked = &rec.PhoneEnc, &rec.PrevUsedPhoneEnc, &rec.MaskedPhone
		mask = pii.MaskPhone
	}
	old, err := keys.Open(*oldEnc, pii.UserField(rec.ID, field))
	if err != nil {
		return nil, err
	}
	if old == value {
		return nil, nil
	}
	if value != "" {
		ok, err := store.InsertLookup(ctx, tx, kind, s.lookupValue(kind, value), rec.ID)
		if err != nil {
			return nil, err
		} else if !ok {
			return &roster.FieldError{Field: field, Message: field + " already in use"}, nil
		}
	}
	if old != "" {
		if err := store.DeleteLookup(ctx, tx, kind, s.lookupValue(kind, old), rec.ID); err != nil {
			return nil, err
		}
		*prevEnc = keys.Seal(old, pii.UserField(rec.ID, pii.PrevUsed(field)))
	}
	*oldEnc = keys.Seal(value, pii.UserField(rec.ID, field))
	// A new address or number has not been proved to be the user's.
	if kind == roster.LookupPhone {
		rec.PhoneVerified = false
	} else {
		rec.EmailVerified = false
	}
	*masked = ""
	if value != "" {
		*masked = mask(value)
	}
	if kind == roster.LookupPhone {
		rec.CountryCode = pii.CountryCode(value)
	}
	return nil, nil
}

// BlockUser does what the seed's block does: status 0 (inactive) and
// isDeleted true. The user keeps their email, phone and username, cannot
// log in, and existing sessions stop at the next request.
func (s *Service) BlockUser(ctx context.Context, p *roster.Principal, id string) error {
	return s.setStatus(ctx, p, id, "block", func(_ store.Tx, rec *store.UserRecord) error {
		if p.UserID == rec.ID {
			return roster.Errorf(roster.EINVALID, "you cannot block yourself")
		}
		rec.Status, rec.IsDeleted = roster.StatusInactive, true
		return nil
	})
}

// UnblockUser reverses BlockUser. Deleted users cannot be unblocked.
func (s *Service) UnblockUser(ctx context.Context, p *roster.Principal, id string) error {
	return s.setStatus(ctx, p, id, "unblock", func(_ store.Tx, rec *store.UserRecord) error {
		rec.Status, rec.IsDeleted = roster.StatusActive, false
		return nil
	})
}

// DeleteUser soft-deletes a user: the row stays (reports and audit keep
// their references) but the user is inactive for good, their email, phone,
// username and external ids are released for reuse, and the contact
// details are kept only as sealed prevUsed* values.
func (s *Service) DeleteUser(ctx context.Context, p *roster.Principal, id string) error {
	return s.setStatus(ctx, p, id, "delete", func(tx store.Tx, rec *store.UserRecord) error {
		keys, err := s.writeKey(ctx, tx, rec.ID)
		if err != nil {
			return err
		}
		now := roster.Now()
		rec.Status, rec.IsDeleted, rec.DeletedDate = roster.StatusInactive, true, &now
		for _, c := range []struct {
			enc, prev *[]byte
			masked    *string
			field     string
		}{{&rec.EmailEnc, &rec.PrevUsedEmailEnc, &rec.MaskedEmail, "email"}, {&rec.PhoneEnc, &rec.PrevUsedPhoneEnc, &rec.MaskedPhone, "phone"}} {
			if len(*c.enc) == 0 {
				continue
			}
			v, err := keys.Open(*c.enc, pii.UserField(rec.ID, c.field))
			if err != nil {
				return err
			}
			*c.prev, *c.enc, *c.masked = keys.Seal(v, pii.UserField(rec.ID, pii.PrevUsed(c.field))), nil, ""
		}
		return nil
	})
}

func (s *Service) setStatus(ctx context.Context, p *roster.Principal, id, action string, change func(store.Tx, *store.UserRecord) error) error {
	return unlessRaced(true, func() error { return s.setStatusTx(ctx, p, id, action, change) })
}

func (s *Service) setStatusTx(ctx context.Context, p *roster.Principal, id, action string, change func(store.Tx, *store.UserRecord) error) error {
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := s.userFor(ctx, tx, p, id, authz.ManageUser)
		if err != nil {
			return err
		}
		if err := change(tx, rec); err != nil {
			return err
		}
		if rec.DeletedDate != nil {
			if err := store.DeleteLookups(ctx, tx, rec.ID); err != nil {
				return err
			}
			if err := store.DeleteExternalIdentities(ctx, tx, rec.ID); err != nil {
				return err
			}
			if err := s.leaveAll(ctx, tx, rec.ID, p.UserID); err != nil {
				return err
			}
		}
		now := roster.Now()
		rec.UpdatedBy, rec.UpdatedDate = p.UserID, &now
		if err := store.UpdateUser(ctx, tx, rec); err != nil {
			return err
		}
		if rec.IsDeleted {
			// A block or delete ends every session for good: unblocking
			// must not bring back tokens that may have been the reason for
			// the block.
			if err := store.EndSessions(ctx, tx, rec.ID); err != nil {
				return err
			}
		}
		return store.Audit(ctx, tx, p.UserID, "user."+action, "user", rec.ID, "ok", "")
	})
}

func (s *Service) leaveAll(ctx context.Context, tx store.Tx, userID, actorID string) error {
	ms, err := store.Memberships(ctx, tx, userID)
	if err != nil {
		return err
	}
	now := roster.Now()
	for _, m := range ms {
		if m.IsDeleted {
			continue
		}
		m.IsDeleted, m.OrgLeftDate, m.UpdatedBy, m.UpdatedDate = true, &now, actorID, &now
		if err := store.UpsertMembership(ctx, tx, m); err != nil {
			return err
		}
		if err := store.Audit(ctx, tx, actorID, "membership.remove", "user", userID, "ok", "org="+m.OrganisationID); err != nil {
			return err
		}
	}
	return nil
}
