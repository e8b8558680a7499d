package report

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/course/coursetest"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/zipcrypt"
)

const testPassword = "Secret2024"

type fixture struct {
	*coursetest.World
	svc          *Service
	creator      *roster.Principal
	mentor       *roster.Principal
	otherCreator *roster.Principal // content creator of the same tenant, not of this course
	foreign      *roster.Principal // content creator of another tenant
	course       *roster.Course
	b1, b2       *roster.Batch
	school       *roster.Organisation
	u            map[string]string          // learner name -> user id
	consent      map[string]*roster.Consent // learner name -> latest decision
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := roster.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

// newFixture builds a course with two batches and learners covering every
// column rule; requests are enqueued on an insert-only queue unless the
// test starts workers itself.
func newFixture(t *testing.T, db store.Engine, cfg Config) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	f := &fixture{World: coursetest.NewWorld(t, db), u: map[string]string{}, consent: map[string]*roster.Consent{}}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 2 // several pages even for this handful of rows
	}
	var err error
	if f.svc, err = New(db, f.Keys, cfg); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(db, nil, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.UseQueue(q)
	sys := roster.SystemPrincipal
	if f.school, err = f.Reg.CreateOrg(ctx, sys, roster.Organisation{Name: "GHS Melur", RootOrgID: f.State.ID,
		ExternalID: "SCH-1", LocationIDs: []string{f.Locations["330201"].ID}}); err != nil {
		t.Fatal(err)
	}
	role := func(org *roster.Organisation, roles ...string) *roster.Principal {
		return f.Principal(t, f.User(t, registry.NewUser{OrgID: org.ID, Roles: roles}))
	}
	f.creator = role(f.State, roster.RoleContentCreator)
	f.mentor = role(f.State, roster.RoleCourseMentor, roster.RoleContentCreator)
	f.otherCreator = role(f.State, roster.RoleContentCreator)
	f.foreign = role(f.Other, roster.RoleContentCreator)
	// The course name starts with "+", which spreadsheets would evaluate.
	if f.course, err = f.Courses.CreateCourse(ctx, f.creator, course.NewCourse{Name: "+Fractions & Decimals", RootOrgID: f.State.ID}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().AddDate(0, 0, -7)
	if f.b1, err = f.Courses.CreateBatch(ctx, f.creator, course.NewBatch{CourseID: f.course.ID, Name: "Batch 1",
		Mentors: []string{f.mentor.UserID}, StartDate: start}); err != nil {
		t.Fatal(err)
	}
	if f.b2, err = f.Courses.CreateBatch(ctx, f.creator, course.NewBatch{CourseID: f.course.ID, Name: "Batch 2", StartDate: start}); err != nil {
		t.Fatal(err)
	}

	learner := func(name string, in registry.NewUser, batch *roster.Batch, decisions ...string) {
		t.Helper()
		id := f.User(t, in)
		f.u[name] = id
		p := f.Principal(t, id)
		if _, err := f.Courses.Enrol(ctx, p, batch.ID, id); err != nil {
			t.Fatal(err)
		}
		for _, d := range decisions {
			c, err := f.Courses.RecordConsent(ctx, p, course.ConsentInput{UserID: id, CourseID: f.course.ID, Status: d})
			if err != nil {
				t.Fatal(err)
			}
			f.consent[name] = c
		}
	}
	// Self-signed-up (custodian) learner who declared Kerala and a state id, consented.
	learner("asha", registry.NewUser{User: roster.User{FirstName: "Asha", LastName: "Devi", Email: "asha@example.org",
		Phone: "9876543210", ProfileLocation: []roster.LocationRef{{Code: "32", Type: "state"}, {Code: "3201", Type: "district"}}},
		ExternalIDs: []roster.ExternalIdentity{{Provider: "TN", IDType: "TN", ExternalID: "DECL-1"}}}, f.b1, roster.ConsentActive)
	// Self-signed-up learner who never answered.
	learner("bala", registry.NewUser{User: roster.User{FirstName: "Bala", Email: "bala@example.org", Phone: "9876500001",
		ProfileLocation: []roster.LocationRef{{Code: "33", Type: "state"}, {Code: "3301", Type: "district"}}}}, f.b1)
	// State-validated teacher of a school in Melur block, who granted and then revoked.
	learner("chitra", registry.NewUser{User: roster.User{FirstName: "Chitra", Email: "chitra@example.org",
		FlagsValue: roster.FlagTenantVerified}, OrgID: f.school.ID, AssociationType: roster.AssociationSSO,
		ExternalIDs: []roster.ExternalIdentity{{Provider: "TN", IDType: "TN", ExternalID: "TCH-42"}}}, f.b1,
		roster.ConsentActive, roster.ConsentRevoked)
	// State-validated learner with no school and no declared location, a
	// foreign phone and an external id that looks like a formula.
	learner("devi", registry.NewUser{User: roster.User{FirstName: "Devi", LastName: "K", Email: "devi@example.org",
		Phone: "+447911123456", FlagsValue: roster.FlagTenantVerified}, OrgID: f.State.ID,
		ExternalIDs: []roster.ExternalIdentity{{Provider: "TN", IDType: "udise", ExternalID: "X9"},
			{Provider: "TN", IDType: "TN", ExternalID: "=1+2"}}}, f.b1, roster.ConsentActive)
	// Self-signed-up learner with a Tamil name, no location, who revoked then granted again.
	learner("ezhil", registry.NewUser{User: roster.User{FirstName: "எழில்", Email: "ezhil@example.org"}}, f.b1,
		roster.ConsentRevoked, roster.ConsentActive)
	// Enrolled, consented, then left: not in the report.
	learner("farid", registry.NewUser{User: roster.User{FirstName: "Farid"}}, f.b1, roster.ConsentActive)
	if err := f.Courses.Unenrol(ctx, f.Principal(t, f.u["farid"]), f.b1.ID, f.u["farid"]); err != nil {
		t.Fatal(err)
	}
	// The only learner of batch 2.
	learner("gita", registry.NewUser{User: roster.User{FirstName: "Gita", Email: "gita@example.org"}}, f.b2, roster.ConsentActive)
	// A user of the state tenant who is not state-validated (no flag 4, as
	// users imported before tenants marked theirs): Org Name is the
	// custodian's, not the state's, and the location is what she declared.
	learner("indra", registry.NewUser{User: roster.User{FirstName: "Indra", Email: "indra@example.org",
		ProfileLocation: []roster.LocationRef{{Code: "33", Type: "state"}, {Code: "3301", Type: "district"}}},
		OrgID: f.State.ID}, f.b1, roster.ConsentActive)
	if _, err := db.Exec(ctx, `UPDATE users SET flags_value = 0 WHERE id = $1`, f.u["indra"]); err != nil {
		t.Fatal(err)
	}
	// SSO teacher of the Melur school (Madurai) who also declared Kerala /
	// Ernakulam: the school's location wins over the declared one.
	learner("jaya", registry.NewUser{User: roster.User{FirstName: "Jaya", Email: "jaya@example.org",
		ProfileLocation: []roster.LocationRef{{Code: "32", Type: "state"}, {Code: "3201", Type: "district"}}},
		OrgID: f.school.ID, AssociationType: roster.AssociationSSO,
		ExternalIDs: []roster.ExternalIdentity{{Provider: "TN", IDType: "TN", ExternalID: "TCH-77"}}}, f.b1, roster.ConsentActive)
	// SSO user without a school who declared Kerala / Chennai: the tenant's
	// location gives the state, the declared district fills the district.
	// The registry now refuses a district outside the declared state, so
	// the pair is written as a profile stored before that rule would be.
	learner("kavi", registry.NewUser{User: roster.User{FirstName: "Kavi", Email: "kavi@example.org",
		ProfileLocation: []roster.LocationRef{{Code: "3301", Type: "district"}}},
		OrgID: f.State.ID, AssociationType: roster.AssociationSSO}, f.b1)
	if _, err := db.Exec(ctx, `UPDATE users SET profile_location = $1 WHERE id = $2`,
		`[{"code":"32","type":"state"},{"code":"3301","type":"district"}]`, f.u["kavi"]); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) date(name string) string { return f.consent[name].At.UTC().Format(time.DateOnly) }

// expected returns the hand-computed rows of batch 1 (in user id order,
// which is creation order) under the default or the seed policy.
func (f *fixture) expected(seedPolicy bool) [][]string {
	row := func(b *roster.Batch, name string, cells ...string) []string {
		return append([]string{f.course.ID, "'+Fractions & Decimals", b.ID, b.Name, f.u[name]}, cells...)
	}
	if !seedPolicy {
		return [][]string{
			row(f.b1, "asha", "Asha Devi", "Kerala", "Ernakulam", "Custodian", "DECL-1", "9876543210", "asha@example.org", "Yes", f.date("asha")),
			row(f.b1, "bala", "", "Tamil Nadu", "Chennai", "Custodian", "", "", "", "No", ""),
			row(f.b1, "chitra", "", "Tamil Nadu", "Madurai", "Tamil Nadu", "", "", "", "No", ""),
			row(f.b1, "devi", "Devi K", "Tamil Nadu", "", "Tamil Nadu", "'=1+2", "'+447911123456", "devi@example.org", "Yes", f.date("devi")),
			row(f.b1, "ezhil", "எழில்", "", "", "Custodian", "", "", "ezhil@example.org", "Yes", f.date("ezhil")),
			row(f.b1, "indra", "Indra", "Tamil Nadu", "Chennai", "Custodian", "", "", "indra@example.org", "Yes", f.date("indra")),
			row(f.b1, "jaya", "Jaya", "Tamil Nadu", "Madurai", "Tamil Nadu", "TCH-77", "", "jaya@example.org", "Yes", f.date("jaya")),
			row(f.b1, "kavi", "", "Tamil Nadu", "Chennai", "Tamil Nadu", "", "", "", "No", ""),
		}
	}
	return [][]string{
		row(f.b1, "asha", "", "Kerala", "Ernakulam", "Custodian", "", "", "", "Yes", f.date("asha")),
		row(f.b1, "bala", "", "Tamil Nadu", "Chennai", "Custodian", "", "", "", "No", ""),
		row(f.b1, "chitra", "", "Tamil Nadu", "Madurai", "Tamil Nadu", "", "", "", "No", ""),
		row(f.b1, "devi", "Devi K", "Tamil Nadu", "", "Tamil Nadu", "'=1+2", "", "", "Yes", f.date("devi")),
		row(f.b1, "ezhil", "", "", "", "Custodian", "", "", "", "Yes", f.date("ezhil")),
		row(f.b1, "indra", "", "Tamil Nadu", "Chennai", "Custodian", "", "", "", "Yes", f.date("indra")),
		row(f.b1, "jaya", "Jaya", "Tamil Nadu", "Madurai", "Tamil Nadu", "TCH-77", "", "", "Yes", f.date("jaya")),
		row(f.b1, "kavi", "", "Tamil Nadu", "Chennai", "Tamil Nadu", "", "", "", "No", ""),
	}
}

// readArchive opens a report file with zipcrypt and returns its CSV bytes.
func readArchive(t *testing.T, path, password string) []byte {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	info, _ := fh.Stat()
	zr, err := zipcrypt.OpenReader(fh, info.Size(), password)
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.Files) != 1 || !strings.HasSuffix(zr.Files[0].Name, ".csv") {
		t.Fatalf("archive entries = %v", zr.Files)
	}
	rc, err := zr.Files[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// parseCSV checks the BOM and header and returns the data rows.
func parseCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	const bom = "\xEF\xBB\xBF"
	if !bytes.HasPrefix(data, []byte(bom)) {
		t.Fatal("CSV does not start with a UTF-8 BOM")
	}
	recs, err := csv.NewReader(bytes.NewReader(data[len(bom):])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || strings.Join(recs[0], "|") != strings.Join(ExhaustHeader, "|") {
		t.Fatalf("header = %v", recs)
	}
	return recs[1:]
}

func compareRows(t *testing.T, got, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(got), len(want), dump(got))
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d\n got %s\nwant %s", i, strings.Join(got[i], "|"), strings.Join(want[i], "|"))
		}
	}
}

