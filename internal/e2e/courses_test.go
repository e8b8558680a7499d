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
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The report's columns exactly as seed 000 lists them.
var seedReportHeader = []string{
	"Collection Id", "Collection Name", "Batch Id", "Batch Name", "User UUID", "User Name", "State", "District",
	"Org Name", "External ID", "Mobile number", "Email ID", "Consent Provided", "Consent Provided Date",
}

func sevenZip(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"7zz", "7z"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("7-Zip (7zz or 7z) not found; CI must open the report with it")
	}
	t.Skip("7-Zip not installed")
	return ""
}

// testCreatorReport: the course creator sees the batches with their
// counts, is told what is wrong with a weak password without losing it,
// requests the User Profile Exhaust, waits for SUCCESS, downloads the zip
// and opens it with 7-Zip; an expired link renews itself on click.
func testCreatorReport(t *testing.T, root context.Context, srv *server, shots bool) {
	sz := sevenZip(t)
	tb := newTab(t, root, srv)
	tb.signIn("arun.creator", testPassword)
	if h := eval[string](tb, `location.hash`); h != "#/courses" {
		t.Errorf("a course creator starts on %q, want #/courses", h)
	}
	nav := eval[[]string](tb, `[...document.querySelectorAll('#nav li')].filter(li => !li.hidden).map(li => li.textContent)`)
	if fmt.Sprint(nav) != "[Courses Downloads]" {
		t.Errorf("creator navigation = %v", nav)
	}
	tb.waitFor("course list", `!!document.querySelector('a.course-title')`, 10*time.Second)
	tb.checkAccessible("courses")
	if shots {
		tb.screenshot("courses", false)
	}
	tb.do(chromedp.Click(chromedp.CSS(`a.course-title`)))
	tb.waitFor("batches", fmt.Sprintf(`location.hash === '#/courses/%s' && document.querySelectorAll('tr[data-batch]').length === 2`, srv.course.ID), 10*time.Second)
	for i, b := range srv.batches {
		row := fmt.Sprintf(`tr[data-batch="%s"]`, b.ID)
		if got := tb.text(row + ` [data-count=enrolled]`); got != fmt.Sprint(srv.enrolled[i]) {
			t.Errorf("batch %q enrolled = %s, want %d", b.Name, got, srv.enrolled[i])
		}
		if got := tb.text(row + ` [data-count=consented]`); got != fmt.Sprint(srv.consented[i]) {
			t.Errorf("batch %q consented = %s, want %d", b.Name, got, srv.consented[i])
		}
	}
	if !tb.visible(`#request-exhaust`) {
		tb.fail("the course creator has no Request User Profile Exhaust button")
	}

	// A password without a digit: the rule is named next to the field and
	// what was typed stays.
	tb.selectOption(`select[name=batchId]`, srv.batches[0].ID)
	tb.fill(`input[name=password]`, "onlyletters")
	tb.do(chromedp.Click(chromedp.CSS(`#request-exhaust`)))
	tb.waitFor("password error", `document.querySelector('[data-field=password] .field-error').textContent.includes('digit')`, 5*time.Second)
	if v := eval[string](tb, `document.querySelector('input[name=password]').value`); v != "onlyletters" {
		t.Errorf("password field lost what was typed: %q", v)
	}
	if got := eval[string](tb, `document.activeElement.name`); got != "password" {
		t.Errorf("focus after the error is on %q, want the password field", got)
	}

	const zipPassword = "Exhaust2025pw"
	tb.fill(`input[name=password]`, zipPassword)
	if met := eval[int](tb, `document.querySelectorAll('.rules li.met').length`); met != 4 {
		t.Errorf("%d password rules ticked, want all 4", met)
	}
	tb.do(chromedp.Click(chromedp.CSS(`#request-exhaust`)))
	tb.waitFor("request accepted", `!!document.querySelector('form .notice.ok')`, 10*time.Second)
	if v := eval[string](tb, `document.querySelector('input[name=password]').value`); v != "" {
		t.Error("the password stays in the form after the request was accepted")
	}
	tb.waitFor("SUCCESS", `(() => { const b = document.querySelector('tr[data-report] .badge'); return !!b && b.dataset.status === 'SUCCESS'; })()`, 60*time.Second)
	tb.checkAccessible("course dashboard")
	tb.checkPhone("course dashboard")
	if shots {
		tb.screenshot("course-dashboard", false)
		tb.screenshot("course-dashboard-phone", true)
	}

	path, name := tb.download(`tr[data-report] a.download`)
	if !strings.HasSuffix(name, ".zip") {
		t.Errorf("report downloaded as %q", name)
	}
	header := openReport(t, sz, path, zipPassword)
	if !slices.Equal(header, seedReportHeader) {
		t.Errorf("report header = %q\nwant %q", header, seedReportHeader)
	}
	if out, err := exec.Command(sz, "t", "-pwrong-password-1", path).CombinedOutput(); err == nil {
		t.Errorf("7-Zip opened the report with a wrong password:\n%s", out)
	}

	// The link on the page has expired (the tab was left open): clicking it
	// fetches a fresh one and the download still works.
	oldHref := eval[string](tb, `(() => { const a = document.querySelector('tr[data-report] a.download');
		a.dataset.expires = new Date(Date.now() - 60000).toISOString(); a.href = a.href.replace(/token=[^&]*/, 'token=expired'); return a.getAttribute('href'); })()`)
	path2, _ := tb.download(`tr[data-report] a.download`)
	if newHref := eval[string](tb, `document.querySelector('tr[data-report] a.download').getAttribute('href')`); newHref == oldHref {
		t.Error("the expired link was not renewed")
	}
	if h := openReport(t, sz, path2, zipPassword); !slices.Equal(h, seedReportHeader) {
		t.Errorf("report through the renewed link has header %q", h)
	}

	// The Downloads page lists the same report.
	tb.open("#/downloads")
	tb.waitFor("downloads list", `document.querySelectorAll('tr[data-report]').length === 1`, 10*time.Second)
	row := tb.text(`tr[data-report]`)
	for _, want := range []string{"User Profile Exhaust", srv.course.Name, srv.batches[0].Name, "Success"} {
		if !strings.Contains(row, want) {
			t.Errorf("downloads row %q lacks %q", row, want)
		}
	}
	tb.checkAccessible("downloads")
	tb.checkPhone("downloads")
	if shots {
		tb.screenshot("downloads", false)
	}
}

