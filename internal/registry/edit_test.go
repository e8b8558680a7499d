package registry_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

func ptr[T any](v T) *T { return &v }

// auditDetails lists the detail of every audit entry of action on user id.
func auditDetails(t *testing.T, f *fixture, action, id string) []string {
	t.Helper()
	rows, err := f.db.Query(f.ctx, `SELECT detail FROM audit_log WHERE action = $1 AND object_id = $2 ORDER BY id`, action, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestEditEveryProfileField(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		st := f.location(t, "state", "33", "")
		f.location(t, "district", "3301", st.ID)
		u := f.mustCreate(t, f.adminA, f.schoolA.ID, "edit@tn.gov.in", "")
		got, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{
			FirstName: ptr(" Meena "), LastName: ptr("Kumari"), DOB: ptr("1990-04-01"), Gender: ptr("female"),
			Language: &[]string{"tamil", "English"}, Position: ptr("Head teacher"),
			Framework:       &map[string][]string{"gradeLevel": {"class 5"}, "subject": {"mathematics"}},
			ProfileLocation: &[]roster.LocationRef{{Code: "33", Type: "state"}, {Code: "3301", Type: "district"}},
			IfVersion:       ptr(u.Version),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.FirstName != "Meena" || got.LastName != "Kumari" || got.DOB != "1990-04-01" || got.Gender != "Female" ||
			!slices.Equal(got.Language, []string{"Tamil", "English"}) || got.Position != "Head teacher" ||
			!slices.Equal(got.Framework["gradeLevel"], []string{"Class 5"}) || !slices.Equal(got.Framework["subject"], []string{"Mathematics"}) ||
			len(got.ProfileLocation) != 2 {
			t.Fatalf("after the edit: %+v", got.User)
		}
		if got.UpdatedBy != f.adminA.UserID || got.UpdatedDate == nil || got.Version != u.Version+1 {
			t.Fatalf("updatedBy %q updatedDate %v version %d (was %d)", got.UpdatedBy, got.UpdatedDate, got.Version, u.Version)
		}
		details := auditDetails(t, f, "user.update", u.ID)
		if len(details) != 1 || !strings.HasPrefix(details[0], "fields=") {
			t.Fatalf("audit = %q, want one entry of field names", details)
		}
		for _, want := range []string{"firstName", "lastName", "DOB", "gender", "language", "position", "framework", "profileLocation"} {
			if !strings.Contains(details[0], want) {
				t.Errorf("audit %q lacks %s", details[0], want)
			}
		}
		for _, value := range []string{"Meena", "Kumari", "1990", "Tamil", "Head"} {
			if strings.Contains(details[0], value) {
				t.Errorf("audit %q holds the value %q", details[0], value)
			}
		}

		// The rule book's messages come back per field, and nothing changes.
		_, err = f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{
			Gender: ptr("robot"), Language: &[]string{"Klingon"}, Framework: &map[string][]string{"gradeLevel": {"Class 99"}}, FirstName: ptr(""),
		})
		var re *roster.Error
		if !errors.As(err, &re) || re.Code != roster.EINVALID {
			t.Fatalf("invalid edit: %v", err)
		}
		fields := map[string]bool{}
		for _, fe := range re.Fields {
			fields[fe.Field] = true
		}
		for _, want := range []string{registry.FieldGender, registry.FieldLanguage, registry.FieldGrade, registry.FieldFirstName} {
			if !fields[want] {
				t.Errorf("no error for %s in %v", want, re.Fields)
			}
		}
		// An edit that changes nothing writes nothing.
		again, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{FirstName: ptr("Meena")})
		if err != nil || again.Version != got.Version {
			t.Fatalf("no-op edit: version %d → %d, %v", got.Version, again.Version, err)
		}
		if n := len(auditDetails(t, f, "user.update", u.ID)); n != 1 {
			t.Errorf("%d audit entries after a no-op, want 1", n)
		}
	})
}

