package registry

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// Edit is what UpdateUserTx did: the user's tenant (for the conflict
// audit) and the names of the fields that changed, never their values.
type Edit struct {
	Tenant  string
	Changed []string
}

// Messages of edits and transfers a caller can cause.
const (
	MsgAlreadyMember  = "the user already belongs to this organisation"
	MsgSameOrg        = "must differ from the organisation the user leaves"
	MsgOtherTenantOrg = "belongs to another tenant than the user"
	MsgOwnPassword    = "change your own password with POST /api/v1/me/password, which asks for the current one"
)

// UpdateUserTx applies patch to user id inside tx: the one edit path of
// the API, the console and the CSV update, so every change is checked by
// the rule book (checkPatch) and the policy the same way. The user
// themselves or an admin who manages them (authz.UpdateUser) may change
// fields; roles need an admin who manages the user and may grant them in
// the organisation (authz.ManageUser, authz.GrantRoles). Changing email
// or phone moves the lookup row, keeps the old value sealed as prevUsed*,
// resets the verified flag and fails with ECONFLICT when the new value is
// taken. With patch.IfVersion set, an edit of a user changed since fails
// with ESTALE. An edit that changes nothing writes nothing.
func (s *Service) UpdateUserTx(ctx context.Context, tx store.Tx, p *roster.Principal, id string, patch UserPatch) (Edit, error) {
	rec, err := s.userFor(ctx, tx, p, id, authz.UpdateUser)
	if err != nil {
		return Edit{}, err
	}
	res := Edit{Tenant: rec.RootOrgID}
	if patch.IfVersion != nil && *patch.IfVersion != rec.Version {
		return res, store.ErrStale
	}
	var memberships []roster.Membership
	if patch.Roles != nil {
		if memberships, err = s.mayChangeRoles(ctx, tx, p, rec); err != nil {
			return res, err
		}
	}
	before := rec.User
	errs, err := s.checkPatch(ctx, tx, rec, &patch)
	if err != nil {
		return res, err
	}
	if patch.Password != nil && p.UserID == rec.ID {
		// Whoever holds a session could otherwise take the account
		// over for good.
		errs = append(errs, roster.FieldError{Field: FieldPassword, Message: MsgOwnPassword})
	}
	var roleChanges []roster.Membership
	if patch.Roles != nil {
		var rerrs []roster.FieldError
		if roleChanges, rerrs, err = rolesPatch(p, rec.RootOrgID, memberships, *patch.Roles); err != nil {
			return res, err
		}
		errs = append(errs, rerrs...)
	}
	if len(errs) == 0 && patch.Password != nil {
		if rec.PasswordHash, err = s.hashPassword(ctx, password.Interactive, *patch.Password); err != nil {
			return res, err
		}
		// The administrator knows it: the user chooses their own next.
		rec.PasswordMustChange = !p.System
	}
	keys, err := s.writeKey(ctx, tx, rec.ID)
	if err != nil {
		return res, err
	}
	changed := changedFields(&before, &rec.User)
	for _, f := range []struct {
		field string
		v     *string
		dst   *[]byte
		pf    string
	}{
		{FieldRecoveryEmail, patch.RecoveryEmail, &rec.RecoveryEmailEnc, pii.FieldRecoveryEmail},
		{FieldRecoveryPhone, patch.RecoveryPhone, &rec.RecoveryPhoneEnc, pii.FieldRecoveryPhone},
	} {
		if f.v == nil {
			continue
		}
		old, err := keys.Open(*f.dst, pii.UserField(rec.ID, f.pf))
		if err != nil {
			return res, err
		}
		if old != *f.v {
			*f.dst = keys.Seal(*f.v, pii.UserField(rec.ID, f.pf))
			changed = append(changed, f.field)
		}
	}
	for _, c := range []struct {
		field, kind string
		v           *string
		enc         *[]byte
	}{{FieldEmail, roster.LookupEmail, patch.Email, &rec.EmailEnc}, {FieldPhone, roster.LookupPhone, patch.Phone, &rec.PhoneEnc}} {
		if c.v == nil || len(errs) > 0 {
			continue
		}
		old := *c.enc
		if fe, err := s.changeContact(ctx, tx, keys, rec, c.kind, *c.v); err != nil {
			return res, err
		} else if fe != nil {
			errs = append(errs, *fe)
		} else if !bytes.Equal(old, *c.enc) {
			changed = append(changed, c.field)
		}
	}
	if len(errs) > 0 {
		for _, e := range errs {
			if e.Message == e.Field+" already in use" {
				return res, &roster.Error{Code: roster.ECONFLICT, Message: "user already exists", Fields: errs}
			}
		}
		return res, roster.Invalid(errs...)
	}
	if patch.Password != nil {
		changed = append(changed, FieldPassword)
	}
	if len(roleChanges) > 0 {
		changed = append(changed, FieldRoles)
	}
	if len(changed) == 0 {
		return res, nil
	}
	res.Changed = changed
	now := roster.Now()
	for _, m := range roleChanges {
		m.UpdatedBy, m.UpdatedDate = p.UserID, &now
		if err := store.UpsertMembership(ctx, tx, m); err != nil {
			return res, err
		}
	}
	rec.UpdatedBy, rec.UpdatedDate = p.UserID, &now
	if err := store.UpdateUser(ctx, tx, rec); err != nil {
		return res, err
	}
	if err := store.Audit(ctx, tx, p.UserID, "user.update", "user", rec.ID, "ok", "fields="+strings.Join(changed, ",")); err != nil {
		return res, err
	}
	if patch.Password != nil {
		return res, endSessions(ctx, tx, p.UserID, rec.ID, "reset")
	}
	return res, nil
}

