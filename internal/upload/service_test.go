package upload

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

type fixture struct {
	ctx            context.Context
	db             store.Engine
	reg            *registry.Service
	svc            *Service
	queue          *jobs.Queue
	stateA, stateB *roster.Organisation
	schoolA        *roster.Organisation
	adminA, adminB *roster.Principal
}

// newFixture makes two tenants, a school in tenant A, an admin per tenant
// and an upload service whose queue only inserts (tests call Process, or
// startWorkers for the River path).
func newFixture(t testing.TB, db store.Engine) *fixture {
	t.Helper()
	tt := testkit.NewTenants(t, db)
	f := &fixture{ctx: context.Background(), db: db, reg: tt.Reg, stateA: tt.StateA, stateB: tt.StateB,
		schoolA: tt.SchoolA, adminA: tt.AdminA, adminB: tt.AdminB}
	if err := jobs.Migrate(f.ctx, db); err != nil {
		t.Fatal(err)
	}
	f.svc = New(db, testkit.Keyring(t), f.reg)
	var err error
	if f.queue, err = jobs.New(db, nil, jobs.Config{}); err != nil {
		t.Fatal(err)
	}
	f.svc.UseQueue(f.queue)
	return f
}

// startWorkers replaces the insert-only queue with one that runs uploads.
func (f *fixture) startWorkers(t testing.TB) {
	t.Helper()
	workers := river.NewWorkers()
	f.svc.Register(workers)
	q, err := jobs.New(f.db, workers, jobs.Config{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	f.svc.UseQueue(q)
}

func (f *fixture) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(f.ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) members(t testing.TB, orgID string) int {
	return f.count(t, `SELECT count(*) FROM user_organisation WHERE organisation_id = $1`, orgID)
}

// csvFile builds a CSV with the given header and rows.
func csvFile(header []string, rows ...[]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(header)
	for _, r := range rows {
		_ = w.Write(r)
	}
	w.Flush()
	return b.Bytes()
}

var header = []string{"firstName", "lastName", "email", "phone", "userName", "password", "DOB", "roles"}

// userRows makes n valid rows with distinct contacts, prefixed by tag.
func userRows(tag string, n int) [][]string {
	var out [][]string
	for i := range n {
		out = append(out, []string{"User", "", fmt.Sprintf("%s%d@example.org", tag, i), "",
			fmt.Sprintf("%s_%d", tag, i), "password-" + tag, "", ""})
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if roster.ErrorCode(err) != code {
		t.Fatalf("error %v (code %q), want code %q", err, roster.ErrorCode(err), code)
	}
}

func TestSubmitProcessResults(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		// An existing user whose email row 5 reuses.
		if _, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Old", Email: "taken@example.org"},
			OrgID: f.stateA.ID, Password: "old-pass-12"}); err != nil {
			t.Fatal(err)
		}
		data := csvFile(header,
			[]string{"Asha", "Rao", "asha@example.org", "9876543210", "asha_rao", "secret-asha", "01-02-1990", "content creator,BOOK_REVIEWER"}, // 2
			[]string{"Ravi", "", "", "9876543211", "ravi_k", "secret-ravi", "", ""},                                                             // 3
			[]string{"", "", "bad@", "", "x", "", "31-02-1990", "WIZARD"},                                                                       // 4
			[]string{"Old", "Twin", "Taken@example.org", "", "old_twin", "secret-old1", "", ""},                                                 // 5
			[]string{"=cmd", "", "=1+1@example.org", "", "formula", "secret-form", "", ""},                                                      // 6
		)
		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "../users.csv", data, false)
		if err != nil {
			t.Fatal(err)
		}
		if up.Status != roster.UploadNew || up.Total != 5 || up.FileName != "users.csv" || up.OrgID != f.schoolA.ID || up.RootOrgID != f.stateA.ID {
			t.Fatalf("submitted: %+v", up)
		}
		if n := f.count(t, `SELECT count(*) FROM river_job WHERE kind = 'upload_users' AND queue = $1`, jobs.QueueUploads); n != 1 {
			t.Fatalf("%d jobs enqueued", n)
		}
		// The file is stored sealed: neither a password nor an email in clear.
		enc, _ := store.UploadFile(f.ctx, db, up.ID)
		if len(enc) == 0 || bytes.Contains(enc, []byte("secret-asha")) || bytes.Contains(enc, []byte("asha@example.org")) {
			t.Fatal("file not sealed")
		}

		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.Get(f.ctx, f.adminA, up.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != roster.UploadCompleted || got.Processed != 5 || got.Succeeded != 2 || got.Failed != 3 ||
			got.StartedAt == nil || got.FinishedAt == nil {
			t.Fatalf("finished: %+v", got)
		}
		if enc, _ := store.UploadFile(f.ctx, db, up.ID); enc != nil {
			t.Fatal("sealed file kept after completion")
		}

		rows, err := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{})
		if err != nil || len(rows) != 5 {
			t.Fatalf("rows %+v %v", rows, err)
		}
		if rows[0].RowNumber != 2 || rows[0].Status != roster.UploadRowCreated || rows[0].UserID == "" || rows[1].Status != roster.UploadRowCreated {
			t.Fatalf("created rows %+v", rows[:2])
		}
		if e := JoinErrors(rows[3].Errors); rows[3].Status != roster.UploadRowFailed || e != "email: email already in use" {
			t.Fatalf("row 5: %s %q", rows[3].Status, e)
		}
		failed, _ := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{Status: "failed"})
		created, _ := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{Status: "CREATED", After: 2})
		if len(failed) != 3 || len(created) != 1 || created[0].RowNumber != 3 {
			t.Fatalf("filters: failed %d created %+v", len(failed), created)
		}
		if _, err := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{Status: "odd"}); roster.ErrorCode(err) != roster.EINVALID {
			t.Fatalf("bad filter: %v", err)
		}

		// The created user: normalised, in the school, uploaded by the admin.
		v, err := f.reg.GetUser(f.ctx, f.adminA, rows[0].UserID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Email != "asha@example.org" || v.Phone != "+919876543210" || v.DOB != "1990-02-01" || v.Username != "asha_rao" ||
			v.FlagsValue != roster.FlagTenantVerified || v.CreatedBy != f.adminA.UserID || v.RootOrgID != f.stateA.ID {
			t.Fatalf("user %+v", v.User)
		}
		if len(v.Memberships) != 1 || v.Memberships[0].OrganisationID != f.schoolA.ID ||
			v.Memberships[0].AssociationType != roster.AssociationSystemUpload ||
			strings.Join(v.Memberships[0].Roles, ",") != "CONTENT_CREATOR,BOOK_REVIEWER" {
			t.Fatalf("membership %+v", v.Memberships)
		}
		if _, err := f.reg.Authenticate(f.ctx, "asha_rao", "secret-asha"); err != nil {
			t.Fatalf("login with the uploaded password: %v", err)
		}

		// No clear password or PII anywhere in the upload's rows.
		var blob bytes.Buffer
		all, _ := store.ListUploadRows(f.ctx, db, up.ID, "", 0, 100, true)
		for _, r := range all {
			blob.Write(r.OriginalEnc)
			blob.WriteString(JoinErrors(r.Errors))
		}
		for _, secret := range []string{"secret-asha", "asha@example.org", "9876543210", "taken@example.org"} {
			if strings.Contains(strings.ToLower(blob.String()), strings.ToLower(secret)) {
				t.Fatalf("upload rows hold %q in clear", secret)
			}
		}

		// Result CSV: original columns and values, password blanked,
		// formulas defused, result and errors appended.
		var out bytes.Buffer
		if err := f.svc.ResultCSV(f.ctx, f.adminA, up.ID, &out); err != nil {
			t.Fatal(err)
		}
		want := "\uFEFF" + strings.Join([]string{
			"firstName,lastName,email,phone,userName,password,DOB,roles,result,errors",
			`Asha,Rao,asha@example.org,9876543210,asha_rao,,01-02-1990,"content creator,BOOK_REVIEWER",CREATED,`,
			`Ravi,,,9876543211,ravi_k,,,,CREATED,`,
			`,,bad@,,x,,31-02-1990,WIZARD,FAILED,"firstName: is required; email: is not a valid email address; userName: must be 3 to 64 characters; password: is required; roles: unknown role ""WIZARD""; valid values are ` +
				strings.Join(roster.Roles, ", ") + `; DOB: is not a real date"`,
			`Old,Twin,Taken@example.org,,old_twin,,,,FAILED,email: email already in use`,
			`'=cmd,,'=1+1@example.org,,formula,,,,FAILED,"firstName: may contain only letters, spaces, dots, apostrophes and hyphens"`,
		}, "\r\n") + "\r\n"
		if out.String() != want {
			t.Fatalf("result CSV\n%s\nwant\n%s", out.String(), want)
		}

		// The result file goes back in as it is: status and errors are
		// ignored, the values come back as they were (formula guard removed).
		back, err := Parse("result.csv", out.Bytes(), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if len(back.Rows) != 5 || back.Rows[4].Get(ColFirstName) != "=cmd" || back.Rows[0].Get(ColEmail) != "asha@example.org" {
			t.Fatalf("round trip: %+v", back.Rows)
		}

		// Listing: newest first, tenant admins only.
		list, err := f.svc.List(f.ctx, f.adminA, f.schoolA.ID, "", 0)
		if err != nil || len(list) != 1 || list[0].ID != up.ID {
			t.Fatalf("list %+v %v", list, err)
		}
		if _, err := f.svc.List(f.ctx, f.adminB, f.schoolA.ID, "", 0); roster.ErrorCode(err) != roster.EFORBIDDEN {
			t.Fatalf("other tenant lists: %v", err)
		}
		// Another tenant's admin learns nothing about the upload.
		for _, err := range []error{
			func() error { _, err := f.svc.Get(f.ctx, f.adminB, up.ID); return err }(),
			func() error { _, err := f.svc.Rows(f.ctx, f.adminB, up.ID, RowFilter{}); return err }(),
			f.svc.ResultCSV(f.ctx, f.adminB, up.ID, &bytes.Buffer{}),
		} {
			wantCode(t, err, roster.ENOTFOUND)
		}
		// Processing a finished upload again changes nothing.
		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		if n := f.members(t, f.schoolA.ID); n != 2 {
			t.Fatalf("%d members after a second run, want 2", n)
		}
	})
}

