package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// TestDeclarations (issue 11.2) in a real browser: a self-signed-up
// teacher declares their school in the console; the school's admin
// approves it in the queue and rejects a second teacher with a reason,
// which that teacher then reads; the first teacher's next User Profile
// Exhaust row, opened with 7-Zip, holds the state-validated values.
func TestDeclarations(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv := startServer(t, engine)
			root := startBrowser(t)
			testDeclarations(t, root, srv, engine == "sqlite")
		})
	}
}

// declarers adds a school in Madurai district, two self-signed-up teachers
// (custodian users, no tenant bit: what sign-up creates) and an admin of
// the school. The first teacher is enrolled in the course's first batch
// and consented.
func (s *server) declarers(t *testing.T) (school *roster.Organisation, kavya, ramesh *registry.UserView) {
	t.Helper()
	ctx := context.Background()
	reg := s.app.Registry
	state, err := reg.CreateLocation(ctx, roster.SystemPrincipal, roster.Location{Code: "33", Name: "Tamil Nadu", Type: roster.LocationState})
	if err != nil {
		t.Fatal(err)
	}
	district, err := reg.CreateLocation(ctx, roster.SystemPrincipal, roster.Location{Code: "3320", Name: "Madurai", Type: roster.LocationDistrict, ParentID: state.ID})
	if err != nil {
		t.Fatal(err)
	}
	if school, err = reg.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "Panchayat Union Middle School, Melur",
		RootOrgID: s.tenantA.ID, ExternalID: "sch-33-2071", LocationIDs: []string{district.ID}}); err != nil {
		t.Fatal(err)
	}
	user := func(orgID, login, first, last string, roles ...string) *registry.UserView {
		t.Helper()
		u, err := reg.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
			User:     roster.User{Username: login, FirstName: first, LastName: last, Email: login + "@example.org"},
			Password: testPassword, OrgID: orgID, Roles: roles})
		if err != nil {
			t.Fatalf("seed %s: %v", login, err)
		}
		s.users[login] = u
		return u
	}
	kavya = user("", "kavya.teacher", "Kavya", "Ilango")
	ramesh = user("", "ramesh.teacher", "Ramesh", "Babu")
	user(school.ID, "selvi.head", "Selvi", "Arumugam", roster.RoleOrgAdmin)
	courses := course.New(s.app.DB)
	if _, err := courses.Enrol(ctx, roster.SystemPrincipal, s.batches[0].ID, kavya.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := courses.RecordConsent(ctx, roster.SystemPrincipal, course.ConsentInput{UserID: kavya.ID, CourseID: s.course.ID, Status: roster.ConsentActive}); err != nil {
		t.Fatal(err)
	}
	return school, kavya, ramesh
}

