// Package authz is Roster's one authorization policy. Every service names
// the action it is about to perform and the resource it acts on, and
// Decide answers from the caller's memberships alone: the services still
// make the call (authorization lives in the services, so the CLI and the
// job workers obey the same rules as the HTTP API), but no service decides
// on its own. table.go beside this file lists, for every HTTP operation,
// who may call it; the matrix test in internal/httpapi holds the server to
// that table and docs/security.md is generated from it.
//
// The roles the policy knows:
//   - tenant admin: ORG_ADMIN of the tenant's root organisation;
//   - school admin: ORG_ADMIN of an organisation below the root. They
//     manage only users all of whose organisations they administer, and
//     never an admin;
//   - course creator: the user who created a course, while still holding
//     CONTENT_CREATOR in its tenant;
//   - mentor: a user named as a mentor of a batch;
//   - the user themself;
//   - a self-signed-up user: a member of the custodian organisation only,
//     who may declare a state, school and teacher id for the state to
//     review (declarations are reviewed like a school's users: by its
//     admin or the state's);
//   - any signed-in member (PUBLIC).
//
// Users, uploads and reports of another tenant are "not found", so a
// caller cannot learn that they exist.
package authz

import (
	"slices"

	"github.com/roster-dev/roster"
)

// Action names what an operation does to its resource.
type Action string

// The actions. Each service call that needs permission passes one of them.
const (
	// Users.
	ReadUser    Action = "user.read"     // the masked profile
	ReadUserPII Action = "user.read_pii" // decrypted contact details
	UpdateUser  Action = "user.update"   // fields, email, phone, password
	ManageUser  Action = "user.manage"   // block, unblock, delete, find by contact details
	// ExportUserPII is exporting an organisation's directory with full
	// contact details; each row is still decrypted only if ReadUserPII
	// allows it, so this is the gate, not a wider grant.
	ExportUserPII Action = "user.export_pii"
	// ListDirectory is listing, searching and exporting an organisation's
	// users: its admins and the tenant's; other tenants are not told the
	// organisation exists.
	ListDirectory Action = "org.directory"
	// ReadAudit is reading a tenant's audit log.
	ReadAudit Action = "audit.read"
	EraseUser Action = "user.erase" // crypto-shred: the user themself or an admin who manages them
	// SignUp creates one's own account in the custodian organisation, or a
	// signed-in parent's managed child (Resource.User is the parent named
	// as managedBy, nil for none).
	SignUp Action = "user.signup"
	// Single sign-on links: which identity provider subject signs in as
	// the user. Linking is as strong as setting a password, so only an
	// administrator of the whole tenant links for someone else; the user
	// links themself only by proving both accounts (LinkOwnIdentity).
	LinkIdentity    Action = "identity.link"
	LinkOwnIdentity Action = "identity.link_own"
	UnlinkIdentity  Action = "identity.unlink" // the user or a tenant admin
	// Organisations and roles.
	CreateTenant   Action = "tenant.create"
	CreateOrg      Action = "org.create"
	ReadOrg        Action = "org.read"
	ListOrgs       Action = "org.list"
	ManageOrg      Action = "org.manage" // list its users, upload users, see its uploads
	GrantRoles     Action = "role.grant" // create a user or a membership with roles
	CreateLocation Action = "location.create"
	// Courses.
	CreateCourse Action = "course.create"
	ReadCourse   Action = "course.read"
	AddBatch     Action = "batch.create"
	ViewBatches  Action = "course.staff_view" // batch lists, counts, participants
	Enrol        Action = "enrolment.change"
	Consent      Action = "consent.decide" // give, withdraw or read one's consent
	// Reports.
	UseReports   Action = "report.use" // request, read and download a course's User Profile Exhaust
	ReadPolicy   Action = "report_policy.read"
	ChangePolicy Action = "report_policy.change"
	// Terms and conditions.
	PublishTnc Action = "tnc.publish" // publish a new version of a kind of terms
	AcceptTnc  Action = "tnc.accept"  // record one's own acceptance
	// Self-declaration (issue 11.2).
	DeclareSelf       Action = "declaration.submit" // declare, replace or withdraw one's own
	ReviewDeclaration Action = "declaration.review" // see the queue, approve, reject
)

