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
	"github.com/chromedp/chromedp/kb"
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
// counts and their earlier reports (failed, expired, still processing, in
// that order: latest first), is told what is wrong with a weak password
// without losing it, requests the User Profile Exhaust, sees the notice
// turn from "being prepared" to "ready", downloads the zip and opens it
// with 7-Zip; an expired link renews itself on click. A second request,
// for all batches and by keyboard alone, is listed first.
func testCreatorReport(t *testing.T, root context.Context, srv *server, shots bool) {
	sz := sevenZip(t)
	tb := newTab(t, root, srv)
	tb.signIn("arun.creator", testPassword)
	if h := eval[string](tb, `location.hash`); h != "#/courses" {
		t.Errorf("a course creator starts on %q, want #/courses", h)
	}
	if nav := eval[[]string](tb, navItems); fmt.Sprint(nav) != "[Courses Downloads]" {
		t.Errorf("creator navigation = %v", nav)
	}
	tb.waitFor("course list", `!!document.querySelector('a.course-title')`, 10*time.Second)
	tb.checkAccessible("courses")
	tb.checkPhone("courses")
	if shots {
		tb.screenshot("courses", false)
	}
	tb.click(`a.course-title`)
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

	// The earlier reports, latest first. The expired one was requested
	// half a second after the failed one; compared as text their times
	// ("…:00.5Z" and "…:00Z") would sort the other way.
	tb.waitFor("earlier reports", `document.querySelectorAll('tr[data-report]').length === 3`, 10*time.Second)
	if got, want := reportOrder(tb), []string{srv.processingReport, srv.expiredReport, srv.failedReport}; !slices.Equal(got, want) {
		t.Errorf("reports listed as %v, want %v (processing, expired, failed)", got, want)
	}
	checkReportRow(t, tb, srv.failedReport, "FAILED", "Failed", "The report could not be written: the disk is full.", "—")
	checkReportRow(t, tb, srv.expiredReport, "EXPIRED", "Expired", "", "File deleted")
	checkReportRow(t, tb, srv.processingReport, "PROCESSING", "Processing", "", "—")

	// A password without a digit: the rule is named next to the field and
	// what was typed stays.
	tb.selectOption(`select[name=batchId]`, srv.batches[0].ID)
	tb.fill(`input[name=password]`, "onlyletters")
	tb.click(`#request-exhaust`)
	tb.waitFor("password error", `document.querySelector('[data-field=password] .field-error').textContent.includes('digit')`, 5*time.Second)
	if v := eval[string](tb, `document.querySelector('input[name=password]').value`); v != "onlyletters" {
		t.Errorf("password field lost what was typed: %q", v)
	}
	if got := tb.focused(); got != "password" {
		t.Errorf("focus after the error is on %q, want the password field", got)
	}

	const zipPassword = "Exhaust2025pw"
	tb.fill(`input[name=password]`, zipPassword)
	tb.waitFor("all password rules ticked", `document.querySelectorAll('.rules li.met').length === 4`, 5*time.Second)
	tb.click(`#request-exhaust`)
	// The report may be ready before the test looks: either notice will do
	// here.
	tb.waitFor("request accepted", `/^Your report is (being prepared|ready)/.test((document.querySelector('form .notice.ok') || {}).textContent)`, 10*time.Second)
	if v := eval[string](tb, `document.querySelector('input[name=password]').value`); v != "" {
		t.Error("the password stays in the form after the request was accepted")
	}
	if !eval[bool](tb, `document.activeElement === document.querySelector('form .notice.ok')`) {
		t.Errorf("focus after the request is on %q, want the confirmation", tb.focused())
	}
	first := tb.newReport(srv, 4)
	tb.waitFor("SUCCESS", fmt.Sprintf(`(document.querySelector('tr[data-report="%s"] .badge') || { dataset: {} }).dataset.status === 'SUCCESS'`, first), 60*time.Second)
	// The confirmation follows: no longer "being prepared" once the list
	// shows the report ready.
	tb.waitFor("ready notice", `(document.querySelector('form .notice.ok') || {}).textContent.startsWith('Your report is ready')`, 10*time.Second)
	if txt := tb.text(`form [role=status]`); strings.Contains(txt, "being prepared") {
		t.Errorf("the form still says %q after the report succeeded", txt)
	}
	checkReportRow(t, tb, first, "SUCCESS", "Success", "", "Download")
	classes := eval[[]string](tb, fmt.Sprintf(`[%q, %q, %q, %q].map(id => document.querySelector('tr[data-report="' + id + '"] .badge').className)`,
		first, srv.processingReport, srv.failedReport, srv.expiredReport))
	if seen := map[string]bool{classes[0]: true, classes[1]: true, classes[2]: true, classes[3]: true}; len(seen) != 4 {
		t.Errorf("badge classes of Success, Processing, Failed, Expired = %q: want a different colour each", classes)
	}
	tb.checkAccessible("course dashboard")
	tb.checkPhone("course dashboard")
	if shots {
		tb.screenshot("course-dashboard", false)
		tb.screenshot("course-dashboard-phone", true)
	}

	link := fmt.Sprintf(`tr[data-report="%s"] a.download`, first)
	path, name := tb.download(link)
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
	oldHref := eval[string](tb, fmt.Sprintf(`(() => { const a = document.querySelector(%q);
		a.dataset.expires = new Date(Date.now() - 60000).toISOString(); a.href = a.href.replace(/token=[^&]*/, 'token=expired'); return a.getAttribute('href'); })()`, link))
	path2, _ := tb.download(link)
	if newHref := eval[string](tb, fmt.Sprintf(`document.querySelector(%q).getAttribute('href')`, link)); newHref == oldHref {
		t.Error("the expired link was not renewed")
	}
	if h := openReport(t, sz, path2, zipPassword); !slices.Equal(h, seedReportHeader) {
		t.Errorf("report through the renewed link has header %q", h)
	}

	// A second request, all batches, by keyboard alone: from the
	// confirmation, Tab to the batch, arrows to "All batches", Tab to the
	// password, type it, Enter.
	eval[bool](tb, `(() => { document.querySelector('form .notice.ok').focus(); return true; })()`)
	tb.key("\t")
	if got := tb.focused(); got != "batchId" {
		t.Fatalf("Tab from the confirmation went to %q, want the batch", got)
	}
	tb.key(kb.ArrowDown)
	tb.key(kb.ArrowDown)
	tb.waitFor("all batches chosen", `document.querySelector('select[name=batchId]').value === ''`, 5*time.Second)
	tb.key("\t")
	if got := tb.focused(); got != "password" {
		t.Fatalf("Tab from the batch went to %q, want the password", got)
	}
	tb.key(zipPassword)
	tb.key("\r")
	all := tb.newReport(srv, 5, first)
	if !eval[bool](tb, `document.activeElement === document.querySelector('form .notice.ok')`) {
		t.Errorf("focus after the keyboard request is on %q, want the confirmation", tb.focused())
	}
	if v := eval[string](tb, `document.querySelector('input[name=password]').value`); v != "" {
		t.Error("the password stays in the form after the keyboard request")
	}
	if row := tb.text(fmt.Sprintf(`tr[data-report="%s"]`, all)); !strings.Contains(row, "all batches") {
		t.Errorf("the newest report row reads %q, want the all-batches request", row)
	}
	tb.waitFor("second SUCCESS", fmt.Sprintf(`(document.querySelector('tr[data-report="%s"] .badge') || { dataset: {} }).dataset.status === 'SUCCESS'`, all), 60*time.Second)

	// The Downloads page lists the same reports, latest first.
	tb.open("#/downloads")
	tb.waitFor("downloads list", `document.querySelectorAll('tr[data-report]').length === 5`, 10*time.Second)
	if got, want := reportOrder(tb), []string{all, first, srv.processingReport, srv.expiredReport, srv.failedReport}; !slices.Equal(got, want) {
		t.Errorf("Downloads lists %v, want %v", got, want)
	}
	row := tb.text(fmt.Sprintf(`tr[data-report="%s"]`, first))
	for _, want := range []string{"User Profile Exhaust", srv.course.Name, srv.batches[0].Name, "Success"} {
		if !strings.Contains(row, want) {
			t.Errorf("downloads row %q lacks %q", row, want)
		}
	}
	// The list keeps polling while a report is processing; a keyboard user
	// on a Download link stays there.
	eval[bool](tb, fmt.Sprintf(`(() => { document.querySelector('tr[data-report="%s"] a.download').focus(); return true; })()`, first))
	time.Sleep(2*courseListPoll + 300*time.Millisecond)
	if !eval[bool](tb, fmt.Sprintf(`document.activeElement === document.querySelector('tr[data-report="%s"] a.download')`, first)) {
		t.Errorf("focus moved off the Download link to %q while the list refreshed", tb.focused())
	}
	tb.checkAccessible("downloads")
	tb.checkPhone("downloads")
	if shots {
		tb.screenshot("downloads", false)
	}
}