func testDeclarations(t *testing.T, root context.Context, srv *server, shots bool) {
	sz := sevenZip(t)
	school, kavya, ramesh := srv.declarers(t)
	const teacherID = "TN-T-55021"
	const reason = "Our school has no teacher with this id. Please check the id on your appointment order."

	// The first teacher declares through the console: state, a search for
	// the school, the school from the list, the teacher id.
	tb := newTab(t, root, srv)
	tb.signIn("kavya.teacher", testPassword)
	if h := eval[string](tb, `location.hash`); h != "#/declaration" {
		t.Errorf("a self-signed-up teacher starts on %q, want #/declaration", h)
	}
	if nav := eval[[]string](tb, navItems); fmt.Sprint(nav) != "[My school]" {
		t.Errorf("teacher navigation = %v", nav)
	}
	tb.selectOption(`select[name=stateId]`, srv.tenantA.ID)
	tb.fill(`input[name=q]`, "melur")
	// Both Melur schools are listed; the teacher picks the middle school.
	tb.waitFor("the schools in the list", fmt.Sprintf(`!!document.querySelector('select[name=schoolId] option[value="%s"]') && document.querySelectorAll('select[name=schoolId] option').length === 2`, school.ID), 10*time.Second)
	tb.selectOption(`select[name=schoolId]`, school.ID)
	tb.fill(`input[name=teacherId]`, teacherID)
	before := tb.nav()
	tb.click(`form button[type=submit]`)
	tb.settled(before)
	tb.waitFor("pending status", `(document.querySelector('[data-testid=decl-status] .badge') || { dataset: {} }).dataset.status === 'PENDING'`, 10*time.Second)
	tb.checkAccessible("declaration")
	tb.checkPhone("declaration")
	if shots {
		tb.screenshot("declaration", false)
	}

	// The second teacher declared the same school through the API.
	p, err := srv.app.Registry.Principal(context.Background(), ramesh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.app.Registry.Declare(context.Background(), p, registry.DeclarationInput{StateID: srv.tenantA.ID,
		SchoolExternalID: school.ExternalID, TeacherID: "TN-T-77777"}); err != nil {
		t.Fatal(err)
	}

	// The school's admin sees both in the queue, approves the first with
	// its row's button and rejects the second, selected, with a reason.
	head := newTab(t, root, srv)
	head.signIn("selvi.head", testPassword)
	// The directory's declaration filter lists the two waiting teachers,
	// not the school's members (its head).
	head.open("#/directory")
	head.waitFor("the directory's filters", `!!document.querySelector('select[name=declaration]')`, 10*time.Second)
	head.selectOption(`select[name=declaration]`, "pending")
	head.searchDirectory("Kavya Ilango", "Ramesh Babu")
	head.open("#/declarations")
	head.waitFor("two pending declarations", `document.querySelectorAll('tr[data-declaration]').length === 2`, 10*time.Second)
	if got := head.text(`tr[data-declaration] code`); got != teacherID {
		t.Errorf("the queue shows teacher id %q first, want %q", got, teacherID)
	}
	head.checkAccessible("declarations")
	head.checkPhone("declarations")
	if shots {
		head.screenshot("declarations", false)
	}
	kavyaDecl := eval[string](head, `document.querySelector('tr[data-declaration]').dataset.declaration`)
	head.click(fmt.Sprintf(`button[data-approve="%s"]`, kavyaDecl))
	head.waitFor("approved notice", `/Approved: Kavya Ilango/.test(document.querySelector('[data-testid=queue-msg]').textContent) && document.querySelectorAll('tr[data-declaration]').length === 1`, 10*time.Second)
	// Rejecting without a reason is stopped at the reason field.
	head.click(`input[data-decl]`)
	head.click(`form[aria-label="Decide selected declarations"] button.danger`)
	head.waitFor("reason required", `document.querySelector('[data-field=reason] .field-error').textContent !== ''`, 5*time.Second)
	head.fill(`textarea[name=reason]`, reason)
	head.click(`form[aria-label="Decide selected declarations"] button.danger`)
	head.waitFor("rejected notice", `/Rejected: Ramesh Babu/.test(document.querySelector('[data-testid=queue-msg]').textContent) && document.querySelectorAll('tr[data-declaration]').length === 0`, 10*time.Second)

	// The rejected teacher sees the decision and the reason.
	rt := newTab(t, root, srv)
	rt.signIn("ramesh.teacher", testPassword)
	rt.waitFor("rejected status", `(document.querySelector('[data-testid=decl-status] .badge') || { dataset: {} }).dataset.status === 'REJECTED'`, 10*time.Second)
	if got := rt.text(`[data-testid=decl-reason]`); got != reason {
		t.Errorf("the rejected teacher reads %q, want %q", got, reason)
	}

	// The course creator's next User Profile Exhaust: the approved teacher
	// is state-validated (seed 000): the state's name and the school's
	// district, the state as Org Name, the declared teacher id.
	row := exhaustRow(t, srv, sz, kavya.ID)
	if got, want := row[5:10], []string{"Kavya Ilango", "Tamil Nadu", "Madurai", "Tamil Nadu", teacherID}; !slices.Equal(got, want) {
		t.Errorf("the approved teacher's report row has %q, want %q", got, want)
	}
}

// exhaustRow requests the course's first-batch User Profile Exhaust as its
// creator, waits for it, extracts it with 7-Zip and returns userID's row.
func exhaustRow(t *testing.T, srv *server, sz, userID string) []string {
	t.Helper()
	ctx := context.Background()
	creator, err := srv.app.Registry.Principal(ctx, srv.users["arun.creator"].ID)
	if err != nil {
		t.Fatal(err)
	}
	const password = "Declared2025pw"
	req, err := srv.app.Reports.Request(ctx, creator, report.NewRequest{CourseID: srv.course.ID, BatchID: srv.batches[0].ID, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	var done *roster.ReportRequest
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if done, err = store.GetReportRequest(ctx, srv.app.DB, req.ID); err != nil {
			t.Fatal(err)
		}
		if done.Status == roster.ReportSuccess {
			break
		}
		if done.Status == roster.ReportFailed || time.Now().After(deadline) {
			t.Fatalf("report ended as %s (%s)", done.Status, done.Failure)
		}
	}
	dir := t.TempDir()
	if out, err := exec.Command(sz, "x", "-y", "-p"+password, "-o"+dir, done.FilePath).CombinedOutput(); err != nil {
		t.Fatalf("7-Zip could not open the report: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	if len(files) != 1 {
		t.Fatalf("the zip holds %v, want one CSV", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		if len(r) > 9 && r[4] == userID {
			return r
		}
	}
	t.Fatalf("no report row for the teacher among %d rows", len(rows)-1)
	return nil
}