// changedFields names the clear-text fields that differ between a user
// before and after an edit, in the rule book's names.
func changedFields(a, b *roster.User) []string {
	var out []string
	for _, f := range []struct {
		field string
		same  bool
	}{
		{FieldFirstName, a.FirstName == b.FirstName}, {FieldLastName, a.LastName == b.LastName},
		{FieldDOB, a.DOB == b.DOB}, {FieldGender, a.Gender == b.Gender},
		{FieldLanguage, slices.Equal(a.Language, b.Language)}, {FieldPosition, a.Position == b.Position},
		{FieldProfileLocation, slices.Equal(a.ProfileLocation, b.ProfileLocation)},
		{FieldProfileUserType, slices.Equal(a.ProfileUserTypes, b.ProfileUserTypes)},
		{FieldFramework, maps.EqualFunc(a.Framework, b.Framework, slices.Equal)},
		{FieldCountryCode, a.CountryCode == b.CountryCode},
	} {
		if !f.same {
			out = append(out, f.field)
		}
	}
	return out
}

// mayChangeRoles is the policy's answer to a role edit: only an admin who
// manages the user (never the user on their own say) changes roles. It
// returns the user's memberships.
func (s *Service) mayChangeRoles(ctx context.Context, q store.Queryer, p *roster.Principal, rec *store.UserRecord) ([]roster.Membership, error) {
	subj, err := authz.Subject(ctx, q, rec)
	if err != nil {
		return nil, err
	}
	if err := authz.Decide(p, authz.ManageUser, authz.Resource{User: subj}); err != nil {
		return nil, err
	}
	return subj.Memberships, nil
}

// rolesPatch turns a roles edit into the memberships to write, asking the
// one grant rule for each organisation whose roles change. Field errors
// are the caller's mistakes; a refusal of the policy is the error.
func rolesPatch(p *roster.Principal, tenant string, current []roster.Membership, want map[string][]string) ([]roster.Membership, []roster.FieldError, error) {
	var out []roster.Membership
	var errs []roster.FieldError
	for _, orgID := range slices.Sorted(maps.Keys(want)) {
		i := slices.IndexFunc(current, func(m roster.Membership) bool { return m.OrganisationID == orgID && !m.IsDeleted })
		if i < 0 {
			errs = append(errs, roster.FieldError{Field: FieldRoles, Message: MsgNotMember, Value: boundedValue(orgID)})
			continue
		}
		roles, rerrs := CheckRoles(want[orgID])
		if len(rerrs) > 0 {
			errs = append(errs, rerrs...)
			continue
		}
		m := current[i]
		if slices.Equal(slices.Sorted(slices.Values(roles)), slices.Sorted(slices.Values(m.Roles))) {
			continue
		}
		if err := authz.Decide(p, authz.GrantRoles, authz.Resource{Tenant: tenant, Org: orgID, Roles: roles}); err != nil {
			return nil, nil, err
		}
		m.Roles = roles
		out = append(out, m)
	}
	return out, errs, nil
}

// boundedValue keeps an echoed id short: ids are not personal, but a
// caller chooses them.
func boundedValue(v string) string {
	if len(v) > 64 {
		return v[:64]
	}
	return v
}

// Transfer moves a user from one organisation of their tenant to another.
type Transfer struct {
	From  string   `json:"from" maxLength:"64" doc:"Organisation the user leaves (a current membership)"`
	To    string   `json:"to" maxLength:"64" doc:"Organisation the user joins, in the same tenant"`
	Roles []string `json:"roles,omitempty" maxItems:"20" doc:"Roles in the new organisation; PUBLIC when empty"`
	// IfVersion: as UserPatch.IfVersion.
	IfVersion *int64 `json:"-"`
}

// A transfer's fields are FieldFrom and FieldTo (directory.go), the same
// names as the audit log's range.

// TransferUser moves user id as t says in one transaction: the old
// membership ends (orgLeftDate set, the row kept for history and
// reports) and the new one opens with its roles. The admin must manage
// the user (authz.ManageUser: a school admin manages only users all of
// whose organisations they administer) and may grant the roles in the
// new organisation (authz.GrantRoles: an admin of school X alone cannot
// move a teacher into school Y). Organisations of another tenant are
// refused.
func (s *Service) TransferUser(ctx context.Context, p *roster.Principal, id string, t Transfer) (*UserView, error) {
	err := unlessRaced(t.IfVersion == nil, func() error {
		return store.InTx(ctx, s.db, func(tx store.Tx) error { return s.TransferUserTx(ctx, tx, p, id, t) })
	})
	if err != nil {
		return nil, err
	}
	return s.GetUser(ctx, p, id)
}