// Seed 001: a changed email or phone moves the lookup row, the old value
// is kept sealed as prevUsed*, and the new one is not yet verified.
func TestEditContactMovesLookup(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{
			User:  roster.User{FirstName: "Move", Email: "old@tn.gov.in", Phone: "9876511111"},
			OrgID: f.schoolA.ID, Password: "secret-pass-1", EmailVerified: ptr(true), PhoneVerified: ptr(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !u.EmailVerified || !u.PhoneVerified {
			t.Fatalf("created unverified: %+v", u.User)
		}
		got, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{Email: ptr("New@TN.gov.in"), Phone: ptr("9876522222")})
		if err != nil {
			t.Fatal(err)
		}
		if got.Email != "new@tn.gov.in" || got.PrevUsedEmail != "old@tn.gov.in" || got.EmailVerified {
			t.Errorf("email %q prev %q verified %v", got.Email, got.PrevUsedEmail, got.EmailVerified)
		}
		if got.Phone != "+919876522222" || got.PrevUsedPhone != "+919876511111" || got.PhoneVerified {
			t.Errorf("phone %q prev %q verified %v", got.Phone, got.PrevUsedPhone, got.PhoneVerified)
		}
		for _, q := range []struct {
			typ, value string
			found      bool
		}{{roster.LookupEmail, "old@tn.gov.in", false}, {roster.LookupPhone, "9876511111", false},
			{roster.LookupEmail, "new@tn.gov.in", true}, {roster.LookupPhone, "9876522222", true}} {
			_, err := f.reg.FindUser(f.ctx, f.adminA, registry.LookupQuery{Type: q.typ, Value: q.value})
			if (err == nil) != q.found {
				t.Errorf("lookup %s: %v, want found=%v", q.typ, err, q.found)
			}
		}
		// The old values are free for someone else; the new ones are not.
		f.mustCreate(t, f.adminA, f.schoolA.ID, "old@tn.gov.in", "9876511111")
		other := f.mustCreate(t, f.adminA, f.schoolA.ID, "other@tn.gov.in", "")
		if _, err := f.reg.UpdateUser(f.ctx, f.adminA, other.ID, registry.UserPatch{Email: ptr("new@tn.gov.in")}); code(err) != roster.ECONFLICT {
			t.Fatalf("edit to a taken email: %v", err)
		}
		if d := auditDetails(t, f, "user.update", u.ID); len(d) != 1 || d[0] != "fields=countryCode,email,phone" && d[0] != "fields=email,phone" {
			t.Errorf("audit = %q", d)
		}
	})
}

func TestEditRolesGoesThroughTheGrantRule(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		tt := &testkit.Tenants{Reg: f.reg}
		schoolAdmin := tt.Admin(t, f.schoolA.ID, "head@school.in")
		u := f.mustCreate(t, f.adminA, f.schoolA.ID, "roles@tn.gov.in", "")
		school := f.schoolA.ID
		set := func(p *roster.Principal, roles ...string) error {
			_, err := f.reg.UpdateUser(f.ctx, p, u.ID, registry.UserPatch{Roles: &map[string][]string{school: roles}})
			return err
		}
		if err := set(schoolAdmin, "course mentor", roster.RoleContentCreator); err != nil {
			t.Fatal(err)
		}
		p := f.principal(t, u.ID)
		if !p.HasRole(school, roster.RoleCourseMentor) || !p.HasRole(school, roster.RoleContentCreator) || p.HasRole(school, roster.RolePublic) {
			t.Fatalf("grants after the edit: %+v", p.Grants)
		}
		if err := set(schoolAdmin, roster.RoleOrgAdmin); code(err) != roster.EFORBIDDEN {
			t.Fatalf("school admin granted ORG_ADMIN: %v", err)
		}
		if err := set(f.adminA, "WIZARD"); code(err) != roster.EINVALID {
			t.Fatalf("unknown role: %v", err)
		}
		// The user cannot give themselves roles, whatever else they may edit.
		if err := set(p, roster.RoleContentReviewer); code(err) != roster.EFORBIDDEN {
			t.Fatalf("self-granted role: %v", err)
		}
		// Only current memberships' roles are edited here.
		_, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{Roles: &map[string][]string{f.stateA.ID: {roster.RolePublic}}})
		if code(err) != roster.EINVALID {
			t.Fatalf("roles in an organisation the user is not in: %v", err)
		}
		if _, err := f.reg.UpdateUser(f.ctx, f.adminB, u.ID, registry.UserPatch{Roles: &map[string][]string{school: {roster.RolePublic}}}); code(err) != roster.ENOTFOUND {
			t.Fatalf("other tenant's admin: %v", err)
		}
		if err := set(f.adminA, roster.RoleOrgAdmin); err != nil {
			t.Fatal(err)
		}
		// Now an admin, the user is beyond the school admin's reach.
		if err := set(schoolAdmin, roster.RolePublic); code(err) != roster.EFORBIDDEN {
			t.Fatalf("school admin demoted an admin: %v", err)
		}
		if d := auditDetails(t, f, "user.update", u.ID); len(d) != 2 || d[0] != "fields=roles" {
			t.Errorf("audit = %q", d)
		}
	})
}