// User is a target user as the policy needs to see them: their tenant and
// their current memberships.
type User struct {
	ID          string
	RootOrgID   string
	Memberships []roster.Membership // only those not deleted count
}

// Resource is what an action is performed on. Only the fields the action
// needs are set.
type Resource struct {
	Tenant  string         // the tenant (root org id) the resource belongs to
	Org     string         // an organisation of that tenant
	User    *User          // a target user
	Course  *roster.Course // a course (its creator and tenant)
	Mentors []string       // mentors of the batch, or of every batch of the course
	Roles   []string       // roles being granted in Org
	Owner   string         // who requested a report, when the action is on one
	// Custodian is the custodian organisation's id, for DeclareSelf: only
	// its users (self-signed-up, no state yet) declare.
	Custodian string
}

// Decide returns nil when p may perform a on r, and otherwise the error
// the caller must get: EUNAUTHORIZED for nobody, ENOTFOUND when r belongs
// to another tenant and is not public, EFORBIDDEN otherwise.
//
// A caller with terms pending (Principal.PendingTnc) is refused, with the
// terms named, whatever those terms cover: acting as an administrator
// until the org admin terms are accepted, reports until the report viewer
// terms are. What they may do without the role (their own profile, the
// terms themselves) stays allowed.
func Decide(p *roster.Principal, a Action, r Resource) error {
	if a == SignUp {
		if p != nil && p.PasswordMustChange {
			return Forbidden(MsgChooseOwnPassword)
		}
		return signUp(p, r)
	}
	if p == nil {
		return Unauthenticated()
	}
	if p.System {
		// Operator commands may do anything but read a course's personal
		// report: that belongs to its creator alone.
		if a == UseReports {
			return Forbidden(MsgCreatorOnly)
		}
		return nil
	}
	if p.PasswordMustChange {
		return passwordGate(p, a, r)
	}
	if err := decide(p, a, r); err != nil || len(p.PendingTnc) == 0 {
		return err
	}
	return termsGate(p, a, r)
}

// MsgChooseOwnPassword refuses every act of a caller whose password was
// chosen by someone else.
const MsgChooseOwnPassword = "choose your own password first: POST /api/v1/me/password with the one you were given"

// passwordGate is the restricted session of a user who must choose their
// own password: they may read their own profile (the console shows who is
// signed in) and nothing else; changing the password needs no permission.
func passwordGate(p *roster.Principal, a Action, r Resource) error {
	if (a == ReadUser || a == ReadUserPII) && r.User != nil && r.User.ID == p.UserID {
		return nil
	}
	return Forbidden(MsgChooseOwnPassword)
}

// termsGate refuses an allowed action the caller's pending terms cover.
// Whether an action is an administrator's is decided by asking the policy
// again without the caller's ORG_ADMIN grants: what still passes did not
// need the role.
func termsGate(p *roster.Principal, a Action, r Resource) error {
	if a == UseReports && slices.Contains(p.PendingTnc, roster.TncReportViewer) {
		return AcceptTermsFirst(roster.TncReportViewer)
	}
	if slices.Contains(p.PendingTnc, roster.TncOrgAdmin) && decide(withoutRole(p, roster.RoleOrgAdmin), a, r) != nil {
		return AcceptTermsFirst(roster.TncOrgAdmin)
	}
	return nil
}

// withoutRole is p as if it held role nowhere.
func withoutRole(p *roster.Principal, role string) *roster.Principal {
	q := *p
	q.Grants = make([]roster.Grant, 0, len(p.Grants))
	for _, g := range p.Grants {
		g.Roles = slices.DeleteFunc(slices.Clone(g.Roles), func(r string) bool { return r == role })
		q.Grants = append(q.Grants, g)
	}
	return &q
}

// Messages of the refusals for terms not yet accepted.
const (
	MsgAcceptOrgAdminTnc     = "accept the org admin terms first"
	MsgAcceptReportViewerTnc = "accept the report viewer terms first"
	MsgAcceptPlatformTnc     = "accept the terms of use first"
)