func dump(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "|") + "\n")
	}
	return b.String()
}

// runNow requests a report and generates it in the test's goroutine.
func (f *fixture) runNow(t *testing.T, batchID string) *roster.ReportRequest {
	t.Helper()
	ctx := context.Background()
	req, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: batchID, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.generate(ctx, req.ID); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetReportRequest(ctx, f.DB, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != roster.ReportSuccess {
		t.Fatalf("status = %s (%s)", got.Status, got.Failure)
	}
	return got
}

func TestReportColumns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		r := f.runNow(t, f.b1.ID)
		compareRows(t, parseCSV(t, readArchive(t, r.FilePath, testPassword)), f.expected(false))
		if r.TotalRows != 8 || r.ConsentedRows != 5 {
			t.Errorf("counts = %d/%d, want 8 rows, 5 consented", r.TotalRows, r.ConsentedRows)
		}
		if info, err := os.Stat(r.FilePath); err != nil || info.Size() != r.FileSize || info.Mode().Perm() != 0o600 {
			t.Errorf("file = %v %v, recorded size %d", info, err, r.FileSize)
		}
		if enc, err := store.ReportPassword(ctx, db, r.ID); err != nil || enc != nil {
			t.Errorf("password after success = %x, %v; want wiped", enc, err)
		}

		// The seed's policy, set by the tenant's admin, narrows what is shared.
		if _, err := f.svc.SetPolicyPreset(ctx, f.creator, f.State.ID, PresetSeed); roster.ErrorCode(err) != roster.EFORBIDDEN {
			t.Fatalf("creator setting the policy: %v", err)
		}
		if _, err := f.svc.SetPolicyPreset(ctx, f.OtherAdm, f.State.ID, PresetSeed); roster.ErrorCode(err) != roster.EFORBIDDEN {
			t.Fatalf("other tenant's admin setting the policy: %v", err)
		}
		schoolAdmin := f.Principal(t, f.User(t, registry.NewUser{OrgID: f.school.ID, Roles: []string{roster.RoleOrgAdmin}}))
		if _, err := f.svc.SetPolicyPreset(ctx, schoolAdmin, f.State.ID, PresetSeed); roster.ErrorCode(err) != roster.EFORBIDDEN {
			t.Fatalf("a school's admin setting the tenant's policy: %v", err)
		}
		v, err := f.svc.SetPolicyPreset(ctx, f.Admin, f.State.ID, PresetSeed)
		if err != nil || v.Preset != PresetSeed {
			t.Fatalf("set policy = %+v, %v", v, err)
		}
		if v, err := f.svc.GetPolicy(ctx, f.creator, f.State.ID); err != nil || v.Preset != PresetSeed ||
			fmt.Sprint(v.SSO.Fields()) != "[userName externalId]" || len(v.SSU.Fields()) != 0 {
			t.Fatalf("get policy = %+v, %v", v, err)
		}
		r = f.runNow(t, f.b1.ID)
		compareRows(t, parseCSV(t, readArchive(t, r.FilePath, testPassword)), f.expected(true))

		// Every batch of the course: batch 1's rows, then batch 2's.
		if _, err := f.svc.SetPolicyPreset(ctx, f.Admin, f.State.ID, PresetDefault); err != nil {
			t.Fatal(err)
		}
		r = f.runNow(t, "")
		want := append(f.expected(false), []string{f.course.ID, "'+Fractions & Decimals", f.b2.ID, "Batch 2", f.u["gita"],
			"Gita", "", "", "Custodian", "", "", "gita@example.org", "Yes", f.date("gita")})
		compareRows(t, parseCSV(t, readArchive(t, r.FilePath, testPassword)), want)

		// The wrong password does not open the archive.
		fh, _ := os.Open(r.FilePath)
		defer fh.Close()
		zr, err := zipcrypt.OpenReader(fh, r.FileSize, "Wrong1234")
		if err == nil {
			_, err = zr.Files[0].Open()
		}
		if !errors.Is(err, zipcrypt.ErrPassword) {
			t.Fatalf("wrong password: err = %v", err)
		}
	})
}