// Two admins load the same user and save different changes: the second
// save fails with ESTALE and the first one's change stays. Run both from
// the same version at once, so the engine's handling decides, not the
// order of the calls.
func TestRacingEditsOneWins(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.mustCreate(t, f.adminA, f.schoolA.ID, "race@tn.gov.in", "")
		names := []string{"Alpha", "Bravo"}
		errs := make([]error, len(names))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, name := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{LastName: ptr(name), IfVersion: ptr(u.Version)})
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatal("both stale-based edits were written")
				}
				winner = i
			case code(err) != roster.ESTALE:
				t.Fatalf("edit %d: %v, want ESTALE", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("neither edit was written")
		}
		got, err := f.reg.GetUser(f.ctx, f.adminA, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastName != names[winner] || got.Version != u.Version+1 {
			t.Fatalf("lastName %q version %d, want %q at %d", got.LastName, got.Version, names[winner], u.Version+1)
		}
		// A save from the old copy, made later, is refused too; from the new
		// one it goes through.
		if _, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{LastName: ptr("Late"), IfVersion: ptr(u.Version)}); code(err) != roster.ESTALE {
			t.Fatalf("late stale edit: %v", err)
		}
		if _, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{LastName: ptr("Late"), IfVersion: ptr(got.Version)}); err != nil {
			t.Fatal(err)
		}
	})
}

// The version check is in the UPDATE itself: a write based on a row read
// before another write commits is refused even without IfVersion, so a
// read-modify-write in any path cannot undo another's change.
func TestUpdateUserRefusesAnOutdatedRecord(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.mustCreate(t, f.adminA, f.schoolA.ID, "outdated@tn.gov.in", "")
		first, err := store.GetUser(f.ctx, db, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		second := *first
		first.LastName = "One"
		if err := store.UpdateUser(f.ctx, db, first); err != nil {
			t.Fatal(err)
		}
		second.LastName = "Two"
		if err := store.UpdateUser(f.ctx, db, &second); !errors.Is(err, store.ErrStale) {
			t.Fatalf("write over a newer row: %v", err)
		}
		if got, _ := store.GetUser(f.ctx, db, u.ID); got.LastName != "One" {
			t.Fatalf("lastName %q", got.LastName)
		}
	})
}