func TestSubmitAuthorizationAndOrgLookup(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		data := csvFile(header, userRows("a", 1)...)
		_, err := f.svc.Submit(f.ctx, f.adminB, OrgRef{ID: f.schoolA.ID}, "u.csv", data, false)
		wantCode(t, err, roster.EFORBIDDEN)
		_, err = f.svc.Submit(f.ctx, nil, OrgRef{ID: f.schoolA.ID}, "u.csv", data, false)
		wantCode(t, err, roster.EUNAUTHORIZED)
		_, err = f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: "no-such-org"}, "u.csv", data, false)
		wantCode(t, err, roster.ENOTFOUND)
		_, err = f.svc.Submit(f.ctx, f.adminA, OrgRef{}, "u.csv", data, false)
		wantCode(t, err, roster.EINVALID)
		_, err = f.svc.DryRun(f.ctx, f.adminB, OrgRef{ID: f.schoolA.ID}, "u.csv", data)
		wantCode(t, err, roster.EFORBIDDEN)

		// Seed 002's other way to name the organisation: provider (the
		// tenant's channel) and the organisation's external id.
		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{Provider: "TN", ExternalID: "SCH-1"}, "u.csv", data, false)
		if err != nil || up.OrgID != f.schoolA.ID {
			t.Fatalf("by external id: %+v %v", up, err)
		}
		_, err = f.svc.Submit(f.ctx, f.adminA, OrgRef{Provider: "AP", ExternalID: "SCH-1"}, "u.csv", data, false)
		wantCode(t, err, roster.ENOTFOUND)

		// A school's admin uploads into its school only, and sees only
		// that school's uploads; the state's admin sees them all.
		schoolAdmin := f.schoolAdmin(t)
		if _, err := f.svc.Submit(f.ctx, schoolAdmin, OrgRef{ID: f.schoolA.ID}, "u.csv", csvFile(header, userRows("s", 1)...), false); err != nil {
			t.Fatalf("school admin into own school: %v", err)
		}
		_, err = f.svc.Submit(f.ctx, schoolAdmin, OrgRef{ID: f.stateA.ID}, "u.csv", data, false)
		wantCode(t, err, roster.EFORBIDDEN)
		stateUpload, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.stateA.ID}, "u.csv", csvFile(header, userRows("t", 1)...), false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.Get(f.ctx, schoolAdmin, stateUpload.ID)
		wantCode(t, err, roster.ENOTFOUND)
		_, err = f.svc.List(f.ctx, schoolAdmin, f.stateA.ID, "", 0)
		wantCode(t, err, roster.EFORBIDDEN)
	})
}