// openReport extracts the zip with 7-Zip and returns the CSV's header.
func openReport(t *testing.T, sz, zipPath, password string) []string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(sz, "x", "-y", "-p"+password, "-o"+dir, zipPath).CombinedOutput()
	if err != nil {
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
	if !bytes.HasPrefix(b, []byte("\uFEFF")) {
		t.Error("the report CSV has no UTF-8 BOM; Excel would misread it")
	}
	header, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).Read()
	if err != nil {
		t.Fatal(err)
	}
	return header
}

// testMentor: a mentor sees the course and its counts but not the
// User Profile Exhaust request, and is told why.
func testMentor(t *testing.T, root context.Context, srv *server, shots bool) {
	tb := newTab(t, root, srv)
	tb.signIn("meena.mentor", testPassword)
	if h := eval[string](tb, `location.hash`); h != "#/courses" {
		t.Errorf("a mentor starts on %q, want #/courses", h)
	}
	// The course they mentor is on their list, marked as mentored.
	tb.waitFor("course list", `!!document.querySelector('a.course-title')`, 10*time.Second)
	if item := tb.text(`.list li`); !strings.Contains(item, srv.course.Name) || !strings.Contains(item, "You mentor a batch") {
		t.Errorf("mentor's course list item = %q", item)
	}
	tb.do(chromedp.Click(chromedp.CSS(`a.course-title`)))
	tb.waitFor("batches", fmt.Sprintf(`location.hash === '#/courses/%s' && document.querySelectorAll('tr[data-batch]').length === 2`, srv.course.ID), 10*time.Second)
	for i, b := range srv.batches {
		if got := tb.text(fmt.Sprintf(`tr[data-batch="%s"] [data-count=enrolled]`, b.ID)); got != fmt.Sprint(srv.enrolled[i]) {
			t.Errorf("mentor sees batch %q enrolled = %s, want %d", b.Name, got, srv.enrolled[i])
		}
	}
	if tb.visible(`#request-exhaust`) || eval[bool](tb, `!!document.querySelector('input[name=password]')`) {
		t.Error("a mentor is offered the User Profile Exhaust request")
	}
	if msg := tb.text(`main .notice.info`); !strings.Contains(msg, "Only the course creator") {
		t.Errorf("mentor notice = %q", msg)
	}
	tb.checkAccessible("mentor's course")
	if shots {
		tb.screenshot("course-mentor", false)
	}
}

// testOtherTenant: an admin and creator of another state cannot see this
// state's users, course batches or reports, through the console or by
// calling the API from the page.
func testOtherTenant(t *testing.T, root context.Context, srv *server) {
	tb := newTab(t, root, srv)
	tb.signIn("anil.kl", testPassword)

	tb.open("#/users/" + srv.users["arun.creator"].ID)
	tb.waitFor("refusal", `!!document.querySelector('main .notice.error')`, 10*time.Second)
	if body := tb.text("main"); strings.Contains(body, "arun") || strings.Contains(body, "Arun") {
		t.Errorf("another tenant's admin sees the user: %q", body)
	}

	tb.open("#/courses/" + srv.course.ID)
	tb.waitFor("refusal", `!!document.querySelector('main .notice.error')`, 10*time.Second)
	if tb.visible(`tr[data-batch]`) || tb.visible(`#request-exhaust`) {
		t.Error("another tenant's creator sees the course's batches")
	}

	// The organisation picker offers only their own tenant's organisations.
	tb.open("#/upload")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`select[name=orgId]`)))
	opts := eval[[]string](tb, `[...document.querySelectorAll('select[name=orgId] option')].map(o => o.value).filter(Boolean)`)
	if slices.Contains(opts, srv.tenantA.ID) || slices.Contains(opts, srv.schoolA.ID) || !slices.Contains(opts, srv.tenantB.ID) {
		t.Errorf("organisations offered to Kerala's admin: %v", opts)
	}

	// Going around the console does not help.
	evalAwait := func(expr string) int {
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			tb.fail("%s: %v", expr, err)
		}
		return v
	}
	for _, c := range []struct {
		what, method, path, body string
		want                     []int
	}{
		{"request the report", "POST", "/api/v1/reports", fmt.Sprintf(`JSON.stringify({courseId: %q, batchId: %q, password: 'Abcdefgh1'})`, srv.course.ID, srv.batches[0].ID), []int{403}},
		{"list the batches", "GET", "/api/v1/courses/" + srv.course.ID + "/batches", "undefined", []int{403, 404}},
		{"read the user", "GET", "/api/v1/users/" + srv.users["arun.creator"].ID, "undefined", []int{404}},
		{"list the uploads", "GET", "/api/v1/uploads?orgId=" + srv.tenantA.ID, "undefined", []int{403, 404}},
	} {
		got := evalAwait(fmt.Sprintf(`fetch(%q, { method: %q, headers: { 'Content-Type': 'application/json' }, body: %s }).then(r => r.status)`,
			c.path, c.method, c.body))
		if !slices.Contains(c.want, got) {
			t.Errorf("another tenant's user could %s: HTTP %d", c.what, got)
		}
	}
}