func TestRequestAuthorization(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		refused := map[string]*roster.Principal{
			"mentor":                   f.mentor,
			"other creator":            f.otherCreator,
			"other tenant's creator":   f.foreign,
			"tenant admin":             f.Admin,
			"other tenant admin":       f.OtherAdm,
			"learner":                  f.Principal(t, f.u["asha"]),
			"system (not the creator)": roster.SystemPrincipal,
		}
		for name, p := range refused {
			if _, err := f.svc.Request(ctx, p, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword}); roster.ErrorCode(err) != roster.EFORBIDDEN {
				t.Errorf("%s: err = %v, want forbidden", name, err)
			}
		}
		var denied int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'report.request' AND outcome = 'denied'`).Scan(&denied); err != nil {
			t.Fatal(err)
		}
		if denied != len(refused) {
			t.Errorf("audited refusals = %d, want %d", denied, len(refused))
		}
		_, err := f.svc.Request(ctx, nil, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		wantCode(t, err, roster.EUNAUTHORIZED)
		_, err = f.svc.Request(ctx, f.creator, NewRequest{CourseID: "do_missing", Password: testPassword})
		wantCode(t, err, roster.ENOTFOUND)

		// The creator's input is validated.
		for _, pw := range []string{"short1", "lettersonly", "12345678", ""} {
			_, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: pw})
			wantCode(t, err, roster.EINVALID)
			if e := err.(*roster.Error); e.Fields[0].Field != "password" || strings.Contains(e.Error(), pw) && pw != "" {
				t.Fatalf("password error = %v", e)
			}
		}
		other, err := f.Courses.CreateCourse(ctx, f.otherCreator, course.NewCourse{Name: "Other", RootOrgID: f.State.ID})
		if err != nil {
			t.Fatal(err)
		}
		ob, err := f.Courses.CreateBatch(ctx, f.otherCreator, course.NewBatch{CourseID: other.ID, Name: "O", StartDate: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: ob.ID, Password: testPassword})
		wantCode(t, err, roster.EINVALID)

		// Downloads: only the creator, with a link issued to them, in time.
		r := f.runNow(t, f.b1.ID)
		list, err := f.svc.List(ctx, f.creator, "", 0)
		if err != nil || len(list) != 1 || list[0].Download == nil || list[0].CourseName != f.course.Name || list[0].BatchName != "Batch 1" {
			t.Fatalf("list = %+v, %v", list, err)
		}
		link := list[0].Download
		if !strings.HasPrefix(link.URL, "/api/v1/reports/download?token=") || link.ExpiresAt.After(time.Now().Add(31*time.Minute)) {
			t.Fatalf("link = %+v", link)
		}
		if mine, _ := f.svc.List(ctx, f.mentor, "", 0); len(mine) != 0 {
			t.Fatalf("mentor sees %d requests", len(mine))
		}
		rc, file, err := f.svc.Open(ctx, f.creator, link.Token)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if int64(len(data)) != r.FileSize || file.Size != r.FileSize || !strings.HasSuffix(file.Name, ".zip") ||
			!strings.Contains(file.Name, f.course.ID) {
			t.Fatalf("downloaded %d bytes as %+v; file is %d", len(data), file, r.FileSize)
		}
		for name, p := range map[string]*roster.Principal{"mentor": f.mentor, "other creator": f.otherCreator, "admin": f.Admin} {
			if _, _, err := f.svc.Open(ctx, p, link.Token); roster.ErrorCode(err) != roster.EFORBIDDEN {
				t.Errorf("%s opening the creator's link: %v", name, err)
			}
			if _, err := f.svc.DownloadLink(ctx, p, r.ID); roster.ErrorCode(err) != roster.EFORBIDDEN {
				t.Errorf("%s asking for a link: %v", name, err)
			}
			if _, err := f.svc.Get(ctx, p, r.ID); roster.ErrorCode(err) != roster.EFORBIDDEN {
				t.Errorf("%s reading the request: %v", name, err)
			}
		}
		_, _, err = f.svc.Open(ctx, f.creator, "garbage")
		wantCode(t, err, roster.EINVALID)
		_, _, err = f.svc.Open(ctx, nil, link.Token)
		wantCode(t, err, roster.EUNAUTHORIZED)
		_, err = f.svc.Get(ctx, f.creator, "no-such-report")
		wantCode(t, err, roster.ENOTFOUND)

		// Every refusal that reaches the service is audited as denied,
		// with who tried and which report, and never the token itself.
		staff := []string{f.mentor.UserID, f.otherCreator.UserID, f.Admin.UserID}
		wantAudits(t, db, "report.link", staff, r.ID, r.ID, r.ID)
		wantAudits(t, db, "report.get", append(staff, f.creator.UserID), r.ID, r.ID, r.ID, "no-such-report")
		wantAudits(t, db, "report.download", append(staff, f.creator.UserID, ""), r.ID, r.ID, r.ID, "", "")
		if n := countAudits(t, db, "report.download", "ok"); n != 1 {
			t.Errorf("audited downloads = %d, want 1", n)
		}

		// Links expire after 30 minutes and can be renewed while the file is kept.
		later := time.Now().Add(31 * time.Minute)
		f.svc.Now = func() time.Time { return later }
		_, _, err = f.svc.Open(ctx, f.creator, link.Token)
		wantCode(t, err, roster.EFORBIDDEN)
		if got := deniedAudits(t, db, "report.download"); len(got) != 6 ||
			got[5] != (auditRow{f.creator.UserID, r.ID, "expired link"}) {
			t.Errorf("expired link audit = %+v", got)
		}
		fresh, err := f.svc.DownloadLink(ctx, f.creator, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		rc, _, err = f.svc.Open(ctx, f.creator, fresh.Token)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		downloads, err := store.ListReportDownloads(ctx, db, r.ID)
		if err != nil || len(downloads) != 2 || downloads[0].UserID != f.creator.UserID {
			t.Fatalf("downloads = %+v, %v", downloads, err)
		}

		// After the retention period the file is deleted and the request EXPIRED.
		afterRetention := time.Now().Add(7*24*time.Hour + time.Minute)
		f.svc.Now = func() time.Time { return afterRetention }
		if n, err := f.svc.Expire(ctx); err != nil || n != 1 {
			t.Fatalf("expire = %d, %v", n, err)
		}
		if _, err := os.Stat(r.FilePath); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("file still there: %v", err)
		}
		got, _ := f.svc.Get(ctx, f.creator, r.ID)
		if got.Status != roster.ReportExpired || got.Download != nil {
			t.Fatalf("after retention = %+v", got)
		}
		_, err = f.svc.DownloadLink(ctx, f.creator, r.ID)
		wantCode(t, err, roster.ECONFLICT)
	})
}

type auditRow struct{ Actor, Object, Detail string }

// deniedAudits returns the denied audit rows of an action, oldest first.
func deniedAudits(t *testing.T, db store.Engine, action string) []auditRow {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT actor_id, object_id, detail FROM audit_log
WHERE action = $1 AND outcome = 'denied' ORDER BY at, id`, action)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var a auditRow
		var actor, object, detail sql.NullString
		if err := rows.Scan(&actor, &object, &detail); err != nil {
			t.Fatal(err)
		}
		a.Actor, a.Object, a.Detail = actor.String, object.String, detail.String
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func countAudits(t *testing.T, db store.Engine, action, outcome string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = $1 AND outcome = $2`,
		action, outcome).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantAudits checks the denied audits of action: one per actor (in any
// order) naming the given objects (in order), each with a reason.
func wantAudits(t *testing.T, db store.Engine, action string, actors []string, objects ...string) {
	t.Helper()
	got := deniedAudits(t, db, action)
	var gotActors, gotObjects []string
	for _, a := range got {
		gotActors, gotObjects = append(gotActors, a.Actor), append(gotObjects, a.Object)
		if a.Detail == "" {
			t.Errorf("%s: denied audit without a reason: %+v", action, a)
		}
	}
	want := slices.Clone(actors)
	slices.Sort(want)
	slices.Sort(gotActors)
	if !slices.Equal(gotActors, want) || !slices.Equal(gotObjects, objects) {
		t.Errorf("%s denied audits = %+v\nwant actors %v, objects %v", action, got, actors, objects)
	}
}

func TestRequestDedup(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		first, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil || first.Existing || first.Status != roster.ReportSubmitted {
			t.Fatalf("first = %+v, %v", first, err)
		}
		again, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: "Another123"})
		if err != nil || !again.Existing || again.ID != first.ID {
			t.Fatalf("second = %+v, %v; want the first request back", again, err)
		}
		all, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, Password: testPassword})
		if err != nil || all.Existing || all.ID == first.ID {
			t.Fatalf("all batches = %+v, %v; want a new request", all, err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = $1`, GenerateArgs{}.Kind()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("jobs = %d, want 2 (one per distinct request)", n)
		}
		// The password reaches the job sealed in the request row, never in
		// the job's arguments.
		var args string
		if err := db.QueryRow(ctx, `SELECT CAST(args AS TEXT) FROM river_job WHERE kind = $1 LIMIT 1`, GenerateArgs{}.Kind()).Scan(&args); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(args, testPassword) || strings.Contains(args, "Another123") {
			t.Fatalf("job args hold the password: %s", args)
		}
		if err := f.svc.generate(ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		// Generating a finished request again does nothing.
		if err := f.svc.generate(ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		next, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil || next.Existing || next.ID == first.ID {
			t.Fatalf("after success = %+v, %v; want a new request", next, err)
		}
	})
}

