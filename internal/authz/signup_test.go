package authz_test

import (
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
)

// Sign-up is the one action open to visitors: their own account, no role
// but PUBLIC, and a managed child only for the parent themself.
func TestSignUpPolicy(t *testing.T) {
	parent := &roster.Principal{UserID: "parent", RootOrgID: "tn"}
	other := &roster.Principal{UserID: "other", RootOrgID: "tn"}
	for _, c := range []struct {
		name string
		p    *roster.Principal
		r    authz.Resource
		want string
	}{
		{"visitor", nil, authz.Resource{}, ""},
		{"visitor as PUBLIC", nil, authz.Resource{Roles: []string{roster.RolePublic}}, ""},
		{"visitor asking for a role", nil, authz.Resource{Roles: []string{roster.RoleOrgAdmin}}, roster.EFORBIDDEN},
		{"parent's child", parent, authz.Resource{User: &authz.User{ID: "parent"}}, ""},
		{"someone else's child", other, authz.Resource{User: &authz.User{ID: "parent"}}, roster.EFORBIDDEN},
		{"visitor naming a parent", nil, authz.Resource{User: &authz.User{ID: "parent"}}, roster.EFORBIDDEN},
		{"operator", roster.SystemPrincipal, authz.Resource{User: &authz.User{ID: "parent"}}, ""},
	} {
		if got := roster.ErrorCode(authz.Decide(c.p, authz.SignUp, c.r)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
