package registry

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// Self-declaration (issue 11.2): a self-signed-up teacher declares a
// state, a school of it and their teacher id; an admin of the school or of
// the state approves or rejects. Until then the user stays a custodian
// user, with the school membership recorded as seed 001's self-declared
// association, not yet approved.

// MaxBulkDecisions is how many declarations one bulk call decides.
const MaxBulkDecisions = 100

// Messages a declarer or reviewer can cause.
const (
	MsgDeclarationPending  = "you already have a pending declaration; withdraw or replace it"
	MsgNoPendingDecl       = "you have no pending declaration"
	MsgAlreadyDecided      = "this declaration was already "
	MsgTeacherIDTaken      = "this teacher id is already registered to another user of the state"
	MsgUserAlreadyInState  = "this user already belongs to a state"
	MsgSchoolNotFound      = "no such school"
	MsgSchoolExtIDNotFound = "no school of this state has this external id"
	MsgTooManyIDs          = "at most 100 declarations per call"
	MsgBadStatus           = "must be pending, approved, rejected or withdrawn"
	MsgBadCursor           = "is not a school of this state"
	FieldSchoolExternalID  = "schoolExternalId"
	FieldIDs               = "ids"
	FieldAfter             = "after"
)

// DeclarationInput is what a teacher declares. The school is named by its
// id (picked from the state's list) or by its external id.
type DeclarationInput struct {
	StateID          string
	SchoolID         string
	SchoolExternalID string
	TeacherID        string
}

// DeclarationView is a declaration with the names its reader needs: the
// teacher sees their state and school, a reviewer also the teacher's name.
type DeclarationView struct {
	roster.Declaration
	StateName  string `json:"stateName"`
	SchoolName string `json:"schoolName"`
	FirstName  string `json:"firstName,omitempty"`
	LastName   string `json:"lastName,omitempty"`
	UserName   string `json:"userName,omitempty"`
}

// Decision is a reviewer's answer.
type Decision struct {
	Approve bool
	Reason  string
}

// DecisionOutcome is one item of a bulk decision: the declaration's new
// status, or why it was not decided. One failing item never stops the rest.
type DecisionOutcome struct {
	ID     string        `json:"id"`
	Status string        `json:"status,omitempty"`
	Error  *roster.Error `json:"error,omitempty"`
	UserID string        `json:"-"` // the declarer, when decided
}

// Declare records p's declaration, replacing a pending one if there is.
func (s *Service) Declare(ctx context.Context, p *roster.Principal, in DeclarationInput) (*DeclarationView, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	if errs := boundIDs(map[string]string{FieldStateID: in.StateID, FieldSchoolID: in.SchoolID},
		map[string]string{FieldSchoolExternalID: in.SchoolExternalID}); len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	d := roster.Declaration{TeacherID: in.TeacherID}
	if errs := CheckDeclaration(&d); len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	custodian, err := s.Bootstrap(ctx)
	if err != nil {
		return nil, err
	}
	var id string
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		if err := s.mayDeclare(ctx, tx, p, custodian); err != nil {
			return err
		}
		state, school, err := s.declaredPlace(ctx, tx, in)
		if err != nil {
			return err
		}
		now := roster.Now()
		replaced, err := s.withdrawPending(ctx, tx, p.UserID, now)
		if err != nil {
			return err
		}
		if replaced != "" {
			if err := store.Audit(ctx, tx, p.UserID, "declaration.withdraw", "declaration", replaced, "ok", "replaced"); err != nil {
				return err
			}
		}
		id = roster.NewID()
		// Under the declarer's data key, so their erasure reaches every
		// copy of the teacher id, as it does their email.
		uk, err := s.writeKey(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		rec := &store.DeclarationRecord{Declaration: roster.Declaration{ID: id, UserID: p.UserID, TenantID: state.ID,
			OrgID: school.ID, Status: roster.DeclarationPending, CreatedDate: now},
			TeacherIDEnc: uk.Seal(d.TeacherID, pii.Declaration(id))}
		if err := store.InsertDeclaration(ctx, tx, rec); errors.Is(err, store.ErrUnique) {
			return roster.Errorf(roster.ECONFLICT, "%s", MsgDeclarationPending)
		} else if err != nil {
			return err
		}
		m := roster.Membership{UserID: p.UserID, OrganisationID: school.ID, AssociationType: roster.AssociationSelfDeclared,
			Roles: []string{roster.RolePublic}, OrgJoinDate: now, UpdatedBy: p.UserID, UpdatedDate: &now}
		if err := store.UpsertMembership(ctx, tx, m); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "declaration.submit", "declaration", id, "ok", "")
	})
	if err != nil {
		return nil, err
	}
	return s.declarationView(ctx, id, true)
}