// schoolAdmin is an ORG_ADMIN of schoolA only.
func (f *fixture) schoolAdmin(t *testing.T) *roster.Principal {
	t.Helper()
	v, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Head", Email: "head@ghs.example.org"},
		OrgID: f.schoolA.ID, Roles: []string{roster.RoleOrgAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.reg.Principal(f.ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A file rejected as a whole leaves nothing behind: no upload, no job.
func TestSubmitRejectsBadFilesBeforeWriting(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.Limits = Limits{MaxRows: 2, MaxBytes: 1000}
		cases := []struct {
			data []byte
			code string
		}{
			{csvFile(header, userRows("a", 3)...), roster.ETOOLARGE},
			{bytes.Repeat([]byte("a"), 1001), roster.ETOOLARGE},
			{csvFile(header), roster.EINVALID},
			{[]byte("firstName,nickname\nA,b\n"), roster.EINVALID},
			{nil, roster.EINVALID},
		}
		for _, c := range cases {
			_, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", c.data, false)
			wantCode(t, err, c.code)
			_, err = f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", c.data, true)
			wantCode(t, err, c.code)
		}
		if n := f.count(t, `SELECT count(*) FROM upload`); n != 0 {
			t.Fatalf("%d uploads recorded", n)
		}
		if n := f.count(t, `SELECT count(*) FROM river_job`); n != 0 {
			t.Fatalf("%d jobs enqueued", n)
		}
	})
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		if _, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Old", Phone: "9876500000"},
			OrgID: f.stateA.ID, Password: "old-pass-12"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Old", Email: "o@example.org", Username: "taken_name"},
			OrgID: f.stateA.ID, Password: "old-pass-12"}); err != nil {
			t.Fatal(err)
		}
		users := f.count(t, `SELECT count(*) FROM users`)
		data := csvFile(header,
			[]string{"Asha", "", "asha@example.org", "", "asha_rao", "secret-asha", "", ""},   // 2 valid
			[]string{"Ravi", "", "", "+91 98765 00000", "ravi_k", "secret-ravi", "", ""},      // 3 phone taken
			[]string{"Mani", "", "mani@example.org", "", "Taken_Name", "secret-mani", "", ""}, // 4 username taken
			[]string{"Dup", "", "asha@example.org", "", "dup_1", "secret-dup1", "", ""},       // 5 duplicate of 2
			[]string{"Bad", "", "", "", "bad_1", "secret-bad1", "", ""},                       // 6 invalid
		)
		res, err := f.svc.DryRun(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", data)
		if err != nil {
			t.Fatal(err)
		}
		got := map[int]string{}
		for _, r := range res.Rows {
			got[r.RowNumber] = r.Status + " " + JoinErrors(r.Errors)
		}
		want := map[int]string{
			2: "FAILED email: is also used in row 5",
			3: "FAILED phone: phone already in use",
			4: "FAILED userName: userName already in use",
			5: "FAILED email: is also used in row 2",
			6: "FAILED email: email or phone is required",
		}
		for n, w := range want {
			if got[n] != w {
				t.Errorf("row %d: %q, want %q", n, got[n], w)
			}
		}
		// Without the duplicate, row 2 is valid.
		data = csvFile(header, []string{"Asha", "", "asha@example.org", "", "asha_rao", "secret-asha", "", ""})
		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", data, true)
		if err != nil {
			t.Fatal(err)
		}
		if !up.DryRun || up.Status != roster.UploadCompleted || up.Succeeded != 1 || up.Failed != 0 {
			t.Fatalf("dry run upload %+v", up)
		}
		rows, _ := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{Status: "valid"})
		if len(rows) != 1 || rows[0].RowNumber != 2 || rows[0].UserID != "" {
			t.Fatalf("valid rows %+v", rows)
		}
		if n := f.count(t, `SELECT count(*) FROM users`); n != users {
			t.Fatalf("dry run created %d users", n-users)
		}
		if n := f.count(t, `SELECT count(*) FROM river_job`); n != 0 {
			t.Fatal("dry run enqueued a job")
		}
		var out bytes.Buffer
		if err := f.svc.ResultCSV(f.ctx, f.adminA, up.ID, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "Asha,,asha@example.org,,asha_rao,,,,VALID,\r\n") {
			t.Fatalf("dry run result CSV:\n%s", out.String())
		}
	})
}