func TestTransferEndsOldMembershipAndOpensNew(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		schoolB, err := f.reg.CreateOrg(f.ctx, roster.SystemPrincipal, roster.Organisation{Name: "GHS Egmore", RootOrgID: f.stateA.ID})
		if err != nil {
			t.Fatal(err)
		}
		otherTenantSchool, err := f.reg.CreateOrg(f.ctx, roster.SystemPrincipal, roster.Organisation{Name: "ZPHS Guntur", RootOrgID: f.stateB.ID})
		if err != nil {
			t.Fatal(err)
		}
		tt := &testkit.Tenants{Reg: f.reg}
		adminX := tt.Admin(t, f.schoolA.ID, "x@school.in")
		adminY := tt.Admin(t, schoolB.ID, "y@school.in")
		both := tt.Admin(t, f.schoolA.ID, "both@school.in")
		if _, err := f.reg.AddMembership(f.ctx, f.adminA, both.UserID, schoolB.ID, []string{roster.RoleOrgAdmin}, 0); err != nil {
			t.Fatal(err)
		}
		both = f.principal(t, both.UserID)
		u := f.mustCreate(t, f.adminA, f.schoolA.ID, "mover@tn.gov.in", "", roster.RoleContentCreator)
		move := registry.Transfer{From: f.schoolA.ID, To: schoolB.ID, Roles: []string{"course mentor"}}

		// The school the teacher leaves cannot push them into one its admin
		// does not run, nor can the receiving school pull them in.
		if _, err := f.reg.TransferUser(f.ctx, adminX, u.ID, move); code(err) != roster.EFORBIDDEN {
			t.Fatalf("admin of X only: %v", err)
		}
		if _, err := f.reg.TransferUser(f.ctx, adminY, u.ID, move); code(err) != roster.EFORBIDDEN {
			t.Fatalf("admin of Y only: %v", err)
		}
		if _, err := f.reg.TransferUser(f.ctx, f.adminB, u.ID, move); code(err) != roster.ENOTFOUND {
			t.Fatalf("other tenant's admin: %v", err)
		}
		for _, bad := range []registry.Transfer{
			{From: f.schoolA.ID, To: otherTenantSchool.ID},
			{From: schoolB.ID, To: f.schoolA.ID},
			{From: f.schoolA.ID, To: f.schoolA.ID},
			{From: f.schoolA.ID, To: "no-such-org"},
			{From: f.schoolA.ID, To: schoolB.ID, Roles: []string{"WIZARD"}},
		} {
			if _, err := f.reg.TransferUser(f.ctx, f.adminA, u.ID, bad); code(err) != roster.EINVALID {
				t.Errorf("transfer %+v: %v, want EINVALID", bad, err)
			}
		}
		before, _ := f.reg.GetUser(f.ctx, f.adminA, u.ID)
		if _, err := f.reg.TransferUser(f.ctx, both, u.ID, registry.Transfer{From: f.schoolA.ID, To: schoolB.ID, Roles: move.Roles, IfVersion: ptr(before.Version - 1)}); code(err) != roster.ESTALE {
			t.Fatalf("stale transfer: %v", err)
		}
		got, err := f.reg.TransferUser(f.ctx, both, u.ID, registry.Transfer{From: f.schoolA.ID, To: schoolB.ID, Roles: move.Roles, IfVersion: ptr(before.Version)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != before.Version+1 || got.UpdatedBy != both.UserID {
			t.Errorf("version %d updatedBy %q", got.Version, got.UpdatedBy)
		}
		p := f.principal(t, u.ID)
		if p.HasRole(f.schoolA.ID, roster.RoleContentCreator) || !p.HasRole(schoolB.ID, roster.RoleCourseMentor) {
			t.Fatalf("grants after the move: %+v", p.Grants)
		}
		h, err := f.reg.History(f.ctx, p, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].OrganisationID != f.schoolA.ID || h[0].Current || h[0].OrgLeftDate == nil ||
			!slices.Equal(h[0].Roles, []string{roster.RoleContentCreator}) || h[0].OrgName != f.schoolA.Name ||
			h[1].OrganisationID != schoolB.ID || !h[1].Current || h[1].OrgLeftDate != nil || h[1].OrgName != "GHS Egmore" {
			t.Fatalf("history = %+v", h)
		}
		if _, err := f.reg.History(f.ctx, f.adminB, u.ID); code(err) != roster.ENOTFOUND {
			t.Fatalf("history to another tenant: %v", err)
		}
		if d := auditDetails(t, f, "user.transfer", u.ID); len(d) != 1 || !strings.Contains(d[0], "to="+schoolB.ID) {
			t.Errorf("audit = %q", d)
		}
		// Now at school B only, the teacher is Y's to move back.
		if _, err := f.reg.TransferUser(f.ctx, adminY, u.ID, registry.Transfer{From: schoolB.ID, To: f.schoolA.ID}); code(err) != roster.EFORBIDDEN {
			t.Fatalf("admin of Y into X: %v", err)
		}
	})
}

// Without a precondition the last write wins, but never by undoing the
// other: two racing edits of different fields both stay.
func TestRacingEditsWithoutIfMatchKeepBoth(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.mustCreate(t, f.adminA, f.schoolA.ID, "both@tn.gov.in", "")
		patches := []registry.UserPatch{{LastName: ptr("Changed")}, {Position: ptr("Head teacher")}}
		errs := make([]error, len(patches))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, patch := range patches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = f.reg.UpdateUser(f.ctx, f.adminA, u.ID, patch)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("edit %d: %v", i, err)
			}
		}
		got, err := f.reg.GetUser(f.ctx, f.adminA, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastName != "Changed" || got.Position != "Head teacher" || got.Version != u.Version+2 {
			t.Fatalf("lastName %q position %q version %d", got.LastName, got.Position, got.Version)
		}
	})
}
