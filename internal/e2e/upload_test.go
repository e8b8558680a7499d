package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

// The sample shipped for newcomers: rows 2-4 are valid, 5-7 break rules.
var sampleCSV = filepath.Join("..", "..", "examples", "users-sample.csv")

// testUpload: an org admin drops a file with a bad header and is told so
// next to the file, then drops the sample file, checks it, sees exactly the
// broken rows and cells highlighted and the check in the history, uploads
// it, watches the progress bar reach 100%, filters the results, downloads
// the result CSV, finds the upload in the history and reopens the check,
// which says nothing was created.
func testUpload(t *testing.T, root context.Context, srv *server, shots bool) {
	sample, err := filepath.Abs(sampleCSV)
	if err != nil {
		t.Fatal(err)
	}
	original := readCSVFile(t, sample)
	tb := newTab(t, root, srv)
	tb.signIn("priya.admin", testPassword)
	tb.open("#/upload")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`select[name=orgId]`)))
	tb.checkAccessible("upload form")
	tb.checkPhone("upload form")

	// Upload with nothing chosen: both problems are named next to their
	// controls.
	tb.click(`#upload`)
	tb.waitFor("field errors", `document.querySelectorAll('.field-error:not(:empty)').length === 2`, 5*time.Second)

	// The template has every column, in the order of the shipped example.
	tmpl, _ := tb.download(`#template`)
	if got, want := readCSVFile(t, tmpl), readCSVFile(t, filepath.Join("..", "..", "examples", "users-template.csv")); !slices.Equal(got[0], want[0]) {
		t.Errorf("template header = %v\nwant %v", got[0], want[0])
	}

	tb.selectOption(`select[name=orgId]`, srv.tenantA.ID)
	// Before anything ran, the history says there is nothing yet.
	tb.waitFor("empty history", `(() => { const w = document.querySelector('#history-title + .table-wrap');
		return !!w && w.textContent.includes('No uploads yet.'); })()`, 10*time.Second)

	// A file whose header is wrong, dragged onto the drop zone: the server's
	// answer is shown next to the file, and the organisation and the file
	// stay chosen, ready to try again.
	badHeader := filepath.Join(t.TempDir(), "users-bad-header.csv")
	if err := os.WriteFile(badHeader, []byte("firstName,lastName,emial,userName,password\nAsha,Iyer,asha@example.org,asha_i,Welcome@2024\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.dropFile(`label.drop`, badHeader, "text/csv")
	tb.waitFor("dropped file chosen", `document.getElementById('chosen-file').textContent.includes('users-bad-header.csv')`, 5*time.Second)
	tb.click(`#check`)
	tb.waitFor("file error", `document.querySelector('[data-field=file] .field-error').textContent !== ''`, 15*time.Second)
	fileErr := tb.text(`[data-field=file] .field-error`)
	if !strings.Contains(fileErr, "header row is invalid") || !strings.Contains(fileErr, "emial") || !strings.Contains(fileErr, "email") {
		t.Errorf("bad header explained as %q", fileErr)
	}
	if msg := tb.text(`form > .notice.error`); msg != "" {
		t.Errorf("the file's problem is (also) shown at the top of the form: %q", msg)
	}
	if v := eval[string](tb, `document.querySelector('select[name=orgId]').value`); v != srv.tenantA.ID {
		t.Errorf("organisation after the error = %q, want it kept", v)
	}
	if c := tb.text(`#chosen-file`); !strings.Contains(c, "users-bad-header.csv") {
		t.Errorf("chosen file after the error: %q", c)
	}
	if got := tb.focused(); got != "file-input" {
		t.Errorf("focus after the file error is on %q, want the file input", got)
	}
	if eval[bool](tb, `!!document.querySelector('#check-result table')`) {
		t.Error("a check result is shown for a file that could not be read")
	}

	// The sample, dragged and dropped too.
	tb.dropFile(`label.drop`, sample, "text/csv")
	tb.waitFor("file chosen", `document.getElementById('chosen-file').textContent.includes('users-sample.csv')`, 5*time.Second)

	// Check first.
	tb.click(`#check`)
	tb.waitFor("check result", `!!document.querySelector('#check-result table')`, 20*time.Second)
	if tb.text(`[data-field=file] .field-error`) != "" {
		t.Error("the earlier file error is still shown after a good check")
	}
	// The check is in the history at once, without reloading the page.
	tb.waitFor("the check in the history", `document.querySelectorAll('#history-title ~ .table-wrap tbody tr[data-dry-run]').length === 1`, 10*time.Second)
	bad := eval[[]string](tb, `[...document.querySelectorAll('#check-result tr.row-bad')].map(r => r.dataset.row)`)
	if want := []string{"5", "6", "7"}; !slices.Equal(bad, want) {
		t.Errorf("rows flagged by the check = %v, want %v", bad, want)
	}
	all := eval[int](tb, `document.querySelectorAll('#check-result tbody tr').length`)
	if all != len(original)-1 {
		t.Errorf("check table has %d rows, the file %d", all, len(original)-1)
	}
	// Problems sit in the column that caused them, next to the value typed.
	for _, c := range []struct{ row, col, value string }{
		{"5", "firstName", ""}, {"5", "email", "not-an-email"}, {"5", "phone", "98765"},
		{"6", "phoneVerified", "TRUE"},
		{"7", "roles", "TEACHER"}, {"7", "DOB", "31-02-1990"}, {"7", "gender", "M"}, {"7", "grade", "Class 13"},
	} {
		cell := fmt.Sprintf(`#check-result tr[data-row="%s"] td[data-col="%s"]`, c.row, c.col)
		if !eval[bool](tb, fmt.Sprintf(`!!document.querySelector('%s.cell-bad')`, cell)) {
			t.Errorf("row %s column %s is not highlighted", c.row, c.col)
			continue
		}
		if txt := tb.text(cell); c.value != "" && !strings.HasPrefix(txt, c.value) {
			t.Errorf("row %s column %s shows %q, want the value %q first", c.row, c.col, txt, c.value)
		}
	}
	if n := eval[int](tb, `document.querySelectorAll('#check-result tr[data-row="2"] td.cell-bad, #check-result tr[data-row="3"] td.cell-bad, #check-result tr[data-row="4"] td.cell-bad').length`); n != 0 {
		t.Errorf("%d cells of valid rows are highlighted", n)
	}
	if pw := tb.text(`#check-result tr[data-row="2"] td[data-col="password"]`); strings.Contains(pw, "Welcome") {
		t.Error("the check table shows a password")
	}
	if n := countUsers(t, srv, "anitha.raman@example.org"); n != 0 {
		t.Fatalf("the check created users")
	}
	tb.checkAccessible("upload check")
	tb.checkPhone("upload check")
	if shots {
		tb.screenshot("upload-check", false)
	}

	// Upload, and watch the bar fill.
	tb.click(`#upload`)
	tb.waitFor("progress page", `/^#\/upload\/[\w-]+$/.test(location.hash) && !!document.getElementById('progress')`, 15*time.Second)
	uploadID := strings.TrimPrefix(eval[string](tb, `location.hash`), "#/upload/")
	tb.waitFor("100%", `(() => { const p = document.getElementById('progress'); return p.value === p.max && p.max === 6 &&
		document.getElementById('progress-label').textContent.includes('6 of 6 rows processed (100%)'); })()`, 60*time.Second)
	tb.waitFor("results table", `!!document.querySelector('#results-title') && !!document.querySelector('section [data-row]')`, 15*time.Second)
	if c := tb.text(`[data-count=succeeded]`); c != "3" {
		t.Errorf("created count shows %q, want 3", c)
	}
	if c := tb.text(`[data-count=failed]`); c != "3" {
		t.Errorf("failed count shows %q, want 3", c)
	}
	tb.checkAccessible("upload results")
	tb.checkPhone("upload results")
	if shots {
		tb.screenshot("upload-results", false)
		tb.screenshot("upload-results-phone", true)
	}

	// Filters.
	for _, f := range []struct{ value, want string }{{"FAILED", "FAILED"}, {"CREATED", "CREATED"}} {
		tb.click(fmt.Sprintf(`input[name=row-filter][value=%s]`, f.value))
		tb.waitFor(f.value+" rows", fmt.Sprintf(`(() => { const rs = [...document.querySelectorAll('section tr[data-row]')];
			return rs.length === 3 && rs.every(r => r.dataset.status === %q); })()`, f.want), 10*time.Second)
	}

	// The result CSV: the file's columns (passwords blank) plus status and
	// errors, one line per row, outcomes matching what the server did.
	path, name := tb.download(`#result-csv`)
	if name != "users-sample-result.csv" {
		t.Errorf("result file named %q", name)
	}
	result := readCSVFile(t, path)
	if want := append(slices.Clone(original[0]), "result", "errors"); !slices.Equal(result[0], want) {
		t.Errorf("result header = %v\nwant %v", result[0], want)
	}
	if len(result) != len(original) {
		t.Fatalf("result has %d lines, the file %d", len(result), len(original))
	}
	col := func(name string) int { return slices.Index(result[0], name) }
	for i, rec := range result[1:] {
		row := i + 2
		if rec[col("password")] != "" {
			t.Errorf("row %d: password not blanked in the result", row)
		}
		if rec[col("userName")] != original[i+1][col("userName")] {
			t.Errorf("row %d: userName %q, the file had %q", row, rec[col("userName")], original[i+1][col("userName")])
		}
		status, errs := rec[col("result")], rec[col("errors")]
		switch {
		case row <= 4 && (status != "CREATED" || errs != ""):
			t.Errorf("row %d: %s %q, want CREATED", row, status, errs)
		case row > 4 && (status != "FAILED" || errs == ""):
			t.Errorf("row %d: %s %q, want FAILED with errors", row, status, errs)
		}
	}
	if n := countUsers(t, srv, "anitha.raman@example.org"); n != 1 {
		t.Errorf("anitha.raman@example.org registered %d times after the upload", n)
	}

	// History: this upload and the check before it, newest first.
	tb.open("#/upload")
	tb.waitFor("history rows", `document.querySelectorAll('#history-title ~ .table-wrap tbody tr a').length === 2`, 10*time.Second)
	first := eval[string](tb, `document.querySelector('#history-title ~ .table-wrap tbody tr').textContent`)
	for _, want := range []string{"users-sample.csv", "Completed", "6", "3"} {
		if !strings.Contains(first, want) {
			t.Errorf("latest history row %q lacks %q", first, want)
		}
	}
	if href := eval[string](tb, `document.querySelector('#history-title ~ .table-wrap tbody tr a').getAttribute('href')`); href != "#/upload/"+uploadID {
		t.Errorf("latest history row links to %q", href)
	}
	second := eval[string](tb, `document.querySelectorAll('#history-title ~ .table-wrap tbody tr')[1].textContent`)
	if !strings.Contains(second, "Check only") || !strings.Contains(second, "3 ready") || strings.Contains(second, "created") {
		t.Errorf("the dry run is listed as %q: want Check only, 3 ready, nothing created", second)
	}
	if shots {
		tb.screenshot("upload", false)
	}

	// The check, opened from the history, says what a check did: rows
	// found ready, none created.
	tb.click(`#history-title ~ .table-wrap tbody tr[data-dry-run] a`)
	tb.waitFor("the check's page", `/^#\/upload\/[\w-]+$/.test(location.hash) && !!document.querySelector('#progress-label') &&
		!!document.querySelector('section .notice') && !!document.querySelector('section [data-row]')`, 15*time.Second)
	if msg := tb.text(`section .notice`); msg != "Check finished: 3 rows ready, 3 with problems; nothing was created." {
		t.Errorf("the check says %q", msg)
	}
	counts := tb.text(`ul.counts`)
	if !strings.Contains(counts, "3ready") || !strings.Contains(counts, "3with problems") || strings.Contains(counts, "created") {
		t.Errorf("the check's counts read %q", counts)
	}
	if h := tb.text(`main h1`); h != "Check: users-sample.csv" {
		t.Errorf("the check's heading = %q", h)
	}
	if body := tb.text("main"); strings.Contains(body, "users created") || strings.Contains(body, "Done.") {
		t.Errorf("the check's page claims users were created: %q", body)
	}
	filters := eval[[]string](tb, `[...document.querySelectorAll('input[name=row-filter]')].map(i => i.parentElement.textContent)`)
	if !slices.Equal(filters, []string{"All", "Failed", "Ready"}) {
		t.Errorf("the check's row filters = %v", filters)
	}
	tb.click(`input[name=row-filter][value=VALID]`)
	tb.waitFor("ready rows", `(() => { const rs = [...document.querySelectorAll('section tr[data-row]')];
		return rs.length === 3 && rs.every(r => r.dataset.status === 'VALID'); })()`, 10*time.Second)
}

func (tb *tab) selectOption(sel, value string) {
	tb.t.Helper()
	ok := eval[bool](tb, fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.focus(); s.value = %q;
		s.dispatchEvent(new Event('change', { bubbles: true })); return s.value === %q; })()`, sel, value, value))
	if !ok {
		tb.fail("no option %q in %s", value, sel)
	}
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func countUsers(t *testing.T, srv *server, email string) int {
	t.Helper()
	_, err := srv.app.Registry.FindUser(context.Background(), roster.SystemPrincipal, registry.LookupQuery{Type: roster.LookupEmail, Value: email})
	switch roster.ErrorCode(err) {
	case "":
		return 1
	case roster.ENOTFOUND:
		return 0
	}
	t.Fatal(err)
	return 0
}

// The Excel sample: the same kinds of rows as the CSV (2-4 valid, 5-7
// broken), other people, so both can be uploaded to one database.
var sampleXLSX = filepath.Join("..", "..", "examples", "users-sample.xlsx")

// testUploadKeyboard: the Excel sample checked and uploaded with the
// keyboard alone: Tab to the organisation and choose it with the arrow
// keys, Space opens the file chooser, Enter checks, focus lands on the
// result; Shift+Tab back to Upload, Space starts it and focus lands on the
// progress page's heading.
func testUploadKeyboard(t *testing.T, root context.Context, srv *server) {
	xlsx, err := filepath.Abs(sampleXLSX)
	if err != nil {
		t.Fatal(err)
	}
	tb := newTab(t, root, srv)
	tb.signIn("priya.admin", testPassword)
	if got := eval[string](tb, `location.hash`); got != "#/upload" {
		t.Fatalf("admin starts on %q", got)
	}
	if got := tb.focused(); !strings.HasPrefix(got, "h1:Upload users") {
		t.Errorf("focus on arrival is on %q, want the page heading", got)
	}
	tb.key("\t")
	if got := tb.focused(); got != "orgId" {
		t.Fatalf("Tab from the heading went to %q, want the organisation", got)
	}
	// Options: the placeholder, the tenant, then its school.
	tb.key(kb.ArrowDown)
	tb.key(kb.ArrowDown)
	tb.waitFor("school chosen", fmt.Sprintf(`document.querySelector('select[name=orgId]').value === %q`, srv.schoolA.ID), 5*time.Second)
	tb.key("\t")
	if got := tb.focused(); got != "mode" {
		t.Fatalf("Tab from the organisation went to %q, want what the file does", got)
	}
	tb.key("\t")
	if got := tb.focused(); got != "file-input" {
		t.Fatalf("Tab from what the file does went to %q, want the file input", got)
	}
	tb.chooseFileWithKeyboard(xlsx)
	tb.waitFor("file chosen", `document.getElementById('chosen-file').textContent.includes('users-sample.xlsx')`, 5*time.Second)
	// On to "Check first", past the template link and the column help.
	var path []string
	for range 6 {
		tb.key("\t")
		path = append(path, tb.focused())
		if path[len(path)-1] == "check" {
			break
		}
	}
	if want := []string{"template", "summary:What goes in each column", "check"}; !slices.Equal(path, want) {
		t.Errorf("Tab order after the file input = %q, want %q", path, want)
	}
	tb.key("\r")
	tb.waitFor("check result", `!!document.querySelector('#check-result table')`, 20*time.Second)
	if got := tb.focused(); got != "check-title" {
		t.Errorf("focus after the check is on %q, want the result heading", got)
	}
	bad := eval[[]string](tb, `[...document.querySelectorAll('#check-result tr.row-bad')].map(r => r.dataset.row)`)
	if want := []string{"5", "6", "7"}; !slices.Equal(bad, want) {
		t.Errorf("rows of the Excel sample flagged = %v, want %v", bad, want)
	}
	// No preview of Excel cells: the problem is in its column, the value
	// is not, and the page says so.
	for _, c := range []struct{ row, col, value string }{{"5", "email", "bad-email"}, {"7", "roles", "PRINCIPAL"}, {"7", "DOB", "30-02-1991"}} {
		cell := fmt.Sprintf(`#check-result tr[data-row="%s"] td[data-col="%s"]`, c.row, c.col)
		if !eval[bool](tb, fmt.Sprintf(`!!document.querySelector('%s.cell-bad')`, cell)) {
			t.Errorf("row %s column %s is not highlighted", c.row, c.col)
		} else if txt := tb.text(cell); strings.HasPrefix(txt, c.value) {
			t.Errorf("row %s column %s shows %q: Excel values are not previewed", c.row, c.col, txt)
		}
	}
	if note := tb.text(`#check-result #no-preview`); !strings.Contains(note, "Excel") {
		t.Errorf("no explanation for the missing values: %q", note)
	}

	tb.key("\t", chromedp.KeyModifiers(chromedp.ModifierShift))
	if got := tb.focused(); got != "upload" {
		t.Fatalf("Shift+Tab from the check result went to %q, want Upload", got)
	}
	tb.key(" ")
	tb.waitFor("progress page", `/^#\/upload\/[\w-]+$/.test(location.hash) && !!document.getElementById('progress')`, 15*time.Second)
	tb.settled(0)
	if got := eval[string](tb, `document.activeElement.tagName + ':' + document.activeElement.textContent`); !strings.HasPrefix(got, "H1:Upload") {
		t.Errorf("focus after starting the upload is on %q, want the page heading", got)
	}
	tb.waitFor("100%", `document.getElementById('progress-label').textContent.includes('6 of 6 rows processed (100%)')`, 60*time.Second)
	tb.waitFor("counts", `document.querySelector('[data-count=succeeded]').textContent === '3' && document.querySelector('[data-count=failed]').textContent === '3'`, 10*time.Second)
	if n := countUsers(t, srv, "kavitha.s@example.org"); n != 1 {
		t.Errorf("kavitha.s@example.org registered %d times after the Excel upload", n)
	}
}

