package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// UserChange is what one row of an update upload asks of an existing user:
// the profile fields of a UserPatch (nil leaves a field as it is, "" clears
// it), and what the API's patch does not carry: status, the roles of one
// membership and operations on external ids. Password is never part of it:
// an update upload does not set passwords.
type UserChange struct {
	Patch UserPatch
	// Status is "", StatusActive or StatusBlocked (CheckStatus).
	Status string
	// Roles, when set, replace the user's roles in RolesOrgID; empty means
	// PUBLIC.
	Roles       *[]string
	RolesOrgID  string
	ExternalIDs []ExternalIDOp
	// Grade and Subject, when set, replace those lists of the user's
	// framework and keep its other entries (an empty list clears one).
	Grade, Subject *[]string
	// Fields the API's patch does not carry yet, stored in clear.
	Language                           *[]string
	Position, Location, ProfileSummary *string
}

// External id operations: seed 002's ADD, EDIT and REMOVE, and SET, what
// the three single externalId columns mean on an update: add the identity,
// or replace the user's id of that provider and type.
const (
	ExternalIDAdd    = "ADD"
	ExternalIDEdit   = "EDIT"
	ExternalIDRemove = "REMOVE"
	ExternalIDSet    = "SET"
)

// ExternalIDOp is one operation on a user's external ids. Field and Entry
// say where it came from, so its errors name that column (and entry).
type ExternalIDOp struct {
	Op    string
	ID    roster.ExternalIdentity
	Field string
	Entry int // 1-based position in a list; 0 for a single value
}

// Messages of external id operations.
const (
	MsgExtIDExists   = "the user already has an id of this provider and type; use EDIT to change it"
	MsgExtIDMissing  = "the user has no id of this provider and type; use ADD"
	MsgExtIDMismatch = "is not the user's id of this provider and type"
)

// errDryRun rolls a dry run's writes back.
var errDryRun = errors.New("dry run")