// startWorkers runs the report workers on a real River client.
func startWorkers(t *testing.T, f *fixture) {
	t.Helper()
	workers := river.NewWorkers()
	f.svc.Register(workers)
	q, err := jobs.New(f.DB, workers, jobs.Config{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.UseQueue(q)
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
}

func waitFinished(t *testing.T, db store.Engine, id string) *roster.ReportRequest {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r, err := store.GetReportRequest(context.Background(), db, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == roster.ReportSuccess || r.Status == roster.ReportFailed {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("report did not finish")
	return nil
}

func TestJobRetriesThenSucceeds(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{RetryDelay: func(int) time.Duration { return 10 * time.Millisecond }})
		var attempts atomic.Int32
		f.svc.beforeGenerate = func(ctx context.Context, req *roster.ReportRequest) error {
			if attempts.Add(1) == 1 {
				// The request shows it is being worked on.
				if r, _ := store.GetReportRequest(ctx, db, req.ID); r.Status != roster.ReportProcessing || r.StartedAt == nil {
					t.Errorf("during the attempt: %+v", r)
				}
				return errors.New("connection reset")
			}
			return nil
		}
		startWorkers(t, f)
		req, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		r := waitFinished(t, db, req.ID)
		if r.Status != roster.ReportSuccess || r.Failure != "" || r.TotalRows != int64(len(f.expected(false))) {
			t.Fatalf("request = %+v", r)
		}
		if n := attempts.Load(); n != 2 {
			t.Fatalf("attempts = %d, want 2", n)
		}
		compareRows(t, parseCSV(t, readArchive(t, r.FilePath, testPassword)), f.expected(false))
		if enc, _ := store.ReportPassword(ctx, db, r.ID); enc != nil {
			t.Fatal("password kept after success")
		}
	})
}

func TestJobFailsAfterLastAttempt(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{MaxAttempts: 2, RetryDelay: func(int) time.Duration { return 10 * time.Millisecond }})
		var attempts atomic.Int32
		var notedRetry, recovered atomic.Bool
		f.svc.beforeGenerate = func(ctx context.Context, req *roster.ReportRequest) error {
			if recovered.Load() {
				return nil
			}
			if attempts.Add(1) == 2 {
				// Between attempts the request stays PROCESSING and says why.
				r, _ := store.GetReportRequest(ctx, db, req.ID)
				notedRetry.Store(r.Status == roster.ReportProcessing && strings.Contains(r.Failure, "will be retried"))
			}
			return fmt.Errorf("write: %w", &os.PathError{Op: "write", Path: "/x", Err: errors.New("i/o error")})
		}
		startWorkers(t, f)
		req, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		r := waitFinished(t, db, req.ID)
		if r.Status != roster.ReportFailed || r.Failure != "the report file could not be written (gave up after 2 attempts)" || r.FinishedAt == nil {
			t.Fatalf("request = %+v", r)
		}
		if attempts.Load() != 2 || !notedRetry.Load() {
			t.Fatalf("attempts = %d, retry noted = %v", attempts.Load(), notedRetry.Load())
		}
		if enc, _ := store.ReportPassword(ctx, db, r.ID); enc != nil {
			t.Fatal("password kept after the final failure")
		}
		// A failed request does not block a new one.
		recovered.Store(true)
		next, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil || next.Existing {
			t.Fatalf("after failure: %+v, %v", next, err)
		}
		if r := waitFinished(t, db, next.ID); r.Status != roster.ReportSuccess {
			t.Fatalf("retry request = %+v", r)
		}
	})
}