// testUploadProgress: a file big enough to be processed in several steps
// (the server writes one chunk of rows per transaction, and each password
// hash is slowed down here) shows the bar moving: some value strictly
// between 0 and the total, then the total and 100%. Meanwhile, in another
// tab, an upload that does not exist (or is another organisation's) is
// reported once, and the page does not keep asking.
func testUploadProgress(t *testing.T, root context.Context, srv *server, shots bool) {
	// Two and a half chunks: the bar has two steps before the end.
	chunk, hashers := srv.app.Uploads.ChunkSize, max(srv.app.Uploads.Hashers, 1)
	rows := chunk*2 + chunk/2
	if chunk < 2 || rows > 1000 {
		t.Fatalf("chunks of %d rows: cannot build a file of several chunks within the 1000-row limit", chunk)
	}
	var b strings.Builder
	b.WriteString("firstName,lastName,email,userName,password\n")
	for i := range rows {
		// Names take letters only: "Aaa", "Aab", …
		last := string([]byte{byte('A' + i/676), byte('a' + i/26%26), byte('a' + i%26)})
		fmt.Fprintf(&b, "Bulk,%s,bulk.learner%03d@progress.example.org,bulk_learner_%03d,Welcome@2024\n", last, i, i)
	}
	file := filepath.Join(t.TempDir(), "users-many.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Each chunk's hashes, shared by the hashing goroutines, take about
	// 1.5s: every step of the bar lasts twice the console's poll interval
	// (0.7s), whatever the machine's speed. Sleeping costs no CPU, so a
	// busy machine does not shorten it.
	srv.hashDelay.Store(int64(1500 * time.Millisecond * time.Duration(hashers) / time.Duration(chunk)))
	defer srv.hashDelay.Store(0)

	other := newTab(t, root, srv)
	other.signIn("priya.admin", testPassword)
	missing := "0190c0de-0000-7000-8000-000000000000"
	other.open("#/upload/" + missing)
	other.waitFor("not-found message", `(document.querySelector('main .notice.error') || {}).textContent === 'This upload does not exist or belongs to another organisation.'`, 10*time.Second)
	asked := time.Now()

	tb := newTab(t, root, srv)
	tb.signIn("priya.admin", testPassword)
	tb.selectOption(`select[name=orgId]`, srv.schoolA.ID)
	tb.do(chromedp.SetUploadFiles(chromedp.CSS(`#file-input`), []string{file}))
	tb.waitFor("file chosen", `document.getElementById('chosen-file').textContent.includes('users-many.csv')`, 5*time.Second)
	// Record every value the page gives the bar, however briefly shown.
	eval[bool](tb, `(() => { window.barValues = [];
		new MutationObserver((ms) => { for (const m of ms) if (m.target.id === 'progress' && m.attributeName === 'value') window.barValues.push(m.target.value); })
			.observe(document.body, { subtree: true, attributes: true, attributeFilter: ['value'] });
		return true; })()`)
	tb.click(`#upload`)
	tb.waitFor("progress page", `/^#\/upload\/[\w-]+$/.test(location.hash) && !!document.getElementById('progress')`, 15*time.Second)
	if shots && os.Getenv(EnvUpdateScreenshots) != "" {
		tb.waitFor("the bar part-way", fmt.Sprintf(`(() => { const p = document.getElementById('progress'); return p.value > 0 && p.value < %d; })()`, rows), 30*time.Second)
		tb.screenshot("upload-progress", false)
	}
	tb.waitFor("100%", fmt.Sprintf(`(() => { const p = document.getElementById('progress'); return p.value === %d && p.max === %d &&
		document.getElementById('progress-label').textContent.includes('%d of %d rows processed (100%%)'); })()`, rows, rows, rows, rows), 90*time.Second)
	values := eval[[]float64](tb, `window.barValues`)
	between := slices.ContainsFunc(values, func(v float64) bool { return v > 0 && v < float64(rows) })
	if !between || len(values) == 0 || values[len(values)-1] != float64(rows) {
		t.Errorf("the bar showed %v: want a value between 0 and %d, ending at %d", values, rows, rows)
	}
	if !slices.IsSorted(values) {
		t.Errorf("the bar went backwards: %v", values)
	}
	tb.waitFor("created count", fmt.Sprintf(`document.querySelector('[data-count=succeeded]').textContent === %q`, fmt.Sprint(rows)), 10*time.Second)

	// Three poll intervals (the retry delay after an error) and a little
	// have passed since the missing upload was answered.
	time.Sleep(time.Until(asked.Add(2500 * time.Millisecond)))
	if n := eval[int](other, fmt.Sprintf(`performance.getEntriesByType('resource').filter(e => e.name.includes('/uploads/%s')).length`, missing)); n != 1 {
		t.Errorf("the page asked for the missing upload %d times, want once", n)
	}
	if other.visible(`#progress`) {
		t.Error("a progress bar is shown for an upload that does not exist")
	}
}
