package roster

import "context"

// Principal is the authenticated caller. Roles are held per organisation;
// RootOrgID of each grant says which tenant the grant belongs to, which is
// what tenant isolation checks.
type Principal struct {
	UserID    string  `json:"userId"`
	Username  string  `json:"userName,omitempty"`
	RootOrgID string  `json:"rootOrgId"` // the user's own tenant
	Grants    []Grant `json:"grants"`
	// System is set for operator CLI commands running with direct database
	// access; HTTP callers never have it.
	System bool `json:"-"`
	// SessionGeneration is the user's current session generation: Roster
	// tokens issued under an older one (before a password change) are
	// refused.
	SessionGeneration int64 `json:"-"`
	// PendingTnc are the kinds of terms that apply to the caller (the
	// platform's, and their roles') whose current version they have not
	// accepted. Sign-in and /me show it; the policy refuses what the
	// terms cover until they are accepted.
	PendingTnc []string `json:"pendingTnc,omitempty"`
	// PasswordMustChange is set while the caller's password is one an
	// administrator or an upload chose: the policy then allows nothing but
	// reading their own profile, and POST /me/password (which needs no
	// permission) clears it.
	PasswordMustChange bool `json:"passwordMustChange,omitempty"`
}

// Grant is a set of roles within one organisation.
type Grant struct {
	OrgID     string   `json:"orgId"`
	RootOrgID string   `json:"rootOrgId"`
	Roles     []string `json:"roles"`
}

// SystemPrincipal is used by operator commands (roster user create …).
var SystemPrincipal = &Principal{UserID: "system", System: true}

// HasRole reports whether p holds role in orgID itself. It only reads the
// grants: what a role allows is decided by internal/authz alone.
func (p *Principal) HasRole(orgID, role string) bool {
	if p == nil {
		return false
	}
	for _, g := range p.Grants {
		if g.OrgID == orgID && contains(g.Roles, role) {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller stored by WithPrincipal, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