// mayDeclare asks the policy whether p, as stored now, may declare.
func (s *Service) mayDeclare(ctx context.Context, q store.Queryer, p *roster.Principal, custodian *roster.Organisation) error {
	rec, err := store.GetUser(ctx, q, p.UserID)
	if err != nil {
		return storeErr(err, "user")
	}
	subj, err := authz.Subject(ctx, q, rec)
	if err != nil {
		return err
	}
	return authz.Decide(p, authz.DeclareSelf, authz.Resource{User: subj, Custodian: custodian.ID})
}

// declaredPlace resolves the declared state and school and holds them to
// the rule book's consistency rule.
func (s *Service) declaredPlace(ctx context.Context, q store.Queryer, in DeclarationInput) (*roster.Organisation, *roster.Organisation, error) {
	stateID := strings.TrimSpace(in.StateID)
	if stateID == "" {
		return nil, nil, roster.Invalid(roster.FieldError{Field: FieldStateID, Message: MsgRequired})
	}
	state, err := store.GetOrg(ctx, q, stateID)
	if errors.Is(err, store.ErrNoRows) {
		return nil, nil, roster.Invalid(roster.FieldError{Field: FieldStateID, Message: MsgNotAState})
	} else if err != nil {
		return nil, nil, err
	}
	var school *roster.Organisation
	switch schoolID, ext := strings.TrimSpace(in.SchoolID), strings.TrimSpace(in.SchoolExternalID); {
	case schoolID != "":
		school, err = store.GetOrg(ctx, q, schoolID)
		if errors.Is(err, store.ErrNoRows) {
			return nil, nil, roster.Invalid(roster.FieldError{Field: FieldSchoolID, Message: MsgSchoolNotFound})
		}
	case ext != "" && state.Channel != "":
		school, err = store.FindOrgByExternalID(ctx, q, state.Channel, ext)
		if errors.Is(err, store.ErrNoRows) {
			return nil, nil, roster.Invalid(roster.FieldError{Field: FieldSchoolExternalID, Message: MsgSchoolExtIDNotFound})
		}
	default:
		return nil, nil, roster.Invalid(roster.FieldError{Field: FieldSchoolID, Message: MsgSchoolOrID})
	}
	if err != nil {
		return nil, nil, err
	}
	if errs := CheckDeclaredSchool(state, school); len(errs) > 0 {
		return nil, nil, roster.Invalid(errs...)
	}
	return state, school, nil
}

// withdrawPending withdraws userID's pending declaration, if any, and
// drops its not-yet-approved membership. It returns the withdrawn
// declaration's id, empty when there was none.
func (s *Service) withdrawPending(ctx context.Context, tx store.Tx, userID string, now time.Time) (string, error) {
	old, err := store.PendingDeclaration(ctx, tx, userID)
	if errors.Is(err, store.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	if err := store.DecideDeclaration(ctx, tx, old.ID, roster.DeclarationWithdrawn, "", userID, now); err != nil {
		return "", err
	}
	ms, err := store.Memberships(ctx, tx, userID)
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.OrganisationID == old.OrgID && !m.IsApproved && !m.IsDeleted {
			m.IsDeleted, m.OrgLeftDate, m.UpdatedBy, m.UpdatedDate = true, &now, userID, &now
			if err := store.UpsertMembership(ctx, tx, m); err != nil {
				return "", err
			}
		}
	}
	return old.ID, nil
}