func TestJobPermanentFailureIsNotRetried(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{RetryDelay: func(int) time.Duration { return 10 * time.Millisecond }})
		req, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		// A sealed password moved to another request does not open.
		if _, err := db.Exec(ctx, `UPDATE report_request SET password_enc = $1 WHERE id = $2`,
			f.Keys.Seal(testPassword, pii.ReportPassword("another")), req.ID); err != nil {
			t.Fatal(err)
		}
		startWorkers(t, f)
		r := waitFinished(t, db, req.ID)
		if r.Status != roster.ReportFailed || !strings.Contains(r.Failure, "password could not be decrypted") {
			t.Fatalf("request = %+v", r)
		}
		if enc, _ := store.ReportPassword(ctx, db, r.ID); enc != nil {
			t.Fatal("password kept after failure")
		}
	})
}

// The final file opens with the real 7-Zip. Skipped when 7-Zip is not
// installed, except in CI, which must run it.
func TestArchiveOpensWith7Zip(t *testing.T) {
	bin := ""
	for _, name := range []string{"7zz", "7z", "7za"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("7-Zip (7zz or 7z) is not installed; CI must test the archive with it")
		}
		t.Skip("7-Zip not installed")
	}
	db := storetest.Open(t, "sqlite")
	f := newFixture(t, db, Config{})
	r := f.runNow(t, "")
	want := readArchive(t, r.FilePath, testPassword)

	out := t.TempDir()
	cmd := exec.Command(bin, "x", "-y", "-p"+testPassword, "-o"+out, r.FilePath)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("7-Zip failed: %v\n%s", err, msg)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.csv"))
	if len(files) != 1 {
		t.Fatalf("7-Zip extracted %v", files)
	}
	got, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("7-Zip's CSV differs from the one zipcrypt reads")
	}
	rows := f.expected(false)
	compareRows(t, parseCSV(t, got)[:len(rows)], rows)

	bad := exec.Command(bin, "x", "-y", "-pWrong1234", "-o"+t.TempDir(), r.FilePath)
	if msg, err := bad.CombinedOutput(); err == nil {
		t.Fatalf("7-Zip opened the archive with a wrong password:\n%s", msg)
	}
	// Without -p 7-Zip asks on standard input; at end of input it must
	// give up, and write no plain CSV.
	dir := t.TempDir()
	none := exec.Command(bin, "x", "-y", "-o"+dir, r.FilePath)
	if none.Stdin, err = os.Open(os.DevNull); err != nil {
		t.Fatal(err)
	}
	defer none.Stdin.(*os.File).Close()
	msg, err := none.CombinedOutput()
	if err == nil {
		t.Fatalf("7-Zip opened the archive without a password:\n%s", msg)
	}
	if !bytes.Contains(bytes.ToLower(msg), []byte("password")) {
		t.Fatalf("7-Zip failed for another reason than the missing password:\n%s", msg)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.csv")); len(files) == 1 {
		if data, _ := os.ReadFile(files[0]); bytes.Contains(data, []byte("asha@example.org")) {
			t.Fatal("7-Zip wrote the plain CSV without a password")
		}
	}
}

