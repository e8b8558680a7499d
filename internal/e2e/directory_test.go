package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/storetest"
)

// TestDirectoryAndAuditConsole: a tenant admin lists the state's users,
// searches by name, filters by role and school, exports the list masked
// and with full contacts, and finds the full export in the audit log.
func TestDirectoryAndAuditConsole(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv := startServer(t, engine)
			root := startBrowser(t)
			testDirectory(t, newTab(t, root, srv), srv, engine == "sqlite")
		})
	}
}

// directoryNames is the names column of the directory's table.
func directoryNames(tb *tab) []string {
	return eval[[]string](tb, `[...document.querySelectorAll('[data-testid=directory-results] tbody tr[data-user] td:first-child')].map(td => td.textContent)`)
}

// searchDirectory submits the form and waits for the table to show want.
func (tb *tab) searchDirectory(want ...string) {
	tb.t.Helper()
	tb.click(`form[role=search] button[type=submit]`)
	slices.Sort(want)
	js := fmt.Sprintf(`(() => { const got = [...document.querySelectorAll('[data-testid=directory-results] tbody tr[data-user] td:first-child')].map(td => td.textContent).sort();
		return JSON.stringify(got) === %q; })()`, jsonList(want))
	tb.waitFor(fmt.Sprintf("directory showing %v (it shows %v)", want, directoryNames(tb)), js, 10*time.Second)
}

func jsonList(ss []string) string {
	if len(ss) == 0 {
		return "[]"
	}
	return `["` + strings.Join(ss, `","`) + `"]`
}

func testDirectory(t *testing.T, tb *tab, srv *server, shots bool) {
	tb.signIn("priya.admin", testPassword)
	nav := eval[[]string](tb, `[...document.querySelectorAll('#nav li')].filter(li => !li.hidden).map(li => li.textContent)`)
	if !slices.Contains(nav, "Directory") || !slices.Contains(nav, "Audit log") {
		t.Errorf("a tenant admin's navigation = %v", nav)
	}
	tb.open("#/directory")
	tb.waitFor("the state's users", `document.querySelectorAll('[data-testid=directory-results] tbody tr[data-user]').length === 11`, 10*time.Second)
	if got := tb.text(`[data-testid=directory-results] tbody`); strings.Contains(got, "anil") || strings.Contains(got, "Anil") {
		t.Errorf("tenant B's admin is listed: %s", got)
	}
	if got := tb.text(`[data-testid=directory-results] tbody`); strings.Contains(got, "priya.admin@tn.example.org") || !strings.Contains(got, "@tn.example.org") {
		t.Errorf("emails are not masked: %s", got)
	}
	tb.fill(`input[name=q]`, "RA")
	tb.searchDirectory("Priya Raman", "Divya Rajan", "Ravi Chandran")
	tb.checkAccessible("directory")
	if shots {
		tb.screenshot("directory", false)
	}
	tb.fill(`input[name=q]`, "")
	tb.selectOption(`select[name=role]`, "CONTENT_CREATOR")
	tb.searchDirectory("Arun Kumar")
	tb.selectOption(`select[name=role]`, "")
	tb.selectOption(`select[name=school]`, srv.schoolA.ID)
	tb.searchDirectory("Lakshmi Narayanan", "Karthik Subramaniam", "Divya Rajan", "Senthil Murugan", "Fathima Begum", "Ravi Chandran", "Gowri Shankar")
	tb.selectOption(`select[name=status]`, "blocked")
	tb.searchDirectory()
	tb.selectOption(`select[name=status]`, "")
	tb.fill(`input[name=q]`, "lak")
	tb.searchDirectory("Lakshmi Narayanan")

	// Export: masked, then, after the confirming step, with full contacts.
	path, name := tb.download(`a[data-contacts=masked]`)
	masked := readCSVFile(t, path)
	if !strings.HasSuffix(name, ".csv") || len(masked) != 2 || masked[1][2] != "Lakshmi" || masked[1][4] == "learnera@school.example.org" || masked[1][4] == "" {
		t.Errorf("masked export %s: %q", name, masked)
	}
	tb.click(`[aria-labelledby=export-h] button.secondary`)
	tb.waitFor("confirm step", `!!document.querySelector('a[data-contacts=full]')`, 5*time.Second)
	path, _ = tb.download(`a[data-contacts=full]`)
	full := readCSVFile(t, path)
	if len(full) != 2 || full[1][4] != "learnera@school.example.org" {
		t.Errorf("full export: %q", full)
	}
	os.Remove(path)

	// The audit log shows the full export, naming no one.
	tb.open("#/audit")
	tb.waitFor("audit rows", `document.querySelectorAll('[data-testid=audit-results] tbody tr').length > 1`, 10*time.Second)
	tb.fill(`input[name=action]`, "user.export")
	tb.click(`form[role=search] button[type=submit]`)
	tb.waitFor("the two exports", `(() => { const rows = [...document.querySelectorAll('[data-testid=audit-results] tbody tr')];
		return rows.length === 2 && rows[0].textContent.includes('contacts=full') && rows[1].textContent.includes('contacts=masked'); })()`, 10*time.Second)
	if got := tb.text(`[data-testid=audit-results]`); strings.Contains(got, "Lakshmi") || strings.Contains(got, "lak") {
		t.Errorf("the audit log names the search: %s", got)
	}
	tb.checkAccessible("audit log")
	tb.fill(`input[name=action]`, "")
	tb.click(`form[role=search] button[type=submit]`)
	tb.waitFor("the whole log", `document.querySelectorAll('[data-testid=audit-results] tbody tr').length > 2`, 10*time.Second)
	if shots {
		tb.screenshot("audit-log", false)
	}
}
