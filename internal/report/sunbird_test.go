package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/zipcrypt"
)

// The Sunbird layout is the same exhaust (same learners, consent, policy
// and locations) written as Sunbird's UserInfoExhaustJob writes it: its 19
// columns, non-consenting learners left out, "BatchId_" before the batch
// id, "true" for consent, dd/MM/yyyy dates and Sunbird's file name.
func TestSunbirdLayout(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		if _, err := db.Exec(ctx, `UPDATE users SET profile_user_types = $1 WHERE id = $2`,
			`[{"type":"teacher","subType":"hm"},{"type":"administrator"}]`, f.u["jaya"]); err != nil {
			t.Fatal(err)
		}
		req, err := f.svc.Request(ctx, f.creator, NewRequest{Kind: roster.ReportSunbirdUserInfo, CourseID: f.course.ID,
			BatchID: f.b1.ID, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.generate(ctx, req.ID); err != nil {
			t.Fatal(err)
		}
		r, err := store.GetReportRequest(ctx, db, req.ID)
		if err != nil || r.Status != roster.ReportSuccess {
			t.Fatalf("report = %+v, %v", r, err)
		}
		date := func(name string) string { return f.consent[name].At.UTC().Format("02/01/2006") }
		row := func(name string, cells ...string) []string {
			return append([]string{f.course.ID, "'+Fractions & Decimals", "BatchId_" + f.b1.ID, "Batch 1", f.u[name]}, cells...)
		}
		want := [][]string{SunbirdHeader,
			row("asha", "Asha Devi", "", "", "Kerala", "Ernakulam", "", "", "", "", "Custodian", "asha@example.org", "9876543210", "true", date("asha")),
			row("devi", "Devi K", "", "", "Tamil Nadu", "", "", "", "", "", "Tamil Nadu", "devi@example.org", "'+447911123456", "true", date("devi")),
			row("ezhil", "எழில்", "", "", "", "", "", "", "", "", "Custodian", "ezhil@example.org", "", "true", date("ezhil")),
			row("indra", "Indra", "", "", "Tamil Nadu", "Chennai", "", "", "", "", "Custodian", "indra@example.org", "", "true", date("indra")),
			row("jaya", "Jaya", "teacher,administrator", "hm", "Tamil Nadu", "Madurai", "Melur", "", "SCH-1", "GHS Melur", "Tamil Nadu",
				"jaya@example.org", "", "true", date("jaya")),
		}
		compareRows(t, parseRawCSV(t, readArchive(t, r.FilePath, testPassword)), want)
		if r.TotalRows != 5 || r.ConsentedRows != 5 {
			t.Errorf("counts = %d/%d, want 5/5: Sunbird leaves non-consenting learners out", r.TotalRows, r.ConsentedRows)
		}
		fh, err := os.Open(r.FilePath)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		zr, err := zipcrypt.OpenReader(fh, r.FileSize, testPassword)
		if err != nil {
			t.Fatal(err)
		}
		if name := f.b1.ID + "_userinfo_" + r.RequestedAt.UTC().Format("20060102") + ".csv"; zr.Files[0].Name != name {
			t.Errorf("file inside = %q, want Sunbird's %q", zr.Files[0].Name, name)
		}

		// The default stays seed 000's 14 columns.
		def := f.runNow(t, f.b1.ID)
		if def.Kind != roster.ReportUserProfileExhaust || def.TotalRows != 8 {
			t.Errorf("default report = %s with %d rows", def.Kind, def.TotalRows)
		}
	})
}

// parseRawCSV reads a report CSV, header included.
func parseRawCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestBuildSunbirdConsentDate(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	r := Row{BatchID: "b1", Consented: true, ConsentAt: time.Date(2024, 3, 9, 20, 0, 0, 0, time.UTC)}
	cells := r.BuildSunbird(DefaultPolicy, ist, nil)
	if cells[2] != "BatchId_b1" || cells[17] != "true" || cells[18] != "10/03/2024" {
		t.Errorf("cells = %q", cells)
	}
	r.Consented = false
	if r.BuildSunbird(DefaultPolicy, ist, nil) != nil {
		t.Error("a non-consenting learner was written")
	}
}