// Retention (7 days) and link lifetime (30 minutes) are the defaults, and a
// file past its expiry is refused even before the sweep deletes it.
func TestRetentionDefaultsAndExpiryBetweenSweeps(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		if c := f.svc.Config(); c.Retention != 7*24*time.Hour || c.LinkTTL != 30*time.Minute {
			t.Fatalf("defaults: retention %v, link TTL %v", c.Retention, c.LinkTTL)
		}
		r := f.runNow(t, f.b1.ID)
		if r.FinishedAt == nil || r.ExpiresAt == nil || !r.ExpiresAt.Equal(r.FinishedAt.Add(7*24*time.Hour)) {
			t.Fatalf("finished %v, expires %v; want 7 days later", r.FinishedAt, r.ExpiresAt)
		}
		at := func(t0 time.Time) { f.svc.Now = func() time.Time { return t0 } }
		issued := r.FinishedAt.Add(time.Hour)
		at(issued)
		link, err := f.svc.DownloadLink(ctx, f.creator, r.ID)
		if err != nil || !link.ExpiresAt.Equal(issued.Add(30*time.Minute).Truncate(time.Second)) {
			t.Fatalf("link = %+v, %v; want it to expire 30 minutes after %v", link, err, issued)
		}
		// Six days on, the sweep leaves the file alone.
		at(r.FinishedAt.Add(6 * 24 * time.Hour))
		if n, err := f.svc.Expire(ctx); err != nil || n != 0 {
			t.Fatalf("expire after 6 days = %d, %v", n, err)
		}
		if _, err := os.Stat(r.FilePath); err != nil {
			t.Fatalf("file deleted early: %v", err)
		}
		// A link asked for near the end never outlives the file.
		at(r.ExpiresAt.Add(-10 * time.Minute))
		if link, err = f.svc.DownloadLink(ctx, f.creator, r.ID); err != nil || !link.ExpiresAt.Equal(r.ExpiresAt.Truncate(time.Second)) {
			t.Fatalf("late link = %+v, %v; want it to end with the file at %v", link, err, r.ExpiresAt)
		}

		// At ExpiresAt, before any sweep, the file is still on disk but gone
		// for the requester.
		at(*r.ExpiresAt)
		if _, err := os.Stat(r.FilePath); err != nil {
			t.Fatal(err)
		}
		list, err := f.svc.List(ctx, f.creator, "", 0)
		if err != nil || len(list) != 1 || list[0].Status != roster.ReportExpired || list[0].Download != nil {
			t.Fatalf("list at expiry = %+v, %v", list, err)
		}
		got, err := f.svc.Get(ctx, f.creator, r.ID)
		if err != nil || got.Status != roster.ReportExpired || got.Download != nil {
			t.Fatalf("get at expiry = %+v, %v", got, err)
		}
		_, err = f.svc.DownloadLink(ctx, f.creator, r.ID)
		wantCode(t, err, roster.ECONFLICT)
		if !strings.Contains(err.Error(), "deleted after the retention period") || !strings.Contains(err.Error(), "request the report again") {
			t.Fatalf("message = %q", err)
		}
		// Links never outlive the file, but Open must not rely on that.
		long := f.svc.token(r.ID, f.creator.UserID, r.ExpiresAt.Add(time.Hour))
		_, _, err = f.svc.Open(ctx, f.creator, long)
		wantCode(t, err, roster.ECONFLICT)
		if !strings.Contains(err.Error(), "deleted after the retention period") {
			t.Fatalf("open message = %q", err)
		}
		if dl, _ := store.ListReportDownloads(ctx, db, r.ID); len(dl) != 0 {
			t.Fatalf("downloads recorded: %+v", dl)
		}
		if n, err := f.svc.Expire(ctx); err != nil || n != 1 {
			t.Fatalf("expire at expiry = %d, %v", n, err)
		}
		if _, err := os.Stat(r.FilePath); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("file kept after the sweep: %v", err)
		}
	})
}