// A worker that dies after some chunks leaves users and outcomes of those
// chunks only; running again finishes the file with no duplicate and no
// lost row.
func TestCrashAndResume(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChunkSize = 10
		const n = 35
		rows := userRows("c", n)
		rows[12][2] = "not-an-email" // one failing row in the second chunk
		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", csvFile(header, rows...), false)
		if err != nil {
			t.Fatal(err)
		}
		crash := errors.New("worker killed")
		f.svc.afterChunk = func(_ string, chunk int) error {
			if chunk == 1 {
				return crash
			}
			return nil
		}
		if err := f.svc.Process(f.ctx, up.ID); !errors.Is(err, crash) {
			t.Fatalf("first run: %v", err)
		}
		mid, _ := f.svc.Get(f.ctx, f.adminA, up.ID)
		if mid.Status != roster.UploadInProgress || mid.Processed != 20 || mid.Succeeded != 19 || mid.Failed != 1 {
			t.Fatalf("after the crash: %+v", mid)
		}
		if m := f.members(t, f.schoolA.ID); m != 19 {
			t.Fatalf("%d users after the crash, want 19", m)
		}

		// A second death, this time by cancellation in the middle of work.
		ctx, cancel := context.WithCancel(f.ctx)
		f.svc.afterChunk = func(string, int) error { cancel(); return nil }
		if err := f.svc.Process(ctx, up.ID); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled run: %v", err)
		}

		f.svc.afterChunk = nil
		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		end, _ := f.svc.Get(f.ctx, f.adminA, up.ID)
		if end.Status != roster.UploadCompleted || end.Processed != n || end.Succeeded != n-1 || end.Failed != 1 {
			t.Fatalf("after resuming: %+v", end)
		}
		if m := f.members(t, f.schoolA.ID); m != n-1 {
			t.Fatalf("%d users, want %d", m, n-1)
		}
		if c := f.count(t, `SELECT count(*) FROM upload_row WHERE upload_id = $1`, up.ID); c != n {
			t.Fatalf("%d outcomes, want %d", c, n)
		}
		if c := f.count(t, `SELECT count(DISTINCT user_id) FROM upload_row WHERE upload_id = $1 AND status = 'CREATED'`, up.ID); c != n-1 {
			t.Fatalf("%d distinct created users, want %d", c, n-1)
		}
	})
}

