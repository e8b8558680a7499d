package upload

import (
	"bytes"
	"github.com/roster-dev/roster"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// A row lists its first MaxRowErrors errors and a count of the rest; once
// a file has listed the errors of MaxListedRows failed rows, further
// failed rows say only how many errors they have. The failed count and
// every row's status stay exact, in the API and in the result CSV, for a
// dry run and for an upload processed one row per chunk.
func TestErrorsCappedPerRowAndPerFile(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.Limits = Limits{MaxRowErrors: 2, MaxListedRows: 2}
		f.svc.ChunkSize = 1
		bad := []string{"", "", "bad@", "12", "x", "", "31-02-1990", "WIZARD"} // 7 errors
		data := csvFile(header,
			bad, // 2
			[]string{"Asha", "", "asha@example.org", "", "asha_rao", "secret-asha", "", ""}, // 3 valid
			bad, // 4
			bad, // 5
			bad, // 6
		)
		want := map[int]string{
			2: "FAILED firstName: is required; phone: " + registry.MsgPhone + "; row: has 5 more errors, not listed",
			4: "FAILED firstName: is required; phone: " + registry.MsgPhone + "; row: has 5 more errors, not listed",
			5: "FAILED row: has 7 errors, not listed: a file lists the errors of its first 2 failed rows only; fix those and upload again",
			6: "FAILED row: has 7 errors, not listed: a file lists the errors of its first 2 failed rows only; fix those and upload again",
		}
		check := func(t *testing.T, id string, wantValid string) {
			t.Helper()
			up, err := f.svc.Get(f.ctx, f.adminA, id)
			if err != nil || up.Failed != 4 || up.Succeeded != 1 {
				t.Fatalf("upload %+v %v", up, err)
			}
			rows, err := f.svc.Rows(f.ctx, f.adminA, id, RowFilter{})
			if err != nil || len(rows) != 5 {
				t.Fatalf("rows %+v %v", rows, err)
			}
			for _, r := range rows {
				got := r.Status + " " + JoinErrors(r.Errors)
				if r.RowNumber == 3 {
					if r.Status != wantValid {
						t.Errorf("row 3: %s", got)
					}
				} else if got != want[r.RowNumber] {
					t.Errorf("row %d: %q\nwant %q", r.RowNumber, got, want[r.RowNumber])
				}
			}
			var out bytes.Buffer
			if err := f.svc.ResultCSV(f.ctx, f.adminA, id, &out); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(out.String(), ",FAILED,"); n != 4 {
				t.Fatalf("%d failed rows in the result CSV:\n%s", n, out.String())
			}
			if !strings.Contains(out.String(), "row: has 7 errors, not listed") || !strings.Contains(out.String(), "row: has 5 more errors, not listed") {
				t.Fatalf("result CSV:\n%s", out.String())
			}
		}
		res, err := f.svc.DryRun(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", data)
		if err != nil {
			t.Fatal(err)
		}
		check(t, res.Upload.ID, roster.UploadRowValid)

		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", data, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		check(t, up.ID, roster.UploadRowCreated)
	})
}