// WithdrawDeclaration withdraws p's pending declaration.
func (s *Service) WithdrawDeclaration(ctx context.Context, p *roster.Principal) error {
	if p == nil {
		return authz.Unauthenticated()
	}
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		id, err := s.withdrawPending(ctx, tx, p.UserID, roster.Now())
		if err != nil {
			return err
		}
		if id == "" {
			return roster.Errorf(roster.ENOTFOUND, "%s", MsgNoPendingDecl)
		}
		return store.Audit(ctx, tx, p.UserID, "declaration.withdraw", "declaration", id, "ok", "")
	})
}

// MyDeclaration is p's latest declaration, with the reviewer's reason if
// it was rejected. The teacher id is theirs, so they see it.
func (s *Service) MyDeclaration(ctx context.Context, p *roster.Principal) (*DeclarationView, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	rec, err := store.LatestDeclaration(ctx, s.db, p.UserID)
	if err != nil {
		return nil, storeErr(err, "declaration")
	}
	return s.viewOf(ctx, rec, true)
}

func (s *Service) declarationView(ctx context.Context, id string, withTeacherID bool) (*DeclarationView, error) {
	rec, err := store.GetDeclaration(ctx, s.db, id)
	if err != nil {
		return nil, storeErr(err, "declaration")
	}
	return s.viewOf(ctx, rec, withTeacherID)
}