// Two workers on the same upload (a job rescued while its first run still
// lives) still record each row once and create each user once.
func TestSameUploadTwiceConcurrently(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChunkSize = 5
		const n = 30
		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", csvFile(header, userRows("d", n)...), false)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = f.svc.Process(f.ctx, up.ID) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		end, _ := f.svc.Get(f.ctx, f.adminA, up.ID)
		if end.Status != roster.UploadCompleted || end.Processed != n || end.Succeeded != n {
			t.Fatalf("counters: %+v", end)
		}
		if m := f.members(t, f.schoolA.ID); m != n {
			t.Fatalf("%d users, want %d", m, n)
		}
	})
}

// Two uploads processed at the same time, sharing one email: exactly one
// user gets it, the other row fails with "already in use".
func TestConcurrentUploadsSharingAnEmail(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChunkSize = 4
		var ids []string
		for _, tag := range []string{"x", "y"} {
			rows := userRows(tag, 12)
			rows[5][2] = "shared@example.org"
			up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, tag+".csv", csvFile(header, rows...), false)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, up.ID)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(ids))
		for i, id := range ids {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = f.svc.Process(f.ctx, id) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var created, failed int
		for _, id := range ids {
			rows, _ := f.svc.Rows(f.ctx, f.adminA, id, RowFilter{})
			r := rows[5]
			switch {
			case r.Status == roster.UploadRowCreated:
				created++
			case r.Status == roster.UploadRowFailed && JoinErrors(r.Errors) == "email: email already in use":
				failed++
			default:
				t.Fatalf("shared row: %+v", r)
			}
		}
		if created != 1 || failed != 1 {
			t.Fatalf("created %d failed %d, want 1 and 1", created, failed)
		}
		if m := f.members(t, f.schoolA.ID); m != 23 {
			t.Fatalf("%d users, want 23", m)
		}
	})
}

