package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/storetest"
)

// TestUploadUpdate drives an update upload in headless Chromium, once per
// storage engine: the check shows each row's changes, old → new, with the
// phone masked; uploading past the change threshold is refused until the
// admin ticks the confirmation; then the rows update their users.
func TestUploadUpdate(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv := startServer(t, engine)
			root := startBrowser(t)
			testUploadUpdate(t, root, srv, engine == "sqlite")
		})
	}
}

func testUploadUpdate(t *testing.T, root context.Context, srv *server, shots bool) {
	file := filepath.Join(t.TempDir(), "corrections.csv")
	data := "userName,lastName,phone,roles,status\n" +
		"arun.creator,Kumaran,,BOOK_CREATOR,\n" +
		"meena.mentor,#clear,9876500099,,\n" +
		"vijay.former,,,,blocked\n" +
		"nobody.here,Rao,,,\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	tb := newTab(t, root, srv)
	tb.signIn("priya.admin", testPassword)
	tb.open("#/upload")
	tb.waitFor("upload form", `!!document.querySelector('select[name=orgId]')`, 10*time.Second)
	tb.selectOption(`select[name=orgId]`, srv.tenantA.ID)
	if tb.visible(`#confirm-field`) {
		t.Error("the confirmation is offered for a create upload")
	}
	tb.click(`#mode input[value=update]`)
	tb.waitFor("confirmation offered", `!document.getElementById('confirm-field').hidden`, 5*time.Second)
	if hint := tb.text(`#mode-hint`); !strings.Contains(hint, "#clear") {
		t.Errorf("update mode explained as %q", hint)
	}
	tb.dropFile(`label.drop`, file, "text/csv")
	tb.waitFor("file chosen", `document.getElementById('chosen-file').textContent.includes('corrections.csv')`, 5*time.Second)

	// The check: what each row would do, and every change, old → new.
	tb.click(`#check`)
	tb.waitFor("check result", `!!document.querySelector('#check-result td.changes')`, 20*time.Second)
	changes := func(row string) string { return tb.text(`#check-result tr[data-row="` + row + `"] td.changes`) }
	action := func(row string) string {
		return tb.text(`#check-result tr[data-row="` + row + `"] td[data-action]`)
	}
	if got := changes("2"); !strings.Contains(got, "lastName: Kumar → Kumaran") || !strings.Contains(got, "roles: CONTENT_CREATOR → BOOK_CREATOR") {
		t.Errorf("row 2 changes %q", got)
	}
	if got := changes("3"); !strings.Contains(got, "lastName: Sundar → (blank)") || !strings.Contains(got, "phone: 98******03 → 98******99") {
		t.Errorf("row 3 changes %q", got)
	}
	if got := changes("4"); !strings.Contains(got, "status: active → blocked") {
		t.Errorf("row 4 changes %q", got)
	}
	// The file's own cells are previewed from the admin's disk; what the
	// server sends back, the old and new values, is masked.
	if diff := eval[string](tb, `[...document.querySelectorAll('#check-result td.changes')].map(td => td.textContent).join(' ')`); strings.Contains(diff, "9876500099") || strings.Contains(diff, "9876500003") {
		t.Errorf("the changes show a phone number unmasked: %q", diff)
	}
	if a := action("2"); a != "Update" {
		t.Errorf("row 2 action %q", a)
	}
	if !strings.Contains(tb.text(`#check-result tr[data-row="5"] td.errors`), "No user of this organisation") {
		t.Errorf("unknown user row: %q", tb.text(`#check-result tr[data-row="5"]`))
	}
	if note := tb.text(`#check-result`); !strings.Contains(note, "more than the 10% allowed") {
		t.Errorf("the check does not warn about the threshold: %q", note)
	}
	tb.checkAccessible("update check")
	if shots {
		tb.screenshot("upload-update-diff", false)
	}
	if u := srv.users["arun.creator"]; u != nil {
		if v, err := srv.app.Registry.GetUser(tb.ctx, roster.SystemPrincipal, u.ID); err != nil || v.LastName != "Kumar" {
			t.Errorf("the check changed the user: %v %v", v, err)
		}
	}

	// Past the threshold: refused, saying how many, until confirmed.
	tb.click(`#upload`)
	tb.waitFor("threshold refusal", `document.getElementById('confirm-error').textContent !== ''`, 20*time.Second)
	if msg := tb.text(`#confirm-error`); !strings.Contains(msg, "3 of the organisation's") || !strings.Contains(msg, "%") {
		t.Errorf("refusal %q", msg)
	}
	tb.click(`#confirm`)
	tb.click(`#upload`)
	tb.waitFor("upload finished", `(document.getElementById('progress-label') || {}).textContent === '4 of 4 rows processed (100%)'`, 30*time.Second)
	tb.waitFor("results", `document.querySelectorAll('#results-title ~ div tbody tr').length === 4`, 20*time.Second)
	if n := eval[int](tb, `document.querySelectorAll('tr[data-status=UPDATED]').length`); n != 3 {
		t.Errorf("%d rows updated, want 3", n)
	}
	v, err := srv.app.Registry.GetUser(tb.ctx, roster.SystemPrincipal, srv.users["meena.mentor"].ID)
	if err != nil || v.LastName != "" || v.Phone != "+919876500099" {
		t.Errorf("meena after the upload: %+v %v", v, err)
	}
	if _, err := srv.app.Registry.Authenticate(tb.ctx, "vijay.former", testPassword); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Errorf("blocked user still signs in: %v", err)
	}
}
