package report

import (
	"context"
	"slices"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// A plain self sign-up records associationType 2 (self-declared) on its
// custodian membership, approved: the user established it themselves, and
// seed 001 has no other value for that. The association alone never makes
// a user state-validated: without the tenant bit and a membership of a
// state, the exhaust shows them as seed 000's self-signed-up user (declared
// location, custodian's name, no external id).
func TestSelfSignedUpUserIsNotStateValidated(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db, Config{})
		ctx := context.Background()
		up, err := f.Reg.SignUp(ctx, nil, registry.NewUser{Password: "secret-pass-1", YearOfBirth: "1990",
			User: roster.User{FirstName: "Asha", LastName: "S", Email: "asha.signup@example.org", TncAcceptedVersion: "v1",
				ProfileLocation: []roster.LocationRef{{Code: "32", Type: "state"}, {Code: "3201", Type: "district"}}}})
		if err != nil || up.Outcome != registry.SignUpCreated {
			t.Fatalf("sign-up: %+v %v", up, err)
		}
		if err := f.Reg.ActivateSignUp(ctx, up.ID, roster.LookupEmail); err != nil {
			t.Fatal(err)
		}
		ms, err := store.Memberships(ctx, db, up.ID)
		if err != nil || len(ms) != 1 || ms[0].AssociationType != registry.SignUpAssociation || !ms[0].IsApproved {
			t.Fatalf("memberships %+v %v", ms, err)
		}
		if u, err := store.GetUser(ctx, db, up.ID); err != nil || u.FlagsValue&roster.FlagTenantVerified != 0 {
			t.Fatalf("a self-signed-up user has the tenant bit: %v", err)
		}
		learner := f.Principal(t, up.ID)
		if _, err := f.Courses.Enrol(ctx, learner, f.b2.ID, up.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Courses.RecordConsent(ctx, learner, course.ConsentInput{UserID: up.ID, CourseID: f.course.ID, Status: roster.ConsentActive}); err != nil {
			t.Fatal(err)
		}
		req := f.runNow(t, f.b2.ID)
		rows := parseCSV(t, readArchive(t, req.FilePath, testPassword))
		i := slices.IndexFunc(rows, func(r []string) bool { return r[4] == up.ID })
		if i < 0 {
			t.Fatalf("no row for the user in\n%s", dump(rows))
		}
		if got, want := rows[i][5:10], []string{"Asha S", "Kerala", "Ernakulam", "Custodian", ""}; !slices.Equal(got, want) {
			t.Fatalf("self-signed-up user's row: %q, want %q", got, want)
		}
	})
}
