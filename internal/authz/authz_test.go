package authz

import (
	"testing"

	"github.com/roster-dev/roster"
)

// The cases the HTTP matrix does not reach: a school admin of several
// schools, ended memberships, operators, and a report of another requester.
func TestDecideEdges(t *testing.T) {
	admin := func(orgs ...string) *roster.Principal {
		p := &roster.Principal{UserID: "adm", RootOrgID: "T"}
		for _, o := range orgs {
			p.Grants = append(p.Grants, roster.Grant{OrgID: o, RootOrgID: "T", Roles: []string{roster.RoleOrgAdmin}})
		}
		return p
	}
	member := func(org string, roles ...string) roster.Membership {
		return roster.Membership{OrganisationID: org, Roles: roles}
	}
	user := func(ms ...roster.Membership) *User { return &User{ID: "u", RootOrgID: "T", Memberships: ms} }
	left := member("S2")
	left.IsDeleted = true
	course := &roster.Course{ID: "c", RootOrgID: "T", CreatedBy: "cr"}
	creator := &roster.Principal{UserID: "cr", RootOrgID: "T",
		Grants: []roster.Grant{{OrgID: "T", RootOrgID: "T", Roles: []string{roster.RoleContentCreator}}}}
	for _, c := range []struct {
		name string
		p    *roster.Principal
		a    Action
		r    Resource
		want string // error code, "" when allowed
	}{
		{"admin of both schools of the user", admin("S1", "S2"), ManageUser, Resource{User: user(member("S1"), member("S2"))}, ""},
		{"admin of one of the user's schools", admin("S1"), ManageUser, Resource{User: user(member("S1"), member("S2"))}, roster.EFORBIDDEN},
		{"a school the user left does not count", admin("S1"), ManageUser, Resource{User: user(member("S1"), left)}, ""},
		{"a user with no membership is the tenant's", admin("S1"), ManageUser, Resource{User: user()}, roster.EFORBIDDEN},
		{"a school's admin is no school admin's to manage", admin("S1"), ManageUser, Resource{User: user(member("S1", roster.RoleOrgAdmin))}, roster.EFORBIDDEN},
		{"the tenant admin manages admins", admin("T"), ManageUser, Resource{User: user(member("S1", roster.RoleOrgAdmin))}, ""},
		{"another tenant's user is not found", admin("T"), ManageUser, Resource{User: &User{ID: "u", RootOrgID: "B"}}, roster.ENOTFOUND},
		{"nobody", nil, ReadOrg, Resource{}, roster.EUNAUTHORIZED},
		{"operators may create tenants", roster.SystemPrincipal, CreateTenant, Resource{}, ""},
		{"operators read no report", roster.SystemPrincipal, UseReports, Resource{Course: course}, roster.EFORBIDDEN},
		{"the creator's own report", creator, UseReports, Resource{Course: course, Owner: "cr"}, ""},
		{"a report another creator requested", creator, UseReports, Resource{Course: course, Owner: "earlier"}, roster.EFORBIDDEN},
		{"school admin grants roles in their school", admin("S1"), GrantRoles, Resource{Tenant: "T", Org: "S1", Roles: []string{roster.RoleCourseMentor}}, ""},
		{"but not ORG_ADMIN", admin("S1"), GrantRoles, Resource{Tenant: "T", Org: "S1", Roles: []string{roster.RoleOrgAdmin}}, roster.EFORBIDDEN},
		{"nor in another school", admin("S1"), GrantRoles, Resource{Tenant: "T", Org: "S2"}, roster.EFORBIDDEN},
	} {
		if got := roster.ErrorCode(Decide(c.p, c.a, c.r)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// Pending terms refuse what the role they cover allows, name the terms,
// and leave alone what the caller may do without the role.
func TestPendingTermsGate(t *testing.T) {
	pending := func(p *roster.Principal, kinds ...string) *roster.Principal { q := *p; q.PendingTnc = kinds; return &q }
	admin := &roster.Principal{UserID: "adm", RootOrgID: "T",
		Grants: []roster.Grant{{OrgID: "T", RootOrgID: "T", Roles: []string{roster.RoleOrgAdmin, roster.RoleContentCreator}}}}
	pupil := &User{ID: "u", RootOrgID: "T", Memberships: []roster.Membership{{OrganisationID: "S1", Roles: []string{roster.RolePublic}}}}
	course := &roster.Course{ID: "c", RootOrgID: "T", CreatedBy: "adm"}
	for _, c := range []struct {
		name string
		p    *roster.Principal
		a    Action
		r    Resource
		want string // message, "" when allowed
	}{
		{"admin act", pending(admin, roster.TncOrgAdmin), ManageUser, Resource{User: pupil}, MsgAcceptOrgAdminTnc},
		{"granting roles", pending(admin, roster.TncOrgAdmin), GrantRoles, Resource{Tenant: "T", Org: "S1"}, MsgAcceptOrgAdminTnc},
		{"a member's masked profile needs no admin", pending(admin, roster.TncOrgAdmin), ReadUser, Resource{User: pupil}, ""},
		{"own profile", pending(admin, roster.TncOrgAdmin), UpdateUser, Resource{User: &User{ID: "adm", RootOrgID: "T"}}, ""},
		{"accepting", pending(admin, roster.TncOrgAdmin, roster.TncReportViewer), AcceptTnc, Resource{User: &User{ID: "adm", RootOrgID: "T"}}, ""},
		{"creating a course is the creator's, not the admin's", pending(admin, roster.TncOrgAdmin), CreateCourse, Resource{Tenant: "T"}, ""},
		{"reports", pending(admin, roster.TncReportViewer), UseReports, Resource{Course: course}, MsgAcceptReportViewerTnc},
		{"reports with only platform terms pending", pending(admin, roster.TncPlatform), UseReports, Resource{Course: course}, ""},
		{"a refusal anyway stays that refusal", pending(admin, roster.TncOrgAdmin), CreateTenant, Resource{}, "only a platform operator can create a tenant"},
		{"nobody accepts for another", admin, AcceptTnc, Resource{User: pupil}, "only the user themself can accept terms and conditions"},
	} {
		got := ""
		if err := Decide(c.p, c.a, c.r); err != nil {
			got = err.(*roster.Error).Message
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := TncFor(admin); len(got) != 3 {
		t.Errorf("TncFor(admin and creator) = %v", got)
	}
}
