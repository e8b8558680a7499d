// Package coursetest builds a small registry of tenants and users for tests
// of courses and reports, through the same services production uses.
package coursetest

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/testkit"
)

// World is a custodian, two state tenants (each with an org admin), a small
// location master and the services over them.
type World struct {
	DB        store.Engine
	Keys      *pii.Keyring
	Reg       *registry.Service
	Courses   *course.Service
	Custodian *roster.Organisation
	State     *roster.Organisation // "Tamil Nadu", channel TN
	Other     *roster.Organisation // "Andhra Pradesh", channel AP
	Admin     *roster.Principal    // ORG_ADMIN of State
	OtherAdm  *roster.Principal    // ORG_ADMIN of Other
	// Locations by code: "33" Tamil Nadu (State's location) with districts
	// "3301" Chennai and "3302" Madurai, block "330201" Melur under Madurai;
	// "32" Kerala with district "3201" Ernakulam.
	Locations map[string]*roster.Location
}

// NewWorld builds the world in db (already migrated).
func NewWorld(t testing.TB, db store.Engine) *World {
	t.Helper()
	ctx := context.Background()
	w := &World{DB: db, Keys: testkit.Keyring(t)}
	w.Reg = registry.New(db, w.Keys)
	w.Reg.HashPassword = testkit.CheapHash
	w.Courses = course.New(db)
	var err error
	if w.Custodian, err = w.Reg.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	sys := roster.SystemPrincipal
	w.Locations = map[string]*roster.Location{}
	for _, l := range []struct{ code, name, typ, parent string }{
		{"33", "Tamil Nadu", roster.LocationState, ""},
		{"3301", "Chennai", roster.LocationDistrict, "33"},
		{"3302", "Madurai", roster.LocationDistrict, "33"},
		{"330201", "Melur", roster.LocationBlock, "3302"},
		{"32", "Kerala", roster.LocationState, ""},
		{"3201", "Ernakulam", roster.LocationDistrict, "32"},
	} {
		loc := roster.Location{Code: l.code, Name: l.name, Type: l.typ}
		if l.parent != "" {
			loc.ParentID = w.Locations[l.parent].ID
		}
		if w.Locations[l.code], err = w.Reg.CreateLocation(ctx, sys, loc); err != nil {
			t.Fatal(err)
		}
	}
	if w.State, err = w.Reg.CreateOrg(ctx, sys, roster.Organisation{Name: "Tamil Nadu", Channel: "TN", IsTenant: true,
		LocationIDs: []string{w.Locations["33"].ID}}); err != nil {
		t.Fatal(err)
	}
	if w.Other, err = w.Reg.CreateOrg(ctx, sys, roster.Organisation{Name: "Andhra Pradesh", Channel: "AP", IsTenant: true}); err != nil {
		t.Fatal(err)
	}
	w.Admin = w.Principal(t, w.User(t, registry.NewUser{OrgID: w.State.ID, Roles: []string{roster.RoleOrgAdmin}}))
	w.OtherAdm = w.Principal(t, w.User(t, registry.NewUser{OrgID: w.Other.ID, Roles: []string{roster.RoleOrgAdmin}}))
	return w
}

var userSeq atomic.Int64

// User creates a user through the registry (as the system). Missing first
// name and email are filled in so callers state only what matters.
func (w *World) User(t testing.TB, in registry.NewUser) string {
	t.Helper()
	if in.User.FirstName == "" {
		in.User.FirstName = "Learner"
	}
	if in.User.Email == "" && in.User.Phone == "" {
		in.User.Email = "user" + strconv.FormatInt(userSeq.Add(1), 10) + "@example.org"
	}
	u, err := w.Reg.CreateUser(context.Background(), roster.SystemPrincipal, in)
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u.ID
}

// Principal loads a user's principal as authentication would.
func (w *World) Principal(t testing.TB, userID string) *roster.Principal {
	t.Helper()
	p, err := w.Reg.Principal(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