// The whole path through River, as `roster serve` runs it, and the CLI's
// submit-and-wait helper with its progress reports.
func TestThroughRiverWithProgress(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.startWorkers(t)
		f.svc.ChunkSize = 10
		rows := userRows("r", 25)
		rows[3][5] = "short"
		var mu sync.Mutex
		var seen []roster.Upload
		ctx, cancel := context.WithTimeout(f.ctx, 60*time.Second)
		defer cancel()
		rep, err := f.svc.SubmitAndWait(ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", csvFile(header, rows...),
			WaitOptions{PollInterval: 20 * time.Millisecond, OnProgress: func(u roster.Upload) {
				mu.Lock()
				seen = append(seen, u)
				mu.Unlock()
			}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() || rep.Upload.Status != roster.UploadCompleted || rep.Upload.Succeeded != 24 || len(rep.Failed) != 1 ||
			rep.Failed[0].RowNumber != 5 || JoinErrors(rep.Failed[0].Errors) != "password: must be 8 to 128 characters" {
			t.Fatalf("report %+v failed %+v", rep.Upload, rep.Failed)
		}
		if len(seen) < 2 || seen[0].Status != roster.UploadNew || seen[len(seen)-1].Processed != 25 {
			t.Fatalf("progress reports %+v", seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i].Processed < seen[i-1].Processed {
				t.Fatal("progress went backwards")
			}
		}

		// Dry run through the same helper: no job, finished at once.
		rep, err = f.svc.SubmitAndWait(ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", csvFile(header, userRows("s", 3)...),
			WaitOptions{DryRun: true})
		if err != nil || !rep.OK() || !rep.Upload.DryRun || rep.Upload.Succeeded != 3 {
			t.Fatalf("dry run report %+v %v", rep, err)
		}
	})
}

// File-level problems found by the worker end the upload as FAILED with a
// message; so does running out of retries.
func TestWorkerFailures(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		submit := func() *roster.Upload {
			up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", csvFile(header, userRows(roster.NewID()[:8], 3)...), false)
			if err != nil {
				t.Fatal(err)
			}
			return up
		}
		status := func(id string) string {
			up, err := f.svc.Get(f.ctx, f.adminA, id)
			if err != nil {
				t.Fatal(err)
			}
			return up.Status + " " + up.Failure
		}

		// A file sealed under a key the service no longer has.
		up := submit()
		if _, err := db.Exec(f.ctx, `UPDATE upload SET file_enc = $2 WHERE id = $1`, up.ID, testkit.Keyring(t).Seal("x", "elsewhere")); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		if got := status(up.ID); got != "FAILED the uploaded file cannot be decrypted (its key is no longer configured)" {
			t.Fatalf("status %q", got)
		}

		// The last attempt of a job that keeps failing, one row at a time.
		f.svc.ChunkSize = 1
		up = submit()
		f.svc.afterChunk = func(string, int) error { return errors.New("database went away") }
		w := &worker{s: f.svc}
		job := &river.Job[JobArgs]{JobRow: &rivertype.JobRow{Attempt: 3, MaxAttempts: 10}, Args: JobArgs{UploadID: up.ID}}
		if err := w.Work(f.ctx, job); err == nil {
			t.Fatal("no error")
		}
		if got := status(up.ID); got != "IN_PROGRESS " {
			t.Fatalf("after a failed attempt with retries left: %q", got)
		}
		job.Attempt = 10
		if err := w.Work(f.ctx, job); err == nil {
			t.Fatal("no error")
		}
		if got := status(up.ID); got != "FAILED processing failed repeatedly; rows already processed keep their outcome" {
			t.Fatalf("after the last attempt: %q", got)
		}
		// The rows done before the failure keep their outcome and user.
		if rows, _ := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{}); len(rows) != 2 || rows[1].Status != roster.UploadRowCreated {
			t.Fatalf("rows %+v", rows)
		}
	})
}

