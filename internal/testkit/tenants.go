package testkit

import (
	"context"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
)

// Tenants is the registry most tests start from: the custodian, two state
// tenants, a school in the first, and an org admin of each state.
type Tenants struct {
	Reg            *registry.Service
	StateA, StateB *roster.Organisation // "Tamil Nadu" (TN), "Andhra Pradesh" (AP)
	SchoolA        *roster.Organisation // in StateA, external id SCH-1
	AdminA, AdminB *roster.Principal    // ORG_ADMIN of StateA, StateB
}

// NewTenants builds Tenants in db (already migrated) through the registry,
// with cheap password hashing.
func NewTenants(t testing.TB, db store.Engine) *Tenants {
	t.Helper()
	ctx := context.Background()
	tt := &Tenants{Reg: registry.New(db, Keyring(t))}
	tt.Reg.HashPassword = CheapHash
	if _, err := tt.Reg.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	org := func(o roster.Organisation) *roster.Organisation {
		created, err := tt.Reg.CreateOrg(ctx, roster.SystemPrincipal, o)
		if err != nil {
			t.Fatal(err)
		}
		return created
	}
	tt.StateA = org(roster.Organisation{Name: "Tamil Nadu", Channel: "TN", IsTenant: true})
	tt.StateB = org(roster.Organisation{Name: "Andhra Pradesh", Channel: "AP", IsTenant: true})
	tt.SchoolA = org(roster.Organisation{Name: "GHS Adyar", RootOrgID: tt.StateA.ID, ExternalID: "SCH-1"})
	tt.AdminA = tt.Admin(t, tt.StateA.ID, "admina@tn.gov.in")
	tt.AdminB = tt.Admin(t, tt.StateB.ID, "adminb@ap.gov.in")
	return tt
}

// Admin creates an ORG_ADMIN of orgID (password "admin-pass-1") and returns
// their principal.
func (tt *Tenants) Admin(t testing.TB, orgID, email string) *roster.Principal {
	t.Helper()
	v, err := tt.Reg.CreateUser(context.Background(), roster.SystemPrincipal, registry.NewUser{
		User: roster.User{FirstName: "Admin", Email: email}, OrgID: orgID,
		Roles: []string{roster.RoleOrgAdmin}, Password: "admin-pass-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	return tt.Principal(t, v.ID)
}

// Principal loads a user's principal as authentication would.
func (tt *Tenants) Principal(t testing.TB, userID string) *roster.Principal {
	t.Helper()
	p, err := tt.Reg.Principal(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
