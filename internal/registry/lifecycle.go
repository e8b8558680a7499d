package registry

import (
	"context"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
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
}

// UpdateUser applies patch; the user themselves or an admin who manages
// them (authz.UpdateUser) may do it. Changing email or phone moves the old value to prevUsed* and
// moves the lookup, failing with ECONFLICT if the new value is taken.
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
	tenant := ""
	err := store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := s.userFor(ctx, tx, p, id, authz.UpdateUser)
		if err != nil {
			return err
		}
		tenant = rec.RootOrgID
		var errs []roster.FieldError
		if patch.FirstName != nil {
			rec.FirstName = *patch.FirstName
			if msg := CheckName(rec.FirstName); rec.FirstName == "" || msg != "" {
				errs = append(errs, roster.FieldError{Field: FieldFirstName, Message: orDefault(msg, "is required")})
			}
		}
		if patch.LastName != nil {
			rec.LastName = *patch.LastName
			if msg := CheckName(rec.LastName); msg != "" {
				errs = append(errs, roster.FieldError{Field: FieldLastName, Message: msg})
			}
		}
		if patch.DOB != nil {
			if *patch.DOB == "" {
				rec.DOB = ""
			} else if dob, msg := NormaliseDOB(*patch.DOB); msg != "" {
				errs = append(errs, roster.FieldError{Field: FieldDOB, Message: msg})
			} else {
				rec.DOB = dob
			}
		}
		if patch.Gender != nil {
			rec.Gender = *patch.Gender
		}
		if patch.ProfileLocation != nil {
			rec.ProfileLocation = *patch.ProfileLocation
		}
		if patch.ProfileUserTypes != nil {
			rec.ProfileUserTypes = *patch.ProfileUserTypes
		}
		if patch.Framework != nil {
			rec.Framework = *patch.Framework
		}
		if patch.Password != nil {
			if msg := CheckPassword(*patch.Password); msg != "" {
				errs = append(errs, roster.FieldError{Field: FieldPassword, Message: msg})
			} else {
				rec.PasswordHash = s.HashPassword(*patch.Password)
			}
		}
		if patch.RecoveryEmail != nil {
			if v, msg := normaliseOptional(*patch.RecoveryEmail, pii.NormaliseEmail); msg != "" {
				errs = append(errs, roster.FieldError{Field: FieldRecoveryEmail, Message: msg})
			} else {
				rec.RecoveryEmailEnc = s.keys.Seal(v, PIIContext(rec.ID, "recovery_email"))
			}
		}
		if patch.RecoveryPhone != nil {
			if v, msg := normaliseOptional(*patch.RecoveryPhone, phoneIN); msg != "" {
				errs = append(errs, roster.FieldError{Field: FieldRecoveryPhone, Message: msg})
			} else {
				rec.RecoveryPhoneEnc = s.keys.Seal(v, PIIContext(rec.ID, "recovery_phone"))
			}
		}
		if patch.Email != nil {
			if fe, err := s.changeContact(ctx, tx, rec, roster.LookupEmail, *patch.Email); err != nil {
				return err
			} else if fe != nil {
				errs = append(errs, *fe)
			}
		}
		if patch.Phone != nil {
			if fe, err := s.changeContact(ctx, tx, rec, roster.LookupPhone, *patch.Phone); err != nil {
				return err
			} else if fe != nil {
				errs = append(errs, *fe)
			}
		}
		if len(errs) > 0 {
			for _, e := range errs {
				if e.Message == e.Field+" already in use" {
					return &roster.Error{Code: roster.ECONFLICT, Message: "user already exists", Fields: errs}
				}
			}
			return roster.Invalid(errs...)
		}
		now := roster.Now()
		rec.UpdatedBy, rec.UpdatedDate = p.UserID, &now
		return store.UpdateUser(ctx, tx, rec)
	})
	if inUse(err) {
		if aerr := s.auditConflicts(ctx, p, tenant, id, contacts); aerr != nil {
			return nil, aerr
		}
	}
	if err != nil {
		return nil, err
	}
	return s.GetUser(ctx, p, id)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// changeContact replaces the email or phone of rec, keeping the old value
// sealed as prevUsed* and moving the lookup row. A value the caller got
// wrong comes back as a field error; a database failure as an error.
func (s *Service) changeContact(ctx context.Context, tx store.Tx, rec *store.UserRecord, kind, raw string) (*roster.FieldError, error) {
	field := FieldEmail
	oldEnc, prevEnc, masked := &rec.EmailEnc, &rec.PrevUsedEmailEnc, &rec.MaskedEmail
	normalise := pii.NormaliseEmail
	mask := pii.MaskEmail
	if kind == roster.LookupPhone {
		field = FieldPhone
		oldEnc, prevEnc, masked = &rec.PhoneEnc, &rec.PrevUsedPhoneEnc, &rec.MaskedPhone
		normalise = phoneIN
		mask = pii.MaskPhone
	}
	value, msg := normaliseOptional(raw, normalise)
	if msg != "" {
		return &roster.FieldError{Field: field, Message: msg}, nil
	}
	old, err := s.keys.Open(*oldEnc, PIIContext(rec.ID, field))
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
		*prevEnc = s.keys.Seal(old, PIIContext(rec.ID, "prev_used_"+field))
	}
	*oldEnc = s.keys.Seal(value, PIIContext(rec.ID, field))
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
	return s.setStatus(ctx, p, id, "block", func(rec *store.UserRecord) error {
		if p.UserID == rec.ID {
			return roster.Errorf(roster.EINVALID, "you cannot block yourself")
		}
		rec.Status, rec.IsDeleted = roster.StatusInactive, true
		return nil
	})
}

// UnblockUser reverses BlockUser. Deleted users cannot be unblocked.
func (s *Service) UnblockUser(ctx context.Context, p *roster.Principal, id string) error {
	return s.setStatus(ctx, p, id, "unblock", func(rec *store.UserRecord) error {
		rec.Status, rec.IsDeleted = roster.StatusActive, false
		return nil
	})
}

// DeleteUser soft-deletes a user: the row stays (reports and audit keep
// their references) but the user is inactive for good, their email, phone,
// username and external ids are released for reuse, and the contact
// details are kept only as sealed prevUsed* values.
func (s *Service) DeleteUser(ctx context.Context, p *roster.Principal, id string) error {
	return s.setStatus(ctx, p, id, "delete", func(rec *store.UserRecord) error {
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
			v, err := s.keys.Open(*c.enc, PIIContext(rec.ID, c.field))
			if err != nil {
				return err
			}
			*c.prev, *c.enc, *c.masked = s.keys.Seal(v, PIIContext(rec.ID, "prev_used_"+c.field)), nil, ""
		}
		return nil
	})
}

func (s *Service) setStatus(ctx context.Context, p *roster.Principal, id, action string, change func(*store.UserRecord) error) error {
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := s.userFor(ctx, tx, p, id, authz.ManageUser)
		if err != nil {
			return err
		}
		if err := change(rec); err != nil {
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
	}
	return nil
}

func phoneIN(v string) (string, error) { return pii.NormalisePhone(v, "") }

// normaliseOptional normalises v, keeping "" (which clears the field).
func normaliseOptional(v string, normalise func(string) (string, error)) (string, string) {
	if v == "" {
		return "", ""
	}
	out, err := normalise(v)
	if err != nil {
		return "", err.Error()
	}
	return out, ""
}
