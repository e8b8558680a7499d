package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// assocOf is the associationType of userID's membership of orgID.
func (f *fixture) assocOf(t *testing.T, userID, orgID string) int {
	t.Helper()
	ms, err := store.Memberships(f.ctx, f.db, userID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.OrganisationID == orgID {
			return m.AssociationType
		}
	}
	t.Fatalf("user has no membership of %s", orgID)
	return 0
}

// Seed 001 has no associationType 0: a user an admin creates without
// naming one is a system upload (4), or what the installation configures;
// PUT membership adds a new membership as 4 and keeps how an existing one
// was made.
func TestEveryPathStoresASeedAssociationType(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.mustCreate(t, f.adminA, f.schoolA.ID, "assoc1@example.org", "")
		if got := f.assocOf(t, u.ID, f.schoolA.ID); got != roster.AssociationSystemUpload {
			t.Errorf("admin-created user: associationType %d, want 4", got)
		}
		if got := f.assocOf(t, f.adminA.UserID, f.stateA.ID); got != roster.AssociationSystemUpload {
			t.Errorf("operator-created admin: associationType %d, want 4", got)
		}

		sso, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Sso", Email: "assoc2@example.org"},
			OrgID: f.stateA.ID, AssociationType: roster.AssociationSSO})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.assocOf(t, sso.ID, f.stateA.ID); got != roster.AssociationSSO {
			t.Errorf("named SSO: associationType %d, want 1", got)
		}

		// A new membership, then a role change of the SSO one.
		if _, err := f.reg.AddMembership(f.ctx, f.adminA, sso.ID, f.schoolA.ID, nil, 0); err != nil {
			t.Fatal(err)
		}
		if got := f.assocOf(t, sso.ID, f.schoolA.ID); got != roster.AssociationSystemUpload {
			t.Errorf("PUT membership: associationType %d, want 4", got)
		}
		if _, err := f.reg.AddMembership(f.ctx, f.adminA, sso.ID, f.stateA.ID, []string{roster.RoleCourseMentor}, 0); err != nil {
			t.Fatal(err)
		}
		if got := f.assocOf(t, sso.ID, f.stateA.ID); got != roster.AssociationSSO {
			t.Errorf("role change of an SSO membership: associationType %d, want 1 kept", got)
		}

		f.reg.DefaultAssociation = roster.AssociationSelfDeclared
		d := f.mustCreate(t, f.adminA, f.schoolA.ID, "assoc3@example.org", "")
		if got := f.assocOf(t, d.ID, f.schoolA.ID); got != roster.AssociationSelfDeclared {
			t.Errorf("configured default 2: associationType %d", got)
		}

		var bulk []string
		err = store.InTx(f.ctx, db, func(tx store.Tx) error {
			var err error
			bulk, err = f.reg.CreateUsersTx(f.ctx, tx, f.adminA, []registry.NewUser{{User: roster.User{FirstName: "Bulk", Email: "assoc4@example.org"}, OrgID: f.schoolA.ID}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.assocOf(t, bulk[0], f.schoolA.ID); got != roster.AssociationSelfDeclared {
			t.Errorf("bulk create: associationType %d, want the configured 2", got)
		}
	})
}

// Migration 00009 turns the 0s older versions stored into 4 and leaves
// seed values alone.
func TestMigrationTurnsZeroAssociationsIntoSystemUpload(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		ctx := context.Background()
		down, ok := db.(interface {
			MigrateDownTo(context.Context, int64) error
		})
		if !ok {
			t.Fatalf("%T cannot migrate down", db)
		}
		zero := f.mustCreate(t, f.adminA, f.schoolA.ID, "zero@example.org", "")
		sso := f.mustCreate(t, f.adminA, f.schoolA.ID, "one@example.org", "")
		if err := down.MigrateDownTo(ctx, 8); err != nil {
			t.Fatal(err)
		}
		now := roster.Now().Add(-time.Hour)
		for id, assoc := range map[string]int{zero.ID: 0, sso.ID: roster.AssociationSSO} {
			if err := store.UpsertMembership(ctx, db, roster.Membership{UserID: id, OrganisationID: f.schoolA.ID,
				AssociationType: assoc, Roles: []string{roster.RolePublic}, IsApproved: true, OrgJoinDate: now}); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.assocOf(t, zero.ID, f.schoolA.ID); got != 0 {
			t.Fatalf("before the migration: %d", got)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.assocOf(t, zero.ID, f.schoolA.ID); got != roster.AssociationSystemUpload {
			t.Errorf("0 became %d, want 4", got)
		}
		if got := f.assocOf(t, sso.ID, f.schoolA.ID); got != roster.AssociationSSO {
			t.Errorf("1 became %d, want 1 kept", got)
		}
	})
}