// courseListPoll is how often the Downloads list refreshes while a report
// is pending (POLL_MS in courses.js).
const courseListPoll = 1500 * time.Millisecond

// reportOrder lists the report ids in the order the page shows them.
func reportOrder(tb *tab) []string {
	tb.t.Helper()
	return eval[[]string](tb, `[...document.querySelectorAll('tr[data-report]')].map(r => r.dataset.report)`)
}

// newReport waits until the list holds n reports with a new one on top
// (not seeded, not one of known) and returns its id.
func (tb *tab) newReport(srv *server, n int, known ...string) string {
	tb.t.Helper()
	old := append([]string{srv.failedReport, srv.expiredReport, srv.processingReport}, known...)
	tb.waitFor("the new report on top", fmt.Sprintf(`(() => { const rs = document.querySelectorAll('tr[data-report]');
		return rs.length === %d && !%s.includes(rs[0].dataset.report); })()`, n, jsStrings(old)), 15*time.Second)
	return eval[string](tb, `document.querySelector('tr[data-report]').dataset.report`)
}

func jsStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// checkReportRow checks a report's status (data, word, colour class) and
// its failure reason and download cell.
func checkReportRow(t *testing.T, tb *tab, id, status, word, reason, download string) {
	t.Helper()
	row := fmt.Sprintf(`tr[data-report="%s"]`, id)
	if got := eval[string](tb, fmt.Sprintf(`document.querySelector('%s .badge').dataset.status`, row)); got != status {
		t.Errorf("report %s has status %q, want %q", id, got, status)
	}
	if got := tb.text(row + ` .badge`); got != word {
		t.Errorf("report %s status reads %q, want %q", id, got, word)
	}
	if got := eval[string](tb, fmt.Sprintf(`(document.querySelector('%s .problem') || { textContent: '' }).textContent`, row)); got != reason {
		t.Errorf("report %s reason = %q, want %q", id, got, reason)
	}
	if got := tb.text(row + ` td:last-child`); got != download {
		t.Errorf("report %s download cell = %q, want %q", id, got, download)
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

// testMentor: a mentor's menu has the course pages only; they see the
// course and its counts but not the User Profile Exhaust request, and are
// told why; the admin pages are not available to them.
func testMentor(t *testing.T, root context.Context, srv *server, shots bool) {
	tb := newTab(t, root, srv)
	tb.signIn("meena.mentor", testPassword)
	if h := eval[string](tb, `location.hash`); h != "#/courses" {
		t.Errorf("a mentor starts on %q, want #/courses", h)
	}
	if nav := eval[[]string](tb, navItems); fmt.Sprint(nav) != "[Courses Downloads]" {
		t.Errorf("mentor navigation = %v", nav)
	}
	// The course they mentor is on their list, marked as mentored.
	tb.waitFor("course list", `!!document.querySelector('a.course-title')`, 10*time.Second)
	if item := tb.text(`.list li`); !strings.Contains(item, srv.course.Name) || !strings.Contains(item, "You mentor a batch") {
		t.Errorf("mentor's course list item = %q", item)
	}
	tb.checkAccessible("mentor's courses")
	tb.checkPhone("mentor's courses")
	tb.click(`a.course-title`)
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
	tb.checkPhone("mentor's course")
	if shots {
		tb.screenshot("course-mentor", false)
	}
	for _, page := range []string{"#/upload", "#/users"} {
		tb.open(page)
		if h := tb.text(`main h1`); h != "Not available" {
			t.Errorf("a mentor opening %s sees %q, want Not available", page, h)
		}
	}
}

// testOtherTenant: an admin and creator of another state cannot see this
// state's users, course batches or reports, through the console or by
// calling the API from the page.
func testOtherTenant(t *testing.T, root context.Context, srv *server) {
	tb := newTab(t, root, srv)
	tb.signIn("anil.kl", testPassword)

	tb.open("#/users/" + srv.users["arun.creator"].ID)
	tb.waitFor("refusal", `!!document.querySelector('main .notice.error:not(:empty)')`, 10*time.Second)
	if body := tb.text("main"); strings.Contains(body, "arun") || strings.Contains(body, "Arun") {
		t.Errorf("another tenant's admin sees the user: %q", body)
	}

	tb.open("#/courses/" + srv.course.ID)
	tb.waitFor("refusal", `!!document.querySelector('main .notice.error:not(:empty)')`, 10*time.Second)
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