// AcceptTermsFirst is the refusal naming the terms of kind to accept; the
// field error carries the kind so a client can open the right page.
func AcceptTermsFirst(kind string) error {
	msg := MsgAcceptPlatformTnc
	switch kind {
	case roster.TncOrgAdmin:
		msg = MsgAcceptOrgAdminTnc
	case roster.TncReportViewer:
		msg = MsgAcceptReportViewerTnc
	}
	return &roster.Error{Code: roster.EFORBIDDEN, Message: msg,
		Fields: []roster.FieldError{{Field: "tnc", Message: msg, Value: kind}}}
}

// TncFor lists the kinds of terms that apply to p: the platform's to
// everyone, the org admin terms to holders of ORG_ADMIN, the report
// viewer terms to content creators (who request reports).
func TncFor(p *roster.Principal) []string {
	kinds := []string{roster.TncPlatform}
	holds := func(role string) bool {
		for _, g := range p.Grants {
			if slices.Contains(g.Roles, role) {
				return true
			}
		}
		return false
	}
	if holds(roster.RoleOrgAdmin) {
		kinds = append(kinds, roster.TncOrgAdmin)
	}
	if holds(roster.RoleContentCreator) {
		kinds = append(kinds, roster.TncReportViewer)
	}
	return kinds
}

func decide(p *roster.Principal, a Action, r Resource) error {
	switch a {
	case ReadUser:
		if !memberOf(p, r.User.RootOrgID) {
			return NotFound("user")
		}
		return nil
	case ReadUserPII, UpdateUser, EraseUser:
		if p.UserID == r.User.ID {
			return nil
		}
		return manages(p, r.User)
	case ManageUser:
		return manages(p, r.User)
	case ExportUserPII:
		if !adminOfOrg(p, r.Org, r.Tenant) {
			return Forbidden("only an administrator of this organisation or of its tenant can export contact details")
		}
		return nil
	case ListDirectory:
		if !memberOf(p, r.Tenant) {
			return NotFound("organisation")
		}
		if !adminOfOrg(p, r.Org, r.Tenant) {
			return Forbidden("only an administrator of this organisation or of its tenant can list its users")
		}
		return nil
	case ReadAudit:
		// School admins do not read the log: its rows name users and
		// organisations across the whole tenant.
		if !memberOf(p, r.Tenant) {
			return NotFound("tenant")
		}
		if !tenantAdmin(p, r.Tenant) {
			return Forbidden("only an administrator of the whole tenant can read its audit log")
		}
		return nil
	case LinkIdentity:
		return tenantAdminOf(p, r.User)
	case LinkOwnIdentity:
		if p.UserID == r.User.ID {
			return nil
		}
		return Forbidden("only the user themself can link their own sign-in")
	case UnlinkIdentity:
		if p.UserID == r.User.ID {
			return nil
		}
		return tenantAdminOf(p, r.User)
	case CreateTenant:
		return Forbidden("only a platform operator can create a tenant")
	case CreateOrg, ChangePolicy:
		if !tenantAdmin(p, r.Tenant) {
			return Forbidden("only an administrator of the whole tenant can do this")
		}
		return nil
	case ReadOrg, ReadCourse:
		return nil // the catalogue of organisations and courses is public to members
	case ListOrgs:
		if !memberOf(p, r.Tenant) {
			return Forbidden("only members of the tenant can list its organisations")
		}
		return nil
	case ManageOrg:
		if !adminOfOrg(p, r.Org, r.Tenant) {
			return Forbidden("only an administrator of this organisation or of its tenant can do this")
		}
		return nil
	case GrantRoles:
		return grant(p, r.Org, r.Tenant, r.Roles)
	case CreateLocation:
		// Locations are shared by every tenant: any administrator adds them.
		for _, g := range p.Grants {
			if slices.Contains(g.Roles, roster.RoleOrgAdmin) {
				return nil
			}
		}
		return Forbidden("only administrators can add locations")
	case CreateCourse:
		if !hasRoleInTenant(p, r.Tenant, roster.RoleContentCreator) {
			return Forbidden("only a content creator of this tenant can create its courses")
		}
		return nil
	case AddBatch:
		if p.UserID == r.Course.CreatedBy || tenantAdmin(p, r.Course.RootOrgID) {
			return nil
		}
		return Forbidden("only the course creator or a tenant administrator can add batches to this course")
	case ViewBatches:
		if p.UserID == r.Course.CreatedBy || tenantAdmin(p, r.Course.RootOrgID) || slices.Contains(r.Mentors, p.UserID) {
			return nil
		}
		return Forbidden("only the course creator, its mentors and tenant administrators can see this")
	case Enrol:
		// Learners enrol themselves in any course of the platform; anyone
		// else enrols only users they manage, in their own tenant's courses.
		if p.UserID == r.User.ID {
			return nil
		}
		if !memberOf(p, r.User.RootOrgID) {
			return NotFound("user")
		}
		if r.User.RootOrgID != r.Course.RootOrgID {
			return Forbidden("only learners themselves enrol in another tenant's courses")
		}
		return manages(p, r.User)
	case Consent:
		if p.UserID == r.User.ID {
			return nil
		}
		return Forbidden("only the learner can give, withdraw or read their consent to share their profile")
	case UseReports:
		// A report is its requester's alone, even among the creators a
		// course has had.
		if p.UserID == r.Course.CreatedBy && hasRoleInTenant(p, r.Course.RootOrgID, roster.RoleContentCreator) &&
			(r.Owner == "" || r.Owner == p.UserID) {
			return nil
		}
		return Forbidden(MsgCreatorOnly)
	case DeclareSelf:
		return declarer(p, r.User, r.Custodian)
	case ReviewDeclaration:
		// A declaration waits for its state: another tenant's admin must not
		// learn that someone asked to join it.
		if !memberOf(p, r.Tenant) {
			return NotFound("declaration")
		}
		if !adminOfOrg(p, r.Org, r.Tenant) {
			return Forbidden(MsgReviewerOnly)
		}
		return nil
	case ReadPolicy:
		if adminInTenant(p, r.Tenant) || hasRoleInTenant(p, r.Tenant, roster.RoleContentCreator) {
			return nil
		}
		return Forbidden("only administrators and content creators of this tenant can see its report policy")
	case PublishTnc:
		return Forbidden("only a platform operator can publish terms and conditions")
	case AcceptTnc:
		if r.User != nil && r.User.ID == p.UserID {
			return nil
		}
		return Forbidden("only the user themself can accept terms and conditions")
	}
	return Forbidden("unknown action " + string(a))
}