func TestRetentionAndLinkTTLConfigurable(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	f := newFixture(t, db, Config{Retention: 2 * time.Hour, LinkTTL: 5 * time.Minute})
	r := f.runNow(t, f.b1.ID)
	if !r.ExpiresAt.Equal(r.FinishedAt.Add(2 * time.Hour)) {
		t.Fatalf("finished %v, expires %v; want 2 hours later", r.FinishedAt, r.ExpiresAt)
	}
	now := r.FinishedAt.Add(time.Minute)
	f.svc.Now = func() time.Time { return now }
	link, err := f.svc.DownloadLink(context.Background(), f.creator, r.ID)
	if err != nil || !link.ExpiresAt.Equal(now.Add(5*time.Minute).Truncate(time.Second)) {
		t.Fatalf("link = %+v, %v; want 5 minutes", link, err)
	}
	f.svc.Now = func() time.Time { return r.FinishedAt.Add(2*time.Hour + time.Second) }
	if n, err := f.svc.Expire(context.Background()); err != nil || n != 1 {
		t.Fatalf("expire = %d, %v", n, err)
	}
}

// Requests pending for a day lost their job: the sweep fails them and
// wipes their sealed passwords, and leaves recent ones alone. Temporary
// files of crashed attempts go too.
func TestExpireFailsStaleRequests(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		stale, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.StartReport(ctx, db, stale.ID, stale.RequestedAt); err != nil {
			t.Fatal(err)
		}
		start := stale.RequestedAt
		f.svc.Now = func() time.Time { return start.Add(time.Hour) }
		fresh, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b2.ID, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		oldTmp := filepath.Join(f.svc.Dir(), ".report-old.tmp")
		newTmp := filepath.Join(f.svc.Dir(), ".report-new.tmp")
		for _, p := range []string{oldTmp, newTmp} {
			if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(oldTmp, start, start); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(newTmp, start.Add(time.Hour), start.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}

		// Just under a day: nothing is touched.
		f.svc.Now = func() time.Time { return start.Add(24*time.Hour - time.Second) }
		if _, err := f.svc.Expire(ctx); err != nil {
			t.Fatal(err)
		}
		if r, _ := store.GetReportRequest(ctx, db, stale.ID); r.Status != roster.ReportProcessing {
			t.Fatalf("before a day: %+v", r)
		}
		if enc, _ := store.ReportPassword(ctx, db, stale.ID); enc == nil {
			t.Fatal("password wiped before a day")
		}

		sweep := start.Add(24*time.Hour + time.Minute)
		f.svc.Now = func() time.Time { return sweep }
		if _, err := f.svc.Expire(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := store.GetReportRequest(ctx, db, stale.ID)
		if err != nil || r.Status != roster.ReportFailed || !strings.Contains(r.Failure, "job was lost") ||
			r.FinishedAt == nil || !r.FinishedAt.Equal(sweep) {
			t.Fatalf("stale request = %+v, %v", r, err)
		}
		if enc, err := store.ReportPassword(ctx, db, stale.ID); err != nil || enc != nil {
			t.Fatalf("stale password = %x, %v; want wiped", enc, err)
		}
		if r, _ := store.GetReportRequest(ctx, db, fresh.ID); r.Status != roster.ReportSubmitted {
			t.Fatalf("recent request = %+v", r)
		}
		if enc, _ := store.ReportPassword(ctx, db, fresh.ID); enc == nil {
			t.Fatal("recent request's password wiped")
		}
		if _, err := os.Stat(oldTmp); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("day-old temporary file kept: %v", err)
		}
		if _, err := os.Stat(newTmp); err != nil {
			t.Errorf("recent temporary file removed: %v", err)
		}
		// The failed request no longer blocks a new one.
		next, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil || next.Existing {
			t.Fatalf("after the sweep: %+v, %v", next, err)
		}
	})
}

