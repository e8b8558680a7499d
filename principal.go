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
}

// Grant is a set of roles within one organisation.
type Grant struct {
	OrgID     string   `json:"orgId"`
	RootOrgID string   `json:"rootOrgId"`
	Roles     []string `json:"roles"`
}

// SystemPrincipal is used by operator commands (roster user create …).
var SystemPrincipal = &Principal{UserID: "system", System: true}

// HasRole reports whether p holds role in orgID (or in orgID's tenant when
// the grant is on the tenant itself).
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

// HasRoleInTenant reports whether p holds role in any organisation of the
// tenant rootOrgID.
func (p *Principal) HasRoleInTenant(rootOrgID, role string) bool {
	if p == nil {
		return false
	}
	for _, g := range p.Grants {
		if g.RootOrgID == rootOrgID && contains(g.Roles, role) {
			return true
		}
	}
	return false
}

// HasAnyRole reports whether p holds role anywhere.
func (p *Principal) HasAnyRole(role string) bool {
	if p == nil {
		return false
	}
	for _, g := range p.Grants {
		if contains(g.Roles, role) {
			return true
		}
	}
	return false
}

// IsOrgAdminOf reports whether p may administer users of tenant rootOrgID:
// an ORG_ADMIN grant on the tenant or any of its organisations.
func (p *Principal) IsOrgAdminOf(rootOrgID string) bool {
	return p != nil && (p.System || p.HasRoleInTenant(rootOrgID, RoleOrgAdmin))
}

// IsTenantAdmin reports whether p holds ORG_ADMIN on the tenant itself (not
// only on one of its schools): needed to grant ORG_ADMIN or to act on
// another admin, so a school's admin cannot take over the state.
func (p *Principal) IsTenantAdmin(rootOrgID string) bool {
	return p != nil && (p.System || p.HasRole(rootOrgID, RoleOrgAdmin))
}

// IsAdminOfOrg reports whether p may manage the members of organisation
// orgID of tenant rootOrgID: its own ORG_ADMIN or the tenant's.
func (p *Principal) IsAdminOfOrg(orgID, rootOrgID string) bool {
	return p.IsTenantAdmin(rootOrgID) || p.HasRole(orgID, RoleOrgAdmin)
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
