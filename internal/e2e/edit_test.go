package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/storetest"
)

// TestEditAndTransfer: an org admin edits a teacher's profile in the
// console (the rule book's messages beside the fields), is told when
// someone else changed the teacher meanwhile, changes roles, moves the
// teacher to another school and sees the history of schools.
func TestEditAndTransfer(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv := startServer(t, engine)
			root := startBrowser(t)
			testEditAndTransfer(t, root, srv, engine == "sqlite")
		})
	}
}

func testEditAndTransfer(t *testing.T, root context.Context, srv *server, shots bool) {
	ctx := context.Background()
	reg := srv.app.Registry
	sys := roster.SystemPrincipal
	egmore, err := reg.CreateOrg(ctx, sys, roster.Organisation{Name: "Government High School, Egmore", RootOrgID: srv.tenantA.ID})
	if err != nil {
		t.Fatal(err)
	}
	teacher, err := reg.CreateUser(ctx, sys, registry.NewUser{
		User:  roster.User{Username: "selvi.teacher", FirstName: "Selvi", LastName: "R", Email: "selvi@school.example.org"},
		OrgID: srv.schoolA.ID, Roles: []string{roster.RolePublic}, Password: testPassword,
	})
	if err != nil {
		t.Fatal(err)
	}
	current := func() *registry.UserView {
		t.Helper()
		u, err := reg.GetUser(ctx, sys, teacher.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}

	tb := newTab(t, root, srv)
	tb.signIn("priya.admin", testPassword)
	tb.open("#/users/" + teacher.ID)
	tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=edit-form] input[name=lastName]`)))

	// The rule book's messages appear next to the fields they are about;
	// nothing is saved.
	tb.fill(`[data-testid=edit-form] input[name=language]`, "Tamil, Klingon")
	tb.fill(`[data-testid=edit-form] input[name=grade]`, "Class 55")
	tb.click(`[data-testid=edit-form] button[type=submit]`)
	tb.waitFor("field errors", `document.querySelector('[data-field=language] .field-error').textContent.includes('Klingon') &&
		document.querySelector('[data-field=grade] .field-error').textContent.includes('Unknown grade')`, 10*time.Second)
	if got := eval[string](tb, `document.activeElement.name`); got != "language" {
		t.Errorf("focus after the errors is on %q, want the first bad field", got)
	}
	tb.checkAccessible("user edit")
	tb.checkPhone("user edit")
	if shots {
		tb.screenshot("user-edit", false)
	}
	if u := current(); len(u.Language) != 0 || u.Version != teacher.Version {
		t.Fatalf("a refused edit changed the user: %+v", u.User)
	}

	tb.fill(`[data-testid=edit-form] input[name=language]`, "Tamil, English")
	tb.fill(`[data-testid=edit-form] input[name=grade]`, "Class 5")
	tb.fill(`[data-testid=edit-form] input[name=subject]`, "Mathematics")
	tb.fill(`[data-testid=edit-form] input[name=position]`, "Head teacher")
	tb.fill(`[data-testid=edit-form] input[name=lastName]`, "Rajendran")
	tb.click(`[data-testid=edit-form] button[type=submit]`)
	tb.waitFor("saved", `(document.querySelector('main [role=status] .notice.ok') || {}).textContent === 'Changes saved.'`, 10*time.Second)
	u := current()
	if u.LastName != "Rajendran" || u.Position != "Head teacher" || !slices.Equal(u.Language, []string{"Tamil", "English"}) ||
		!slices.Equal(u.Framework["gradeLevel"], []string{"Class 5"}) || !slices.Equal(u.Framework["subject"], []string{"Mathematics"}) {
		t.Fatalf("after saving: %+v", u.User)
	}
	if u.UpdatedBy != srv.users["priya.admin"].ID {
		t.Errorf("updatedBy = %q", u.UpdatedBy)
	}
	if h1 := tb.text(`main h1`); h1 != "Selvi Rajendran" {
		t.Errorf("heading after saving = %q", h1)
	}

	// Someone else changes the teacher while the page is open: the save is
	// refused with a plain message, and Reload shows their change.
	if _, err := reg.UpdateUser(ctx, sys, teacher.ID, registry.UserPatch{Position: ptr("Assistant teacher")}); err != nil {
		t.Fatal(err)
	}
	tb.fill(`[data-testid=edit-form] input[name=firstName]`, "Selva")
	tb.click(`[data-testid=edit-form] button[type=submit]`)
	tb.waitFor("stale message", `!!document.querySelector('[data-testid=edit-form] [data-testid=stale]')`, 10*time.Second)
	if msg := tb.text(`[data-testid=stale]`); !strings.Contains(msg, "Someone else changed this user") {
		t.Errorf("stale message = %q", msg)
	}
	if u := current(); u.FirstName != "Selvi" || u.Position != "Assistant teacher" {
		t.Fatalf("the stale edit was written: %+v", u.User)
	}
	tb.click(`[data-testid=edit-form] [role=alert] button`)
	tb.waitFor("reloaded", `document.querySelector('[data-testid=edit-form] input[name=position]').value === 'Assistant teacher'`, 10*time.Second)

	// Roles of the current school.
	tb.click(`[data-testid=roles-form] input[value=COURSE_MENTOR]`)
	tb.click(`[data-testid=roles-form] button[type=submit]`)
	tb.waitFor("roles saved", `(document.querySelector('main [role=status] .notice.ok') || {}).textContent === 'Roles saved.'`, 10*time.Second)
	if m := current().Memberships; len(m) != 1 || !slices.Contains(m[0].Roles, roster.RoleCourseMentor) {
		t.Fatalf("memberships after the role edit: %+v", m)
	}

	// The move to another school, and the history it leaves.
	tb.selectOption(`[data-testid=transfer-form] select[name=to]`, egmore.ID)
	tb.click(`[data-testid=transfer-form] input[value=CONTENT_CREATOR]`)
	tb.click(`[data-testid=transfer-form] button[type=submit]`)
	tb.waitFor("moved", `(document.querySelector('main [role=status] .notice.ok') || {}).textContent.startsWith('Moved to')`, 10*time.Second)
	tb.waitFor("history", `document.querySelectorAll('[data-testid=history] tbody tr').length === 2`, 10*time.Second)
	rows := eval[[]string](tb, `[...document.querySelectorAll('[data-testid=history] tbody tr')].map(r => [...r.cells].map(c => c.textContent).join('|'))`)
	if !strings.HasPrefix(rows[0], srv.schoolA.Name+"|COURSE_MENTOR, PUBLIC|") || strings.HasSuffix(rows[0], "|Current") ||
		!strings.HasPrefix(rows[1], egmore.Name+"|CONTENT_CREATOR|") || !strings.HasSuffix(rows[1], "|Current") {
		t.Errorf("history rows = %q", rows)
	}
	var at []string
	for _, m := range current().Memberships {
		at = append(at, fmt.Sprintf("%s deleted=%v left=%v", m.OrganisationID, m.IsDeleted, m.OrgLeftDate != nil))
	}
	if want := []string{srv.schoolA.ID + " deleted=true left=true", egmore.ID + " deleted=false left=false"}; !slices.Equal(at, want) {
		t.Errorf("memberships = %q, want %q", at, want)
	}
	tb.checkAccessible("user history")
	if shots {
		tb.do(chromedp.ScrollIntoView(chromedp.CSS(`[data-testid=history]`)))
		tb.screenshot("user-history", false)
	}
}

func ptr[T any](v T) *T { return &v }