// signUp is the one action open to callers who are not signed in: anyone
// may create their own account, with no role but PUBLIC, in the custodian
// organisation (the service names it; nothing else can be asked for). A
// managed child is signed up only by its parent, signed in.
func signUp(p *roster.Principal, r Resource) error {
	for _, role := range r.Roles {
		if role != roster.RolePublic {
			return Forbidden("a self sign-up gets no roles; an administrator grants them")
		}
	}
	if r.User == nil || r.User.ID == "" {
		return nil
	}
	switch {
	case p == nil:
		return Forbidden(MsgParentSignsUp)
	case p.System || p.UserID == r.User.ID:
		return nil
	}
	return Forbidden(MsgParentSignsUp)
}

// MsgParentSignsUp refuses a managed sign-up by anyone but the parent.
const MsgParentSignsUp = "a child's account is created by their parent, signed in to their own account"

// MsgCreatorOnly is the refusal of every report operation.
const MsgCreatorOnly = "only the course creator can request and download the User Profile Exhaust"

// MsgReviewerOnly is the refusal of a declaration decision or queue.
const MsgReviewerOnly = "only an administrator of the declared school or of its state can review this declaration"

// MsgDeclarerOnly refuses a declaration by anyone but a self-signed-up user.
const MsgDeclarerOnly = "only a self-signed-up user who belongs to no state yet can declare a state and school"

// declarer: users declare only for themselves, and only while they belong
// to the custodian alone (a user of a state already has their school).
func declarer(p *roster.Principal, u *User, custodian string) error {
	if u == nil || p.UserID != u.ID || custodian == "" || u.RootOrgID != custodian {
		return Forbidden(MsgDeclarerOnly)
	}
	for _, m := range u.Memberships {
		if !m.IsDeleted && m.IsApproved && !m.IsRejected && m.OrganisationID != custodian {
			return Forbidden(MsgDeclarerOnly)
		}
	}
	return nil
}