// An .xlsx goes through the same path as a CSV.
func TestXLSXUpload(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		data := xlsxFile(t, [][]any{
			{"firstName", "email", "phone", "userName", "password", "DOB"},
			{"Asha", "asha@example.org", 9876543210, "asha_rao", "secret-asha", time.Date(1990, 2, 1, 0, 0, 0, 0, time.UTC)},
			{"Ravi", "", "", "ravi_k", "secret-ravi", ""},
		}, nil)
		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "users.xlsx", data, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		rows, _ := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{})
		if up.Format != FormatXLSX || len(rows) != 2 || rows[0].Status != roster.UploadRowCreated ||
			rows[1].Status != roster.UploadRowFailed || JoinErrors(rows[1].Errors) != "email: email or phone is required" {
			t.Fatalf("format %s rows %+v", up.Format, rows)
		}
		v, err := f.reg.GetUser(f.ctx, f.adminA, rows[0].UserID)
		if err != nil || v.Phone != "+919876543210" || v.DOB != "1990-02-01" {
			t.Fatalf("user %+v %v", v, err)
		}
	})
}

// A row with a validation error and a value an existing user holds gets
// both errors, in a dry run and when processed: the admin fixes the row once.
func TestRowErrorsAndConflictsTogether(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		if _, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{
			User:  roster.User{FirstName: "Old", Email: "taken@example.org", Phone: "9876500000", Username: "taken_name"},
			OrgID: f.stateA.ID, Password: "old-pass-12"}); err != nil {
			t.Fatal(err)
		}
		data := csvFile(header,
			[]string{"Asha", "", "Taken@example.org", "", "asha_rao", "secret-asha", "31-02-1990", ""}, // 2
			[]string{"Ravi2", "", "", "9876500000", "TAKEN_NAME", "secret-ravi", "", ""},               // 3
			[]string{"Mani", "", "mani@example.org", "", "mani_k", "secret-mani", "", ""},              // 4 valid
		)
		want := map[int]string{
			2: "FAILED DOB: is not a real date; email: email already in use",
			3: "FAILED firstName: may contain only letters, spaces, dots, apostrophes and hyphens; userName: userName already in use; phone: phone already in use",
		}
		check := func(what string, rows []roster.UploadRow, ok string) {
			t.Helper()
			want[4] = ok
			if len(rows) != 3 {
				t.Fatalf("%s: %d rows", what, len(rows))
			}
			for _, r := range rows {
				if got := r.Status + " " + JoinErrors(r.Errors); got != want[r.RowNumber] {
					t.Errorf("%s row %d: %q, want %q", what, r.RowNumber, got, want[r.RowNumber])
				}
			}
		}
		res, err := f.svc.DryRun(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", data)
		if err != nil {
			t.Fatal(err)
		}
		check("dry run", res.Rows, "VALID ")

		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", data, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		rows, err := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{})
		if err != nil {
			t.Fatal(err)
		}
		check("processing", rows, "CREATED ")
	})
}