// TransferUserTx is TransferUser inside the caller's transaction.
func (s *Service) TransferUserTx(ctx context.Context, tx store.Tx, p *roster.Principal, id string, t Transfer) error {
	rec, err := s.userFor(ctx, tx, p, id, authz.ManageUser)
	if err != nil {
		return err
	}
	if t.IfVersion != nil && *t.IfVersion != rec.Version {
		return store.ErrStale
	}
	subj, err := authz.Subject(ctx, tx, rec)
	if err != nil {
		return err
	}
	var errs []roster.FieldError
	roles, rerrs := CheckRoles(t.Roles)
	errs = append(errs, rerrs...)
	from := slices.IndexFunc(subj.Memberships, func(m roster.Membership) bool { return m.OrganisationID == t.From && !m.IsDeleted })
	if from < 0 {
		errs = append(errs, roster.FieldError{Field: FieldFrom, Message: MsgNotMember})
	}
	var to *roster.Organisation
	switch {
	case t.To == t.From:
		errs = append(errs, roster.FieldError{Field: FieldTo, Message: MsgSameOrg})
	case slices.ContainsFunc(subj.Memberships, func(m roster.Membership) bool { return m.OrganisationID == t.To && !m.IsDeleted }):
		errs = append(errs, roster.FieldError{Field: FieldTo, Message: MsgAlreadyMember})
	default:
		if to, err = store.GetOrg(ctx, tx, t.To); err != nil {
			if err := storeErr(err, "organisation"); roster.ErrorCode(err) != roster.ENOTFOUND {
				return err
			}
			errs = append(errs, roster.FieldError{Field: FieldTo, Message: "unknown organisation"})
		} else if to.RootOrgID != rec.RootOrgID {
			// Said as for an unknown one: another tenant's organisations
			// are none of this tenant's business.
			errs = append(errs, roster.FieldError{Field: FieldTo, Message: "unknown organisation"})
			to = nil
		}
	}
	if to != nil {
		if err := authz.Decide(p, authz.GrantRoles, authz.Resource{Tenant: to.RootOrgID, Org: to.ID, Roles: roles}); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return roster.Invalid(errs...)
	}
	now := roster.Now()
	old := subj.Memberships[from]
	old.IsDeleted, old.OrgLeftDate, old.UpdatedBy, old.UpdatedDate = true, &now, p.UserID, &now
	// The user's tie to the tenant is unchanged by a move, so the new
	// membership keeps how the old one came about.
	joined := roster.Membership{UserID: rec.ID, OrganisationID: to.ID, AssociationType: old.AssociationType, Roles: roles,
		IsApproved: true, ApprovalDate: &now, OrgJoinDate: now, UpdatedBy: p.UserID, UpdatedDate: &now}
	for _, m := range []roster.Membership{old, joined} {
		if err := store.UpsertMembership(ctx, tx, m); err != nil {
			return err
		}
	}
	rec.UpdatedBy, rec.UpdatedDate = p.UserID, &now
	if err := store.UpdateUser(ctx, tx, rec); err != nil {
		return err
	}
	return store.Audit(ctx, tx, p.UserID, "user.transfer", "user", rec.ID, "ok",
		"from="+old.OrganisationID+" to="+to.ID+" roles="+strings.Join(roles, ","))
}

// Stint is one membership of a user's history: where, with which roles,
// from when to when (no left date while it lasts).
type Stint struct {
	OrganisationID string     `json:"organisationId"`
	OrgName        string     `json:"orgName"`
	IsTenant       bool       `json:"isTenant"`
	Roles          []string   `json:"roles"`
	OrgJoinDate    time.Time  `json:"orgJoinDate"`
	OrgLeftDate    *time.Time `json:"orgLeftDate,omitempty"`
	Current        bool       `json:"current"`
}

// History lists every organisation the user has belonged to, oldest
// first, to whoever may read the user (authz.ReadUser).
func (s *Service) History(ctx context.Context, p *roster.Principal, id string) ([]Stint, error) {
	rec, err := store.GetUser(ctx, s.db, id)
	if err != nil {
		return nil, storeErr(err, "user")
	}
	subj, err := authz.Subject(ctx, s.db, rec)
	if err != nil {
		return nil, err
	}
	if err := authz.Decide(p, authz.ReadUser, authz.Resource{User: subj}); err != nil {
		return nil, err
	}
	out := make([]Stint, 0, len(subj.Memberships))
	for _, m := range subj.Memberships {
		org, err := store.GetOrg(ctx, s.db, m.OrganisationID)
		if err != nil {
			return nil, err
		}
		out = append(out, Stint{OrganisationID: m.OrganisationID, OrgName: org.Name, IsTenant: org.IsTenant, Roles: m.Roles,
			OrgJoinDate: m.OrgJoinDate, OrgLeftDate: m.OrgLeftDate, Current: !m.IsDeleted})
	}
	return out, nil
}