// ChangeUserTx applies ch to user id for p inside tx, through the same rule
// book (checkPatch), contact move (changeContact) and policy as UpdateUser,
// and returns the fields it changed, old and new, with personal values
// masked. With dryRun the changes are computed and checked exactly as they
// would be made, then rolled back; answers that a value is taken are
// audited either way, since they tell the caller as much. It is the
// per-row entry point of update uploads.
func (s *Service) ChangeUserTx(ctx context.Context, tx store.Tx, p *roster.Principal, id string, ch UserChange, dryRun bool) ([]roster.FieldChange, error) {
	var changes []roster.FieldChange
	var taken []claim
	var tenant string
	err := store.Savepoint(ctx, tx, "change_user", func() error {
		rec, err := s.userFor(ctx, tx, p, id, authz.UpdateUser)
		if err != nil {
			return err
		}
		tenant = rec.RootOrgID
		changes, taken, err = s.changeUser(ctx, tx, p, rec, ch)
		if err == nil && dryRun {
			return errDryRun
		}
		return err
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	for _, c := range taken {
		holder, lerr := store.LookupUserID(ctx, tx, c.typ, c.value)
		if lerr == nil && holder != id {
			if nerr := s.noteConflict(ctx, tx, p, tenant, c.field, holder); nerr != nil {
				return nil, nerr
			}
		}
	}
	return changes, err
}

// changeUser does ChangeUserTx's work; taken lists the claims that another
// user already holds.
func (s *Service) changeUser(ctx context.Context, tx store.Tx, p *roster.Principal, rec *store.UserRecord, ch UserChange) ([]roster.FieldChange, []claim, error) {
	keys, err := s.writeKey(ctx, tx, rec.ID)
	if err != nil {
		return nil, nil, err
	}
	old := *rec
	oldFramework := rec.Framework
	patch := ch.Patch
	patch.Password = nil
	if ch.Grade != nil || ch.Subject != nil {
		fw := maps.Clone(rec.Framework)
		if fw == nil {
			fw = map[string][]string{}
		}
		for key, v := range map[string]*[]string{"gradeLevel": ch.Grade, "subject": ch.Subject} {
			switch {
			case v == nil:
			case len(*v) == 0:
				delete(fw, key)
			default:
				fw[key] = *v
			}
		}
		patch.Framework = &fw
	}
	errs, err := s.checkPatch(ctx, tx, rec, &patch)
	if err != nil {
		return nil, nil, err
	}
	errs = append(errs, applyClearFields(rec, ch)...)
	var taken []claim
	contact := func(kind string, v *string, field string) error {
		if v == nil || len(errs) > 0 {
			return nil
		}
		fe, err := s.changeContact(ctx, tx, keys, rec, kind, *v)
		if fe != nil {
			errs = append(errs, *fe)
			taken = append(taken, claim{kind, s.lookupValue(kind, *v), field})
		}
		return err
	}
	if err := contact(roster.LookupEmail, patch.Email, FieldEmail); err != nil {
		return nil, nil, err
	}
	if err := contact(roster.LookupPhone, patch.Phone, FieldPhone); err != nil {
		return nil, nil, err
	}
	blocking, ferrs, err := s.changeStatus(ctx, tx, p, rec, ch.Status)
	if err != nil {
		return nil, nil, err
	}
	errs = append(errs, ferrs...)
	roleChange, ferrs, err := s.changeRoles(ctx, tx, p, rec, ch)
	if err != nil {
		return nil, nil, err
	}
	errs = append(errs, ferrs...)
	idChanges, ferrs, idTaken, err := s.changeExternalIDs(ctx, tx, p, keys, rec, ch.ExternalIDs)
	if err != nil {
		return nil, nil, err
	}
	errs, taken = append(errs, ferrs...), append(taken, idTaken...)
	if len(errs) > 0 {
		if len(taken) > 0 {
			return nil, taken, &roster.Error{Code: roster.ECONFLICT, Message: "user already exists", Fields: errs}
		}
		return nil, nil, roster.Invalid(errs...)
	}

	changes := profileChanges(&old, oldFramework, rec)
	if roleChange != nil {
		changes = append(changes, *roleChange)
	}
	changes = append(changes, idChanges...)
	if len(changes) == 0 {
		return nil, nil, nil
	}
	now := roster.Now()
	rec.UpdatedBy, rec.UpdatedDate = p.UserID, &now
	if err := store.UpdateUser(ctx, tx, rec); err != nil {
		return nil, nil, err
	}
	if blocking {
		// As BlockUser: a block ends every session for good.
		if err := store.EndSessions(ctx, tx, rec.ID); err != nil {
			return nil, nil, err
		}
	}
	fields := make([]string, len(changes))
	for i, c := range changes {
		fields[i] = c.Field
	}
	return changes, nil, store.Audit(ctx, tx, p.UserID, "user.update", "user", rec.ID, "ok", "fields="+strings.Join(slices.Compact(fields), ","))
}

// applyClearFields sets the fields of ch that UserPatch lacks, checked by
// the rule book like every other field.
func applyClearFields(rec *store.UserRecord, ch UserChange) []roster.FieldError {
	cand := NewUser{}
	u := &cand.User
	touched := map[string]bool{}
	if ch.Language != nil {
		u.Language, touched[FieldLanguage] = *ch.Language, true
	}
	for _, f := range []struct {
		field string
		dst   *string
		v     *string
	}{{FieldPosition, &u.Position, ch.Position}, {FieldLocation, &u.Location, ch.Location}, {FieldProfileSummary, &u.ProfileSummary, ch.ProfileSummary}} {
		if f.v != nil {
			*f.dst, touched[f.field] = *f.v, true
		}
	}
	if len(touched) == 0 {
		return nil
	}
	var errs []roster.FieldError
	for _, e := range CheckUser(&cand, roster.Now()) {
		if touched[e.Field] {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if ch.Language != nil {
		rec.Language = u.Language
	}
	if ch.Position != nil {
		rec.Position = u.Position
	}
	if ch.Location != nil {
		rec.Location = u.Location
	}
	if ch.ProfileSummary != nil {
		rec.ProfileSummary = u.ProfileSummary
	}
	return nil
}

// changeStatus blocks or unblocks rec as BlockUser and UnblockUser do,
// under the same policy (authz.ManageUser).
func (s *Service) changeStatus(ctx context.Context, q store.Queryer, p *roster.Principal, rec *store.UserRecord, status string) (bool, []roster.FieldError, error) {
	if status == "" || status == statusOf(rec) {
		return false, nil, nil
	}
	u, err := authz.Subject(ctx, q, rec)
	if err != nil {
		return false, nil, err
	}
	var re *roster.Error
	if err := authz.Decide(p, authz.ManageUser, authz.Resource{User: u}); errors.As(err, &re) {
		return false, []roster.FieldError{{Field: FieldStatus, Message: re.Message}}, nil
	} else if err != nil {
		return false, nil, err
	}
	if status == StatusBlocked {
		if p.UserID == rec.ID {
			return false, []roster.FieldError{{Field: FieldStatus, Message: MsgBlockSelf}}, nil
		}
		rec.Status, rec.IsDeleted = roster.StatusInactive, true
		return true, nil, nil
	}
	rec.Status, rec.IsDeleted = roster.StatusActive, false
	return false, nil, nil
}

func statusOf(rec *store.UserRecord) string {
	if rec.Status != roster.StatusActive || rec.IsDeleted {
		return StatusBlocked
	}
	return StatusActive
}

// changeRoles replaces rec's roles in ch.RolesOrgID. p must be allowed to
// grant every role added and every role taken away (authz.GrantRoles), so
// a file cannot do what the membership API would refuse.
func (s *Service) changeRoles(ctx context.Context, tx store.Tx, p *roster.Principal, rec *store.UserRecord, ch UserChange) (*roster.FieldChange, []roster.FieldError, error) {
	if ch.Roles == nil {
		return nil, nil, nil
	}
	cand := NewUser{Roles: *ch.Roles}
	var errs []roster.FieldError
	for _, e := range CheckUser(&cand, roster.Now()) {
		if e.Field == FieldRoles {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, errs, nil
	}
	roles := cand.Roles
	if len(roles) == 0 {
		roles = []string{roster.RolePublic}
	}
	ms, err := store.Memberships(ctx, tx, rec.ID)
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(ms, func(m roster.Membership) bool { return m.OrganisationID == ch.RolesOrgID && !m.IsDeleted })
	if i < 0 {
		return nil, []roster.FieldError{{Field: FieldRoles, Message: MsgNotMember}}, nil
	}
	m := ms[i]
	var moved []string
	for _, r := range roles {
		if !slices.Contains(m.Roles, r) {
			moved = append(moved, r)
		}
	}
	for _, r := range m.Roles {
		if !slices.Contains(roles, r) {
			moved = append(moved, r)
		}
	}
	if len(moved) == 0 {
		return nil, nil, nil
	}
	org, err := store.GetOrg(ctx, tx, ch.RolesOrgID)
	if err != nil {
		return nil, nil, err
	}
	var re *roster.Error
	if err := grantOnCreate(p, org, moved); errors.As(err, &re) {
		if len(re.Fields) > 0 {
			return nil, re.Fields[:1], nil
		}
		return nil, []roster.FieldError{{Field: FieldRoles, Message: re.Message}}, nil
	} else if err != nil {
		return nil, nil, err
	}
	change := &roster.FieldChange{Field: FieldRoles, Old: strings.Join(m.Roles, ", "), New: strings.Join(roles, ", ")}
	now := roster.Now()
	m.Roles, m.UpdatedBy, m.UpdatedDate = roles, p.UserID, &now
	return change, nil, store.UpsertMembership(ctx, tx, m)
}

// changeExternalIDs applies the operations in order. An operation that is
// already true (ADD or EDIT of the id the user has, REMOVE of one they no
// longer have) changes nothing, so a file can be uploaded again.
func (s *Service) changeExternalIDs(ctx context.Context, tx store.Tx, p *roster.Principal, keys *pii.UserKey, rec *store.UserRecord, ops []ExternalIDOp) ([]roster.FieldChange, []roster.FieldError, []claim, error) {
	if len(ops) == 0 {
		return nil, nil, nil, nil
	}
	var errs []roster.FieldError
	fail := func(op ExternalIDOp, msg string) {
		if op.Entry > 0 {
			msg = fmt.Sprintf("entry %d: %s", op.Entry, msg)
		}
		errs = append(errs, roster.FieldError{Field: op.Field, Message: msg})
	}
	cand := NewUser{}
	for _, op := range ops {
		cand.ExternalIDs = append(cand.ExternalIDs, op.ID)
	}
	for _, e := range CheckUser(&cand, roster.Now()) {
		if e.Field == FieldExternalIDs {
			errs = append(errs, roster.FieldError{Field: ops[0].Field, Message: e.Message})
		}
	}
	if len(errs) > 0 {
		return nil, errs, nil, nil
	}
	have, err := store.ExternalIdentities(ctx, tx, rec.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	var changes []roster.FieldChange
	var taken []claim
	now := roster.Now()
	for _, op := range ops {
		x := op.ID
		x.Provider, x.IDType = strings.ToLower(strings.TrimSpace(x.Provider)), strings.ToLower(strings.TrimSpace(x.IDType))
		x.ExternalID = strings.TrimSpace(x.ExternalID)
		hash := s.extIDHash(x.Provider, x.IDType, x.ExternalID)
		i := slices.IndexFunc(have, func(h store.ExternalIdentityRecord) bool { return h.Provider == x.Provider && h.IDType == x.IDType })
		var cur *store.ExternalIdentityRecord
		if i >= 0 {
			cur = &have[i]
		}
		label := x.Provider + "/" + x.IDType + ": "
		switch {
		case cur != nil && cur.Hash == hash && op.Op != ExternalIDRemove,
			cur == nil && op.Op == ExternalIDRemove:
			continue // already so
		case cur != nil && op.Op == ExternalIDAdd:
			fail(op, MsgExtIDExists)
			continue
		case cur == nil && op.Op == ExternalIDEdit:
			fail(op, MsgExtIDMissing)
			continue
		case cur != nil && op.Op == ExternalIDRemove && cur.Hash != hash:
			fail(op, "id "+MsgExtIDMismatch)
			continue
		}
		change := roster.FieldChange{Field: op.Field}
		if cur != nil {
			change.Old = label + maskID(openExtID(keys, cur))
			if err := store.DeleteLookup(ctx, tx, roster.LookupExternalID, cur.Hash, rec.ID); err != nil {
				return nil, nil, nil, err
			}
			if err := store.DeleteExternalIdentity(ctx, tx, rec.ID, cur.Provider, cur.IDType); err != nil {
				return nil, nil, nil, err
			}
			have = slices.Delete(have, i, i+1)
		}
		if op.Op != ExternalIDRemove {
			c := claim{roster.LookupExternalID, hash, FieldExternalID}
			ok, err := store.InsertLookup(ctx, tx, c.typ, c.value, rec.ID)
			if err != nil {
				return nil, nil, nil, err
			}
			if !ok {
				errs = append(errs, roster.FieldError{Field: op.Field, Message: FieldExternalID + " already in use"})
				taken = append(taken, c)
				continue
			}
			r := store.ExternalIdentityRecord{Provider: x.Provider, IDType: x.IDType, Hash: hash,
				Enc:    keys.Seal(x.ExternalID, pii.ExternalID(x.Provider, x.IDType, rec.ID)),
				UserID: rec.ID, CreatedBy: p.UserID, CreatedOn: now}
			if _, err := store.InsertExternalIdentity(ctx, tx, r); err != nil {
				return nil, nil, nil, err
			}
			have = append(have, r)
			change.New = label + maskID(x.ExternalID)
		}
		changes = append(changes, change)
	}
	return changes, errs, taken, nil
}

func openExtID(keys *pii.UserKey, r *store.ExternalIdentityRecord) string {
	v, err := keys.Open(r.Enc, pii.ExternalID(r.Provider, r.IDType, r.UserID))
	if err != nil {
		return ""
	}
	return v
}

// maskID keeps the last two characters of an external id, enough for an
// admin to tell two ids apart in a dry run.
func maskID(id string) string {
	r := []rune(id)
	if len(r) <= 2 {
		return strings.Repeat("*", len(r))
	}
	return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
}

// maskedDOB shows that a date of birth is set, never the date.
func maskedDOB(v string) string {
	if v == "" {
		return ""
	}
	return "**-**-****"
}

// profileChanges lists the profile fields that differ between old and rec,
// masked as the admin may see them in a dry run.
func profileChanges(old *store.UserRecord, oldFramework map[string][]string, rec *store.UserRecord) []roster.FieldChange {
	var out []roster.FieldChange
	add := func(field, a, b string) {
		if a != b {
			out = append(out, roster.FieldChange{Field: field, Old: a, New: b})
		}
	}
	add(FieldFirstName, old.FirstName, rec.FirstName)
	add(FieldLastName, old.LastName, rec.LastName)
	// changeContact reseals a contact only when its value changed; two
	// numbers can share a mask, so the seal, not the mask, tells.
	if !slices.Equal(old.PhoneEnc, rec.PhoneEnc) {
		out = append(out, roster.FieldChange{Field: FieldPhone, Old: old.MaskedPhone, New: rec.MaskedPhone})
	}
	if !slices.Equal(old.EmailEnc, rec.EmailEnc) {
		out = append(out, roster.FieldChange{Field: FieldEmail, Old: old.MaskedEmail, New: rec.MaskedEmail})
	}
	if old.DOB != rec.DOB {
		out = append(out, roster.FieldChange{Field: FieldDOB, Old: maskedDOB(old.DOB), New: maskedDOB(rec.DOB)})
	}
	add(FieldGender, old.Gender, rec.Gender)
	add(FieldGrade, strings.Join(oldFramework["gradeLevel"], ", "), strings.Join(rec.Framework["gradeLevel"], ", "))
	add(FieldSubject, strings.Join(oldFramework["subject"], ", "), strings.Join(rec.Framework["subject"], ", "))
	add(FieldLanguage, strings.Join(old.Language, ", "), strings.Join(rec.Language, ", "))
	add(FieldPosition, old.Position, rec.Position)
	add(FieldLocation, old.Location, rec.Location)
	if old.ProfileSummary != rec.ProfileSummary {
		out = append(out, roster.FieldChange{Field: FieldProfileSummary, Old: shortText(old.ProfileSummary), New: shortText(rec.ProfileSummary)})
	}
	add(FieldStatus, statusOf(old), statusOf(rec))
	return out
}

// UserKey is how an update row names its user: by userName, or by an
// external id with its provider and type.
type UserKey struct {
	Username   string
	ExternalID *roster.ExternalIdentity
}

// MatchUser returns the id of the user key names among the users of
// tenant that p may update, or "" when there is none. A user p may not
// update, whatever the reason (another tenant, another school, deleted),
// is "" exactly like a user who does not exist, so a file cannot tell
// them apart.
func (s *Service) MatchUser(ctx context.Context, q store.Queryer, p *roster.Principal, tenant string, key UserKey) (string, error) {
	var typ, value string
	switch {
	case key.Username != "":
		typ, value = roster.LookupUsername, s.lookupValue(roster.LookupUsername, pii.NormaliseUsername(key.Username))
	case key.ExternalID != nil:
		x := key.ExternalID
		typ, value = roster.LookupExternalID, s.extIDHash(strings.ToLower(strings.TrimSpace(x.Provider)), strings.ToLower(strings.TrimSpace(x.IDType)), strings.TrimSpace(x.ExternalID))
	default:
		return "", nil
	}
	id, err := store.LookupUserID(ctx, q, typ, value)
	if errors.Is(err, store.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	rec, err := store.GetUser(ctx, q, id)
	if errors.Is(err, store.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	if rec.RootOrgID != tenant || rec.DeletedDate != nil {
		return "", nil
	}
	u, err := authz.Subject(ctx, q, rec)
	if err != nil {
		return "", err
	}
	if !authz.Allowed(p, authz.UpdateUser, authz.Resource{User: u}) {
		return "", nil
	}
	return id, nil
}

// shortText keeps a long free text short enough for a diff cell.
func shortText(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
