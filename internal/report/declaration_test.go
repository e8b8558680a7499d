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

// Seed 000 fills State, District, Org Name and External ID differently for
// self-signed-up and state-validated users. A self-signed-up teacher whose
// declaration the state approves (issue 11.2) is state-validated from that
// moment: the next User Profile Exhaust takes the school's location and the
// state's name, and shows the declared teacher id.
func TestApprovedDeclarationMakesLearnerStateValidated(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db, Config{})
		ctx := context.Background()
		// Declared Kerala / Ernakulam at sign-up; the school is in Madurai.
		id := f.User(t, registry.NewUser{User: roster.User{FirstName: "Meena", LastName: "T", Email: "meena@example.org",
			ProfileLocation: []roster.LocationRef{{Code: "32", Type: "state"}, {Code: "3201", Type: "district"}}}})
		teacher := f.Principal(t, id)
		if _, err := f.Courses.Enrol(ctx, teacher, f.b2.ID, id); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Courses.RecordConsent(ctx, teacher, course.ConsentInput{UserID: id, CourseID: f.course.ID, Status: roster.ConsentActive}); err != nil {
			t.Fatal(err)
		}
		rowOf := func() []string {
			t.Helper()
			req := f.runNow(t, f.b2.ID)
			rows := parseCSV(t, readArchive(t, req.FilePath, testPassword))
			i := slices.IndexFunc(rows, func(r []string) bool { return r[4] == id })
			if i < 0 {
				t.Fatalf("no row for the teacher in\n%s", dump(rows))
			}
			return rows[i][5:10] // Name, State, District, Org Name, External ID
		}
		if got, want := rowOf(), []string{"Meena T", "Kerala", "Ernakulam", "Custodian", ""}; !slices.Equal(got, want) {
			t.Fatalf("before the declaration: %q, want %q", got, want)
		}

		d, err := f.Reg.Declare(ctx, teacher, registry.DeclarationInput{StateID: f.State.ID, SchoolExternalID: "SCH-1", TeacherID: "TN-DECL-7"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rowOf(), []string{"Meena T", "Kerala", "Ernakulam", "Custodian", ""}; !slices.Equal(got, want) {
			t.Fatalf("while pending: %q, want %q", got, want)
		}
		admin := f.Principal(t, f.User(t, registry.NewUser{OrgID: f.State.ID, Roles: []string{roster.RoleOrgAdmin}}))
		if _, err := f.Reg.DecideDeclaration(ctx, admin, d.ID, registry.Decision{Approve: true}); err != nil {
			t.Fatal(err)
		}
		if got, want := rowOf(), []string{"Meena T", "Tamil Nadu", "Madurai", "Tamil Nadu", "TN-DECL-7"}; !slices.Equal(got, want) {
			t.Fatalf("after approval: %q, want %q", got, want)
		}
	})
}