func (s *Service) viewOf(ctx context.Context, rec *store.DeclarationRecord, withTeacherID bool) (*DeclarationView, error) {
	v := &DeclarationView{Declaration: rec.Declaration, StateName: rec.TenantName, SchoolName: rec.OrgName,
		FirstName: rec.FirstName, LastName: rec.LastName, UserName: rec.Username}
	if withTeacherID {
		var err error
		if v.TeacherID, err = s.openTeacherID(ctx, s.db, rec); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// openTeacherID opens a declared teacher id: under the declarer's data key,
// or by the ring for a declaration made before (UserKey opens both). An
// erased declarer's is blank.
func (s *Service) openTeacherID(ctx context.Context, q store.Queryer, rec *store.DeclarationRecord) (string, error) {
	uk, err := s.readKey(ctx, q, rec.UserID)
	if err != nil {
		return "", err
	}
	return uk.Open(rec.TeacherIDEnc, pii.Declaration(rec.ID))
}

// Declarations is the review queue of an organisation: the whole state's
// for its tenant admins, one school's for that school's admins. Reviewers
// see the declared teacher id, which is what they check.
func (s *Service) Declarations(ctx context.Context, p *roster.Principal, orgID, status, after string, limit int) ([]DeclarationView, error) {
	org, err := s.reviewedOrg(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	if status == "" {
		status = roster.DeclarationPending
	}
	if !slices.Contains([]string{roster.DeclarationPending, roster.DeclarationApproved, roster.DeclarationRejected, roster.DeclarationWithdrawn}, status) {
		return nil, roster.Invalid(roster.FieldError{Field: FieldStatus, Message: MsgBadStatus})
	}
	if errs := boundIDs(map[string]string{FieldAfter: after}, nil); len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	school := ""
	if !org.IsTenant {
		school = org.ID
	}
	recs, err := store.ListDeclarations(ctx, s.db, org.RootOrgID, school, status, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]DeclarationView, 0, len(recs))
	for i := range recs {
		v, err := s.viewOf(ctx, &recs[i], true)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

// reviewedOrg loads an organisation whose declarations p reviews.
func (s *Service) reviewedOrg(ctx context.Context, p *roster.Principal, orgID string) (*roster.Organisation, error) {
	if hasControl(orgID, false) || utf8.RuneCountInString(orgID) > MaxLength[FieldOrgID] {
		return nil, authz.NotFound("organisation")
	}
	org, err := store.GetOrg(ctx, s.db, orgID)
	if err != nil {
		return nil, storeErr(err, "organisation")
	}
	if err := authz.Decide(p, authz.ReviewDeclaration, authz.Resource{Tenant: org.RootOrgID, Org: org.ID}); err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil, authz.NotFound("organisation")
		}
		return nil, err
	}
	return org, nil
}

// DecideDeclaration approves or rejects one declaration.
func (s *Service) DecideDeclaration(ctx context.Context, p *roster.Principal, id string, d Decision) (*DeclarationView, error) {
	if errs := CheckDecisionReason(&d.Reason, !d.Approve); len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	if hasControl(id, false) || utf8.RuneCountInString(id) > MaxLength[FieldOrgID] {
		return nil, authz.NotFound("declaration")
	}
	rec, err := store.GetDeclaration(ctx, s.db, id)
	if err != nil {
		return nil, storeErr(err, "declaration")
	}
	if err := s.mayReview(ctx, p, rec, d); err != nil {
		return nil, err
	}
	return s.decide(ctx, p, rec, d)
}

// mayReview asks the policy whether p may decide rec, and audits a
// refusal: who tried to decide which declaration, never what it says.
func (s *Service) mayReview(ctx context.Context, p *roster.Principal, rec *store.DeclarationRecord, d Decision) error {
	err := authz.Decide(p, authz.ReviewDeclaration, authz.Resource{Tenant: rec.TenantID, Org: rec.OrgID})
	if err == nil {
		return nil
	}
	actor := ""
	if p != nil {
		actor = p.UserID
	}
	if aerr := store.Audit(ctx, s.db, actor, decisionAction(d), "declaration", rec.ID, "denied", roster.ErrorCode(err)); aerr != nil {
		return aerr
	}
	return err
}

func decisionAction(d Decision) string {
	if d.Approve {
		return "declaration.approve"
	}
	return "declaration.reject"
}

// DecideDeclarations decides up to MaxBulkDecisions declarations of orgID
// (its school, or its whole state for a tenant) one by one, each in its
// own transaction, and reports every item's outcome.
func (s *Service) DecideDeclarations(ctx context.Context, p *roster.Principal, orgID string, ids []string, d Decision) ([]DecisionOutcome, error) {
	org, err := s.reviewedOrg(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, roster.Invalid(roster.FieldError{Field: FieldIDs, Message: MsgRequired})
	}
	if len(ids) > MaxBulkDecisions {
		return nil, roster.Invalid(roster.FieldError{Field: FieldIDs, Message: MsgTooManyIDs})
	}
	if errs := CheckDecisionReason(&d.Reason, !d.Approve); len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	out := make([]DecisionOutcome, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		o := DecisionOutcome{ID: id}
		v, err := s.decideIn(ctx, p, org, id, d)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			o.Error = itemError(err)
		} else {
			o.Status, o.UserID = v.Status, v.UserID
		}
		out = append(out, o)
	}
	return out, nil
}

// decideIn decides one item of a bulk call: declarations outside org are
// "not found", as for a reviewer of another tenant.
func (s *Service) decideIn(ctx context.Context, p *roster.Principal, org *roster.Organisation, id string, d Decision) (*DeclarationView, error) {
	if hasControl(id, false) || utf8.RuneCountInString(id) > MaxLength[FieldOrgID] {
		return nil, authz.NotFound("declaration")
	}
	rec, err := store.GetDeclaration(ctx, s.db, id)
	if err != nil {
		return nil, storeErr(err, "declaration")
	}
	if rec.TenantID != org.RootOrgID || (!org.IsTenant && rec.OrgID != org.ID) {
		return nil, authz.NotFound("declaration")
	}
	if err := s.mayReview(ctx, p, rec, d); err != nil {
		return nil, err
	}
	return s.decide(ctx, p, rec, d)
}

// itemError is an item's failure as the caller may see it: the user's
// kind of error as it is, anything else as an internal error.
func itemError(err error) *roster.Error {
	var e *roster.Error
	if errors.As(err, &e) && e.Code != roster.EINTERNAL {
		return e
	}
	return &roster.Error{Code: roster.EINTERNAL, Message: "internal error"}
}

// decide applies an authorized decision to rec and audits it, refused
// ones included.
func (s *Service) decide(ctx context.Context, p *roster.Principal, rec *store.DeclarationRecord, d Decision) (*DeclarationView, error) {
	action := decisionAction(d)
	err := store.InTx(ctx, s.db, func(tx store.Tx) error {
		cur, err := store.GetDeclaration(ctx, tx, rec.ID)
		if err != nil {
			return err
		}
		if cur.Status != roster.DeclarationPending {
			return roster.Errorf(roster.ECONFLICT, "%s%s", MsgAlreadyDecided, cur.Status)
		}
		now := roster.Now()
		status := roster.DeclarationRejected
		if d.Approve {
			status = roster.DeclarationApproved
		}
		if err := store.DecideDeclaration(ctx, tx, rec.ID, status, d.Reason, p.UserID, now); errors.Is(err, store.ErrNoRows) {
			return roster.Errorf(roster.ECONFLICT, "%s%s", MsgAlreadyDecided, "decided")
		} else if err != nil {
			return err
		}
		if d.Approve {
			err = s.approve(ctx, tx, p, cur, now)
		} else {
			err = s.reject(ctx, tx, p, cur, now)
		}
		if err != nil {
			return err
		}
		detail := ""
		if d.Reason != "" {
			detail = FieldReason
		}
		return store.Audit(ctx, tx, p.UserID, action, "declaration", rec.ID, "ok", detail)
	})
	if err != nil {
		if roster.ErrorCode(err) == roster.ECONFLICT || roster.ErrorCode(err) == roster.EINVALID {
			if aerr := store.Audit(ctx, s.db, p.UserID, action, "declaration", rec.ID, "refused", roster.ErrorCode(err)); aerr != nil {
				return nil, aerr
			}
		}
		return nil, err
	}
	v, err := s.declarationView(ctx, rec.ID, true)
	if err != nil {
		return nil, err
	}
	s.noticeDecision(ctx, v)
	return v, nil
}

// approve moves the declarer into the state: its root org, channel and
// tenant bit, the school membership approved as self-declared, the
// custodian membership left, and the teacher id as their external
// identity with the state.
func (s *Service) approve(ctx context.Context, tx store.Tx, p *roster.Principal, d *store.DeclarationRecord, now time.Time) error {
	u, err := store.GetUser(ctx, tx, d.UserID)
	if err != nil {
		return err
	}
	custodian, err := store.Custodian(ctx, tx)
	if err != nil {
		return err
	}
	if u.RootOrgID != custodian.ID || u.IsDeleted {
		return roster.Errorf(roster.ECONFLICT, "%s", MsgUserAlreadyInState)
	}
	state, err := store.GetOrg(ctx, tx, d.TenantID)
	if err != nil {
		return err
	}
	u.RootOrgID, u.Channel = state.ID, state.Channel
	u.FlagsValue |= roster.FlagTenantVerified
	u.UpdatedBy, u.UpdatedDate = p.UserID, &now
	if err := store.UpdateUser(ctx, tx, u); err != nil {
		return err
	}
	ms, err := store.Memberships(ctx, tx, u.ID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		switch {
		case m.OrganisationID == d.OrgID:
			m.IsApproved, m.IsRejected, m.IsDeleted, m.ApprovalDate = true, false, false, &now
			m.AssociationType |= roster.AssociationSelfDeclared
		case !m.IsDeleted && (m.OrganisationID == custodian.ID || !m.IsApproved):
			// The custodian is left, and so is a school that rejected an
			// earlier declaration: kept, it would put the teacher outside
			// the new school admin's reach (authz.manages).
			m.IsDeleted, m.OrgLeftDate = true, &now
		default:
			continue
		}
		m.UpdatedBy, m.UpdatedDate = p.UserID, &now
		if err := store.UpsertMembership(ctx, tx, m); err != nil {
			return err
		}
	}
	return s.claimTeacherID(ctx, tx, p, d, state, now)
}

// claimTeacherID records the declared teacher id as the user's identity
// with the state, sealed and blind-indexed like every external id; the
// lookup claim is what makes it unique.
func (s *Service) claimTeacherID(ctx context.Context, tx store.Tx, p *roster.Principal, d *store.DeclarationRecord, state *roster.Organisation, now time.Time) error {
	teacherID, err := s.openTeacherID(ctx, tx, d)
	if err != nil {
		return err
	}
	provider, idType := strings.ToLower(state.Channel), roster.IDTypeDeclaredTeacher
	hash := s.extIDHash(provider, idType, teacherID)
	taken := &roster.Error{Code: roster.ECONFLICT, Message: MsgTeacherIDTaken,
		Fields: []roster.FieldError{{Field: FieldTeacherID, Message: MsgTeacherIDTaken}}}
	if ok, err := store.InsertLookup(ctx, tx, roster.LookupExternalID, hash, d.UserID); err != nil {
		return err
	} else if !ok {
		return taken
	}
	uk, err := s.writeKey(ctx, tx, d.UserID)
	if err != nil {
		return err
	}
	ok, err := store.InsertExternalIdentity(ctx, tx, store.ExternalIdentityRecord{Provider: provider, IDType: idType, Hash: hash,
		Enc:    uk.Seal(teacherID, pii.ExternalID(provider, idType, d.UserID)),
		UserID: d.UserID, CreatedBy: p.UserID, CreatedOn: now})
	if err != nil {
		return err
	} else if !ok {
		return taken
	}
	return nil
}

// reject marks the declared membership rejected; the user stays a
// custodian user and may declare again.
func (s *Service) reject(ctx context.Context, tx store.Tx, p *roster.Principal, d *store.DeclarationRecord, now time.Time) error {
	ms, err := store.Memberships(ctx, tx, d.UserID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.OrganisationID == d.OrgID && !m.IsApproved && !m.IsDeleted {
			m.IsRejected, m.UpdatedBy, m.UpdatedDate = true, p.UserID, &now
			return store.UpsertMembership(ctx, tx, m)
		}
	}
	return nil
}

// States lists the states a self-signed-up user can declare for.
func (s *Service) States(ctx context.Context, p *roster.Principal) ([]roster.Organisation, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	return store.ListStates(ctx, s.db)
}

// MaxSchoolPage bounds one page of a state's school list.
const MaxSchoolPage = 100

// StateSchools pages through a state's schools by name to any signed-in
// user (the catalogue of organisations is public to members), optionally
// those whose name contains query. after is the last school id seen.
func (s *Service) StateSchools(ctx context.Context, p *roster.Principal, stateID, query, after string, limit int) ([]roster.Organisation, error) {
	if errs := boundIDs(map[string]string{FieldStateID: stateID, FieldAfter: after}, map[string]string{FieldQuery: query}); len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	state, err := store.GetOrg(ctx, s.db, stateID)
	if err != nil {
		return nil, storeErr(err, "state")
	}
	if err := authz.Decide(p, authz.ReadOrg, authz.Resource{Tenant: state.ID, Org: state.ID}); err != nil {
		return nil, err
	}
	if !state.IsTenant || state.IsCustodian {
		return nil, authz.NotFound("state")
	}
	if limit <= 0 || limit > MaxSchoolPage {
		limit = 50
	}
	afterName := ""
	if after != "" {
		last, err := store.GetOrg(ctx, s.db, after)
		if errors.Is(err, store.ErrNoRows) || (err == nil && last.RootOrgID != state.ID) {
			return nil, roster.Invalid(roster.FieldError{Field: FieldAfter, Message: MsgBadCursor})
		} else if err != nil {
			return nil, err
		}
		afterName = last.Name
	}
	return store.ListSchools(ctx, s.db, state.ID, likeEscape(strings.TrimSpace(query)), afterName, after, limit)
}

// likeEscape makes % and _ in a search match themselves.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// boundIDs checks identifiers (at most an id's length) and short free
// values (at most an external id's length) before any lookup.
func boundIDs(ids, values map[string]string) []roster.FieldError {
	var e fieldErrors
	for f, v := range ids {
		if utf8.RuneCountInString(v) > MaxLength[FieldOrgID] {
			e.add(f, MsgTooLong(MaxLength[FieldOrgID]))
		} else if hasControl(v, false) {
			e.add(f, MsgControl)
		}
	}
	for f, v := range values {
		if utf8.RuneCountInString(v) > MaxLength[FieldExternalID] {
			e.add(f, MsgTooLong(MaxLength[FieldExternalID]))
		} else if hasControl(v, false) {
			e.add(f, MsgControl)
		}
	}
	slices.SortFunc(e.list, func(a, b roster.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return e.list
}