// Identical requests arriving together make one request and one job: the
// losers of the race on the pending-request index get the winner's.
func TestConcurrentDuplicateRequests(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		const n = 8
		if db.Name() == "postgres" {
			// SQLite serialises writers at BEGIN, so only PostgreSQL can
			// race. Hold the first arrivals after their pending check until
			// enough have passed it, so several insert at once and all but
			// one hit the unique index. The pool may hold fewer than n
			// connections, so wait for a few, with a timeout as backstop.
			f.svc.afterPendingCheck = barrier(3, 5*time.Second)
		}
		var wg sync.WaitGroup
		results := make([]*Request, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], errs[i] = f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
			})
		}
		close(start)
		wg.Wait()
		var created int
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			if results[i].ID != results[0].ID {
				t.Fatalf("request %d got %s, request 0 got %s", i, results[i].ID, results[0].ID)
			}
			if !results[i].Existing {
				created++
			}
		}
		if created != 1 {
			t.Fatalf("%d requests say they created the report, want 1", created)
		}
		var rows, jobs, audits int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM report_request`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = $1`, GenerateArgs{}.Kind()).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'report.request' AND outcome = 'ok'`).Scan(&audits); err != nil {
			t.Fatal(err)
		}
		if rows != 1 || jobs != 1 || audits != 1 {
			t.Fatalf("rows %d, jobs %d, audits %d; want one each", rows, jobs, audits)
		}
	})
}

// barrier returns a func that blocks its first k callers until all k have
// arrived (or timeout passes); later callers pass straight through.
func barrier(k int, timeout time.Duration) func() {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func() {
		mu.Lock()
		arrived++
		switch {
		case arrived == k:
			close(all)
		case arrived > k:
			mu.Unlock()
			return
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(timeout):
		}
	}
}

// Consent is read when the report is generated, not when it is requested.
func TestConsentStateAtGeneration(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		req, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		decide := func(name, status string) {
			t.Helper()
			c, err := f.Courses.RecordConsent(ctx, f.Principal(t, f.u[name]),
				course.ConsentInput{UserID: f.u[name], CourseID: f.course.ID, Status: status})
			if err != nil {
				t.Fatal(err)
			}
			f.consent[name] = c
		}
		decide("asha", roster.ConsentRevoked)
		decide("bala", roster.ConsentActive)
		if err := f.svc.generate(ctx, req.ID); err != nil {
			t.Fatal(err)
		}
		r, err := store.GetReportRequest(ctx, db, req.ID)
		if err != nil || r.Status != roster.ReportSuccess {
			t.Fatalf("request = %+v, %v", r, err)
		}
		want := f.expected(false)
		asha, bala := want[0], want[1]
		asha[5], asha[9], asha[10], asha[11], asha[12], asha[13] = "", "", "", "", "No", ""
		bala[5], bala[10], bala[11], bala[12], bala[13] = "Bala", "9876500001", "bala@example.org", "Yes", f.date("bala")
		compareRows(t, parseCSV(t, readArchive(t, r.FilePath, testPassword)), want)
		if r.ConsentedRows != 5 {
			t.Errorf("consented = %d, want 5", r.ConsentedRows)
		}
	})
}