// Allowed is Decide as a yes or no, for what a caller may see rather than
// do (whether a view shows decrypted contact details, counts).
func Allowed(p *roster.Principal, a Action, r Resource) bool { return Decide(p, a, r) == nil }

// manages is the user-administration rule: a tenant admin manages every
// user of the tenant; a school admin manages a user only when the user
// belongs to at least one organisation the admin administers and to none
// they do not, and is not an admin. Other tenants' users are not found.
func manages(p *roster.Principal, u *User) error {
	if !memberOf(p, u.RootOrgID) {
		return NotFound("user")
	}
	if tenantAdmin(p, u.RootOrgID) {
		return nil
	}
	inScope := false
	for _, m := range u.Memberships {
		if m.IsDeleted {
			continue
		}
		if slices.Contains(m.Roles, roster.RoleOrgAdmin) {
			return Forbidden("only an administrator of the whole tenant can change another administrator")
		}
		if !p.HasRole(m.OrganisationID, roster.RoleOrgAdmin) {
			return Forbidden("this user also belongs to an organisation you do not administer; ask an administrator of the whole tenant")
		}
		inScope = true
	}
	if !inScope {
		return Forbidden("only an administrator of this user's organisation can do this")
	}
	return nil
}

// tenantAdminOf allows only an administrator of u's whole tenant; other
// tenants' users are not found.
func tenantAdminOf(p *roster.Principal, u *User) error {
	if !memberOf(p, u.RootOrgID) {
		return NotFound("user")
	}
	if !tenantAdmin(p, u.RootOrgID) {
		return Forbidden("only an administrator of the whole tenant can do this")
	}
	return nil
}

// grant is the one rule for handing out roles, whatever the path
// (membership, user creation, CSV upload): the caller must administer the
// organisation, and ORG_ADMIN is granted only by an admin of the whole
// tenant, so a school's admin cannot create a second, wider admin.
func grant(p *roster.Principal, orgID, tenant string, roles []string) error {
	if !adminOfOrg(p, orgID, tenant) {
		return Forbidden("you can add users only to an organisation you administer (or any organisation of a tenant you administer)")
	}
	if slices.Contains(roles, roster.RoleOrgAdmin) && !tenantAdmin(p, tenant) {
		return &roster.Error{Code: roster.EFORBIDDEN, Message: "only an admin of the whole tenant may grant ORG_ADMIN",
			Fields: []roster.FieldError{{Field: "roles", Message: "only an admin of the whole tenant may grant ORG_ADMIN", Value: roster.RoleOrgAdmin}}}
	}
	return nil
}

// memberOf reports whether p belongs to tenant at all (their own tenant or
// any grant in it): members see each other's masked profiles.
func memberOf(p *roster.Principal, tenant string) bool {
	if p.RootOrgID == tenant {
		return true
	}
	for _, g := range p.Grants {
		if g.RootOrgID == tenant {
			return true
		}
	}
	return false
}

func tenantAdmin(p *roster.Principal, tenant string) bool {
	return p.HasRole(tenant, roster.RoleOrgAdmin)
}

func adminOfOrg(p *roster.Principal, orgID, tenant string) bool {
	return tenantAdmin(p, tenant) || p.HasRole(orgID, roster.RoleOrgAdmin)
}

// adminInTenant: ORG_ADMIN of the tenant or of any of its organisations.
func adminInTenant(p *roster.Principal, tenant string) bool {
	return hasRoleInTenant(p, tenant, roster.RoleOrgAdmin)
}

func hasRoleInTenant(p *roster.Principal, tenant, role string) bool {
	for _, g := range p.Grants {
		if g.RootOrgID == tenant && slices.Contains(g.Roles, role) {
			return true
		}
	}
	return false
}

// Unauthenticated, Forbidden and NotFound are the refusals every service
// returns, so the same situation reads the same everywhere.
func Unauthenticated() error { return roster.Errorf(roster.EUNAUTHORIZED, "sign in first") }

// Forbidden refuses a signed-in caller, saying who may do it.
func Forbidden(msg string) error { return roster.Errorf(roster.EFORBIDDEN, "%s", msg) }

// NotFound is the answer for what is missing or belongs to another tenant.
func NotFound(what string) error { return roster.Errorf(roster.ENOTFOUND, "%s not found", what) }
