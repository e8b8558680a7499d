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

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

// The sample shipped for newcomers: rows 2-4 are valid, 5-7 break rules.
var sampleCSV = filepath.Join("..", "..", "examples", "users-sample.csv")

// testUpload: an org admin checks the sample file, sees exactly the broken
// rows and cells highlighted, uploads it, watches the progress bar reach
// 100%, filters the results, downloads the result CSV and finds the upload
// in the history.
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
	tb.do(chromedp.Click(chromedp.CSS(`#upload`)))
	tb.waitFor("field errors", `document.querySelectorAll('.field-error:not(:empty)').length === 2`, 5*time.Second)

	// The template has every column, in the order of the shipped example.
	tmpl, _ := tb.download(`#template`)
	if got, want := readCSVFile(t, tmpl), readCSVFile(t, filepath.Join("..", "..", "examples", "users-template.csv")); !slices.Equal(got[0], want[0]) {
		t.Errorf("template header = %v\nwant %v", got[0], want[0])
	}

	tb.selectOption(`select[name=orgId]`, srv.tenantA.ID)
	tb.do(chromedp.SetUploadFiles(chromedp.CSS(`#file-input`), []string{sample}))
	tb.waitFor("file chosen", `document.getElementById('chosen-file').textContent.includes('users-sample.csv')`, 5*time.Second)
	// Before anything ran, the history says there is nothing yet.
	tb.waitFor("empty history", `document.querySelector('#history-title + .table-wrap') !== null`, 10*time.Second)

	// Check first.
	tb.do(chromedp.Click(chromedp.CSS(`#check`)))
	tb.waitFor("check result", `!!document.querySelector('#check-result table')`, 20*time.Second)
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
	tb.do(chromedp.Click(chromedp.CSS(`#upload`)))
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
		tb.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=row-filter][value=%s]`, f.value))))
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
	if want := append(slices.Clone(original[0]), "status", "errors"); !slices.Equal(result[0], want) {
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
		status, errs := rec[col("status")], rec[col("errors")]
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
	if second := eval[string](tb, `document.querySelectorAll('#history-title ~ .table-wrap tbody tr')[1].textContent`); !strings.Contains(second, "Check only") {
		t.Errorf("the dry run is listed as %q", second)
	}
	if shots {
		tb.screenshot("upload", false)
	}
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