// Names in UTF-16 (Excel "Unicode text") and Windows-1252 files reach the
// created users intact, through the stored file and the worker.
func TestEncodedFilesThroughProcessing(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		utf16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(
			"firstName\tlastName\tuserName\tpassword\tphone\r\nதமிழ்செல்வி\tशर्मा\ttamil_s\tsecret-tamil\t9876543210\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		cp1252, err := charmap.Windows1252.NewEncoder().Bytes([]byte(
			"firstName;lastName;userName;password;email\r\nJosé;Müller;jose_m;secret-jose;jose@example.org\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			data        []byte
			enc         string
			first, last string
		}{
			{utf16, EncodingUTF16LE, "தமிழ்செல்வி", "शर्मा"},
			{cp1252, EncodingWindows1252, "José", "Müller"},
		} {
			if got, err := Parse("u.txt", c.data, Limits{}); err != nil || got.Encoding != c.enc {
				t.Fatalf("parsed as %+v, %v; want %s", got, err, c.enc)
			}
			up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.txt", c.data, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.svc.Process(f.ctx, up.ID); err != nil {
				t.Fatal(err)
			}
			rows, err := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{})
			if err != nil || len(rows) != 1 || rows[0].Status != roster.UploadRowCreated {
				t.Fatalf("%s rows %+v %v", c.enc, rows, err)
			}
			v, err := f.reg.GetUser(f.ctx, f.adminA, rows[0].UserID)
			if err != nil {
				t.Fatal(err)
			}
			if v.FirstName != c.first || v.LastName != c.last {
				t.Fatalf("%s: stored %q %q, want %q %q", c.enc, v.FirstName, v.LastName, c.first, c.last)
			}
		}
	})
}

// Processing (not only a dry run) refuses phones, usernames and external
// ids that existing users hold, naming the column the external id came from.
func TestProcessingConflictsWithExistingUsers(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		if _, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{
			User:        roster.User{FirstName: "Old", Phone: "9876500000", Username: "taken_name"},
			ExternalIDs: []roster.ExternalIdentity{{Provider: "TN", IDType: "teacherId", ExternalID: "T-1"}, {Provider: "TN", IDType: "studentId", ExternalID: "S-7"}},
			OrgID:       f.stateA.ID, Password: "old-pass-12"}); err != nil {
			t.Fatal(err)
		}
		hdr := []string{"firstName", "phone", "email", "userName", "password", "externalId", "externalIdType", "externalIdProvider", "externalIds"}
		data := csvFile(hdr,
			[]string{"Ravi", "+91 98765 00000", "", "ravi_k", "secret-ravi", "", "", "", ""},                                                     // 2
			[]string{"Mani", "", "mani@example.org", "Taken_Name", "secret-mani", "", "", "", ""},                                                // 3
			[]string{"Uma", "", "uma@example.org", "uma_s", "secret-uma1", "t-1", "teacherId", "TN", ""},                                         // 4
			[]string{"Devi", "", "devi@example.org", "devi_r", "secret-devi", "", "", "", `[{"id":"S-7","idType":"studentId","provider":"TN"}]`}, // 5
			[]string{"Asha", "", "asha@example.org", "asha_r", "secret-asha", "T-2", "teacherId", "TN", ""},                                      // 6
		)
		up, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", data, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		rows, err := f.svc.Rows(f.ctx, f.adminA, up.ID, RowFilter{})
		if err != nil || len(rows) != 5 {
			t.Fatalf("rows %+v %v", rows, err)
		}
		want := map[int]string{
			2: "FAILED phone: phone already in use",
			3: "FAILED userName: userName already in use",
			4: "FAILED externalId: externalId already in use",
			5: "FAILED externalIds: externalId already in use",
			6: "CREATED ",
		}
		for _, r := range rows {
			if got := r.Status + " " + JoinErrors(r.Errors); got != want[r.RowNumber] {
				t.Errorf("row %d: %q, want %q", r.RowNumber, got, want[r.RowNumber])
			}
		}
		if m := f.members(t, f.schoolA.ID); m != 1 {
			t.Fatalf("%d users in the school, want 1", m)
		}
		end, _ := f.svc.Get(f.ctx, f.adminA, up.ID)
		if end.Succeeded != 1 || end.Failed != 4 || end.Processed != 5 {
			t.Fatalf("counts %+v", end)
		}
	})
}
