package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

type courseFixture struct {
	tenant  *roster.Organisation
	creator string
	users   []string // sorted by id (UUIDv7 in creation order)
	course  *roster.Course
	batches []*roster.Batch
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func newCourseFixture(t *testing.T, db store.Engine, nUsers int) *courseFixture {
	t.Helper()
	ctx := context.Background()
	f := &courseFixture{}
	tenantID := roster.NewID()
	f.tenant = &roster.Organisation{ID: tenantID, Name: "Tamil Nadu", Channel: "TN", IsTenant: true, RootOrgID: tenantID,
		Status: 1, CreatedDate: roster.Now()}
	if err := store.InsertOrg(ctx, db, f.tenant); err != nil {
		t.Fatal(err)
	}
	newUser := func(name string) string {
		u := &store.UserRecord{User: roster.User{ID: roster.NewID(), Username: name, FirstName: name,
			RootOrgID: tenantID, Status: 1, CreatedDate: roster.Now()}}
		if err := store.InsertUser(ctx, db, u); err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	f.creator = newUser("creator")
	for i := range nUsers {
		f.users = append(f.users, newUser(fmt.Sprintf("learner%03d", i)))
	}
	f.course = &roster.Course{ID: "do_1130", Name: "Fractions", Channel: "TN", RootOrgID: tenantID, CreatedBy: f.creator,
		RequiresConsent: true, CreatedDate: roster.Now()}
	if err := store.InsertCourse(ctx, db, f.course); err != nil {
		t.Fatal(err)
	}
	end := day("2031-06-30")
	for i, name := range []string{"Batch A", "Batch B"} {
		b := &roster.Batch{ID: fmt.Sprintf("b%d", i+1), CourseID: f.course.ID, Name: name, CreatedBy: f.creator,
			Mentors: []string{f.users[0]}, StartDate: day("2030-01-01"), EndDate: &end, CreatedDate: roster.Now()}
		if err := store.InsertBatch(ctx, db, b); err != nil {
			t.Fatal(err)
		}
		f.batches = append(f.batches, b)
	}
	return f
}

func (f *courseFixture) enrol(t *testing.T, db store.Engine, batch int, userID string, at time.Time) error {
	t.Helper()
	return store.UpsertEnrolment(context.Background(), db, &roster.Enrolment{UserID: userID, CourseID: f.course.ID,
		BatchID: f.batches[batch].ID, EnrolledDate: at})
}

func (f *courseFixture) consent(t *testing.T, db store.Engine, userID, status string, at time.Time) {
	t.Helper()
	err := store.InsertConsent(context.Background(), db, &roster.Consent{ID: roster.NewID(), UserID: userID,
		ConsumerID: f.tenant.ID, ObjectID: f.course.ID, ObjectType: roster.ConsentCollection, Status: status, At: at})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCoursesAndBatches(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newCourseFixture(t, db, 1)
		got, err := store.GetCourse(ctx, db, "do_1130")
		if err != nil {
			t.Fatal(err)
		}
		if *got != *f.course {
			t.Fatalf("course = %+v, want %+v", got, f.course)
		}
		if err := store.InsertCourse(ctx, db, f.course); !errors.Is(err, store.ErrUnique) {
			t.Fatalf("duplicate course id: err = %v, want ErrUnique", err)
		}
		if _, err := store.GetCourse(ctx, db, "do_missing"); !errors.Is(err, store.ErrNoRows) {
			t.Fatalf("missing course: err = %v", err)
		}
		mine, err := store.ListCoursesForStaff(ctx, db, f.creator)
		if err != nil || len(mine) != 1 || mine[0].ID != "do_1130" {
			t.Fatalf("courses by creator = %+v, %v", mine, err)
		}
		b, err := store.GetBatch(ctx, db, "b2")
		if err != nil {
			t.Fatal(err)
		}
		if b.Name != "Batch B" || len(b.Mentors) != 1 || b.Mentors[0] != f.users[0] ||
			!b.StartDate.Equal(day("2030-01-01")) || b.EndDate == nil || !b.EndDate.Equal(day("2031-06-30")) ||
			b.EnrolmentEndDate != nil {
			t.Fatalf("batch = %+v", b)
		}
		list, err := store.ListBatches(ctx, db, f.course.ID)
		if err != nil || len(list) != 2 || list[0].ID != "b1" || list[1].ID != "b2" {
			t.Fatalf("batches = %+v, %v", list, err)
		}
	})
}

func TestEnrolmentRules(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newCourseFixture(t, db, 5)
		now := roster.Now()
		for _, u := range f.users {
			if err := f.enrol(t, db, 0, u, now); err != nil {
				t.Fatal(err)
			}
		}
		// One active enrolment per user and course, as in the seed.
		if err := f.enrol(t, db, 1, f.users[0], now); !errors.Is(err, store.ErrUnique) {
			t.Fatalf("second batch of the same course: err = %v, want ErrUnique", err)
		}
		// Enrolling again in the same batch is not an error.
		if err := f.enrol(t, db, 0, f.users[0], now); err != nil {
			t.Fatal(err)
		}
		ok, err := store.DeactivateEnrolment(ctx, db, "b1", f.users[0], now)
		if err != nil || !ok {
			t.Fatalf("deactivate: %v %v", ok, err)
		}
		if ok, _ := store.DeactivateEnrolment(ctx, db, "b1", f.users[0], now); ok {
			t.Fatal("deactivating twice reported an active enrolment")
		}
		// After leaving batch 1 the user may join batch 2.
		if err := f.enrol(t, db, 1, f.users[0], now); err != nil {
			t.Fatal(err)
		}
		page1, err := store.ListParticipants(ctx, db, "b1", "", 2)
		if err != nil {
			t.Fatal(err)
		}
		page2, err := store.ListParticipants(ctx, db, "b1", page1[len(page1)-1].UserID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range append(page1, page2...) {
			ids = append(ids, e.UserID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(f.users[1:]) {
			t.Fatalf("participants = %v, want %v", ids, f.users[1:])
		}
		mine, err := store.ListUserEnrolments(ctx, db, f.users[0])
		if err != nil || len(mine) != 1 || mine[0].BatchID != "b2" || !mine[0].Active {
			t.Fatalf("user enrolments = %+v, %v", mine, err)
		}
	})
}

func TestConsentLedgerLatestWins(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newCourseFixture(t, db, 4)
		t0 := roster.Now().Add(-time.Hour)
		for i, u := range f.users {
			if err := f.enrol(t, db, i%2, u, t0); err != nil {
				t.Fatal(err)
			}
		}
		f.consent(t, db, f.users[0], roster.ConsentActive, t0.Add(time.Minute))
		f.consent(t, db, f.users[1], roster.ConsentActive, t0.Add(time.Minute))
		f.consent(t, db, f.users[1], roster.ConsentRevoked, t0.Add(2*time.Minute))
		f.consent(t, db, f.users[2], roster.ConsentRevoked, t0.Add(time.Minute))
		f.consent(t, db, f.users[2], roster.ConsentActive, t0.Add(3*time.Minute))
		// users[3] never answered.

		hist, err := store.ConsentHistory(ctx, db, f.users[1], f.course.ID, f.tenant.ID)
		if err != nil || len(hist) != 2 || hist[0].Status != roster.ConsentActive || hist[1].Status != roster.ConsentRevoked {
			t.Fatalf("history = %+v, %v", hist, err)
		}

		counts, err := store.CountEnrolments(ctx, db, f.course.ID, f.tenant.ID, roster.Now())
		if err != nil {
			t.Fatal(err)
		}
		// b1: users 0 (active), 2 (active again); b2: users 1 (revoked), 3 (none).
		want := map[string]store.BatchCount{"b1": {Enrolled: 2, Consented: 2}, "b2": {Enrolled: 2, Consented: 0}}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Fatalf("counts = %v, want %v", counts, want)
		}
		// As of a moment before user 2 granted again and before user 1 revoked.
		counts, err = store.CountEnrolments(ctx, db, f.course.ID, f.tenant.ID, t0.Add(90*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		want = map[string]store.BatchCount{"b1": {Enrolled: 2, Consented: 1}, "b2": {Enrolled: 2, Consented: 1}}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Fatalf("counts at t0+90s = %v, want %v", counts, want)
		}
	})
}

func TestReportPageKeysetAndSnapshot(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newCourseFixture(t, db, 7)
		t0 := roster.Now().Add(-time.Hour)
		for _, u := range f.users[:6] {
			if err := f.enrol(t, db, 0, u, t0); err != nil {
				t.Fatal(err)
			}
		}
		late := roster.Now().Add(time.Hour)
		if err := f.enrol(t, db, 0, f.users[6], late); err != nil { // after the snapshot
			t.Fatal(err)
		}
		if _, err := store.DeactivateEnrolment(ctx, db, "b1", f.users[5], t0); err != nil {
			t.Fatal(err)
		}
		f.consent(t, db, f.users[1], roster.ConsentActive, t0.Add(time.Minute))
		f.consent(t, db, f.users[2], roster.ConsentActive, t0.Add(time.Minute))
		f.consent(t, db, f.users[2], roster.ConsentRevoked, t0.Add(2*time.Minute))
		f.consent(t, db, f.users[3], roster.ConsentActive, late) // after the snapshot: not seen

		snapshot := roster.Now()
		var got []store.ReportUser
		var buf []store.ReportUser
		after := ""
		for {
			page, err := store.ReportPage(ctx, db, f.course.ID, f.tenant.ID, "b1", snapshot, after, 2, buf)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].UserID
			buf = page
		}
		if len(got) != 5 {
			t.Fatalf("rows = %d, want 5 (inactive and post-snapshot enrolments excluded)", len(got))
		}
		for i, r := range got {
			if r.UserID != f.users[i] || r.RootOrgName != "Tamil Nadu" || r.FirstName != fmt.Sprintf("learner%03d", i) {
				t.Fatalf("row %d = %+v", i, r)
			}
		}
		wantStatus := []string{"", roster.ConsentActive, roster.ConsentRevoked, "", ""}
		for i, r := range got {
			if r.ConsentStatus != wantStatus[i] {
				t.Errorf("user %d consent = %q, want %q", i, r.ConsentStatus, wantStatus[i])
			}
		}
		if got[1].ConsentAt == nil || !got[1].ConsentAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("consent date = %v", got[1].ConsentAt)
		}
	})
}

// Rows written before requests had a kind (by the insert of that version,
// which names no kind or format) read as User Profile Exhausts in CSV.
func TestReportRequestsBeforeKindsAreExhaustCSV(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newCourseFixture(t, db, 1)
		id := roster.NewID()
		if _, err := db.Exec(ctx, `INSERT INTO report_request (id, course_id, batch_id, requested_by, status, password_enc, requested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, f.course.ID, nil, f.creator, roster.ReportSubmitted, nil, roster.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := store.GetReportRequest(ctx, db, id)
		if err != nil || got.Kind != roster.ReportUserProfileExhaust || got.Format != roster.ReportCSV {
			t.Fatalf("old request = %+v, %v; want kind %s, format %s", got, err, roster.ReportUserProfileExhaust, roster.ReportCSV)
		}
		// And it still blocks a second identical exhaust while pending.
		dup := *got
		dup.ID = roster.NewID()
		if err := store.InsertReportRequest(ctx, db, &dup, nil); !errors.Is(err, store.ErrUnique) {
			t.Fatalf("exhaust beside a pending old request: err = %v, want ErrUnique", err)
		}
	})
}

func TestPendingReportRuleIncludesKindAndFormat(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newCourseFixture(t, db, 1)
		exhaust := &roster.ReportRequest{ID: roster.NewID(), Kind: roster.ReportUserProfileExhaust, Format: roster.ReportCSV,
			CourseID: f.course.ID, BatchID: "b1", RequestedBy: f.creator, Status: roster.ReportSubmitted, RequestedAt: roster.Now()}
		if err := store.InsertReportRequest(ctx, db, exhaust, nil); err != nil {
			t.Fatal(err)
		}
		// Another kind, or another format, of the same batch is another
		// request; the same kind and format again is the duplicate.
		progress, xlsx, again := *exhaust, *exhaust, *exhaust
		progress.ID, progress.Kind = roster.NewID(), "progress"
		xlsx.ID, xlsx.Format = roster.NewID(), "xlsx"
		again.ID = roster.NewID()
		for _, r := range []*roster.ReportRequest{&progress, &xlsx} {
			if err := store.InsertReportRequest(ctx, db, r, nil); err != nil {
				t.Fatalf("%s/%s beside a pending exhaust: %v", r.Kind, r.Format, err)
			}
		}
		if err := store.InsertReportRequest(ctx, db, &again, nil); !errors.Is(err, store.ErrUnique) {
			t.Fatalf("second pending exhaust: err = %v, want ErrUnique", err)
		}
		for _, want := range []*roster.ReportRequest{exhaust, &progress, &xlsx} {
			ask := *want
			ask.ID = roster.NewID()
			got, err := store.FindPendingReport(ctx, db, &ask)
			if err != nil || got.ID != want.ID || got.Kind != want.Kind || got.Format != want.Format {
				t.Errorf("pending %s/%s = %+v, %v; want %s", want.Kind, want.Format, got, err, want.ID)
			}
		}
	})
}

func TestReportRequestLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newCourseFixture(t, db, 1)
		now := roster.Now()
		r := &roster.ReportRequest{ID: roster.NewID(), Kind: roster.ReportUserProfileExhaust, Format: roster.ReportCSV,
			CourseID: f.course.ID, BatchID: "b1", RequestedBy: f.creator, Status: roster.ReportSubmitted, RequestedAt: now}
		if err := store.InsertReportRequest(ctx, db, r, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		dup := *r
		dup.ID = roster.NewID()
		if err := store.InsertReportRequest(ctx, db, &dup, nil); !errors.Is(err, store.ErrUnique) {
			t.Fatalf("second pending request: err = %v, want ErrUnique", err)
		}
		// Same course for all batches is a different request.
		all := *r
		all.ID, all.BatchID = roster.NewID(), ""
		if err := store.InsertReportRequest(ctx, db, &all, nil); err != nil {
			t.Fatal(err)
		}
		all2 := all
		all2.ID = roster.NewID()
		if err := store.InsertReportRequest(ctx, db, &all2, nil); !errors.Is(err, store.ErrUnique) {
			t.Fatalf("second pending all-batches request: err = %v, want ErrUnique", err)
		}
		p, err := store.FindPendingReport(ctx, db, &all)
		if err != nil || p.ID != all.ID || p.BatchID != "" {
			t.Fatalf("pending all-batches = %+v, %v", p, err)
		}

		if ok, err := store.StartReport(ctx, db, r.ID, now); err != nil || !ok {
			t.Fatalf("start: %v %v", ok, err)
		}
		enc, err := store.ReportPassword(ctx, db, r.ID)
		if err != nil || string(enc) != "sealed" {
			t.Fatalf("password = %q, %v", enc, err)
		}
		exp := now.Add(7 * 24 * time.Hour)
		done := &roster.ReportRequest{ID: r.ID, TotalRows: 10, ConsentedRows: 4, FilePath: "/x.zip", FileSize: 99,
			FinishedAt: &now, ExpiresAt: &exp}
		if err := store.FinishReport(ctx, db, done); err != nil {
			t.Fatal(err)
		}
		if enc, err := store.ReportPassword(ctx, db, r.ID); err != nil || enc != nil {
			t.Fatalf("password after success = %q, %v; want wiped", enc, err)
		}
		got, err := store.GetReportRequest(ctx, db, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != roster.ReportSuccess || got.TotalRows != 10 || got.ConsentedRows != 4 || got.FilePath != "/x.zip" ||
			got.FileSize != 99 || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.BatchID != "b1" {
			t.Fatalf("finished = %+v", got)
		}
		// A finished request no longer blocks a new one.
		dup.RequestedAt = now.Add(time.Second)
		if err := store.InsertReportRequest(ctx, db, &dup, nil); err != nil {
			t.Fatal(err)
		}
		if ok, _ := store.StartReport(ctx, db, r.ID, now); ok {
			t.Fatal("a finished request was started again")
		}
		if err := store.FailReport(ctx, db, dup.ID, "no luck", now); err != nil {
			t.Fatal(err)
		}
		if got, _ := store.GetReportRequest(ctx, db, dup.ID); got.Status != roster.ReportFailed || got.Failure != "no luck" {
			t.Fatalf("failed = %+v", got)
		}

		list, err := store.ListReportRequests(ctx, db, f.creator, "", 10)
		if err != nil || len(list) != 3 || list[0].ID != dup.ID {
			t.Fatalf("list = %+v, %v", list, err)
		}
		expired, err := store.ExpiredReports(ctx, db, exp.Add(time.Second), 10)
		if err != nil || len(expired) != 1 || expired[0].ID != r.ID {
			t.Fatalf("expired = %+v, %v", expired, err)
		}
		if expired, _ := store.ExpiredReports(ctx, db, exp.Add(-time.Second), 10); len(expired) != 0 {
			t.Fatalf("expired before expiry = %+v", expired)
		}
		if err := store.ExpireReport(ctx, db, r.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := store.GetReportRequest(ctx, db, r.ID); got.Status != roster.ReportExpired || got.FilePath != "" {
			t.Fatalf("expired = %+v", got)
		}
		if err := store.InsertReportDownload(ctx, db, r.ID, f.creator, now); err != nil {
			t.Fatal(err)
		}
		dl, err := store.ListReportDownloads(ctx, db, r.ID)
		if err != nil || len(dl) != 1 || dl[0].UserID != f.creator {
			t.Fatalf("downloads = %+v, %v", dl, err)
		}
	})
}

func TestReportPolicy(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newCourseFixture(t, db, 1)
		if _, err := store.GetReportPolicy(ctx, db, f.tenant.ID); !errors.Is(err, store.ErrNoRows) {
			t.Fatalf("no policy: err = %v", err)
		}
		p := &roster.ReportPolicy{RootOrgID: f.tenant.ID, SSUFields: nil, SSOFields: []string{"userName", "externalId"},
			UpdatedBy: f.creator, UpdatedDate: roster.Now()}
		if err := store.PutReportPolicy(ctx, db, p); err != nil {
			t.Fatal(err)
		}
		p.SSUFields = []string{"email"}
		if err := store.PutReportPolicy(ctx, db, p); err != nil {
			t.Fatal(err)
		}
		got, err := store.GetReportPolicy(ctx, db, f.tenant.ID)
		if err != nil || fmt.Sprint(got.SSUFields) != "[email]" || fmt.Sprint(got.SSOFields) != "[userName externalId]" {
			t.Fatalf("policy = %+v, %v", got, err)
		}
	})
}

// The course filter applies before the limit: a course's older requests
// are found even when more recent requests of another course fill a page.
func TestListReportRequestsByCourse(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newCourseFixture(t, db, 1)
		other := &roster.Course{ID: "do_other", Name: "Decimals", Channel: "TN", RootOrgID: f.tenant.ID, CreatedBy: f.creator,
			CreatedDate: roster.Now()}
		if err := store.InsertCourse(ctx, db, other); err != nil {
			t.Fatal(err)
		}
		base := roster.Now().Add(-time.Hour)
		insert := func(courseID string, at time.Time) *roster.ReportRequest {
			t.Helper()
			// FAILED requests do not hit the one-pending-request index.
			r := &roster.ReportRequest{ID: roster.NewID(), Kind: roster.ReportUserProfileExhaust, Format: roster.ReportCSV, CourseID: courseID, RequestedBy: f.creator,
				Status: roster.ReportFailed, RequestedAt: at}
			if err := store.InsertReportRequest(ctx, db, r, nil); err != nil {
				t.Fatal(err)
			}
			return r
		}
		mine := insert(f.course.ID, base)
		const limit = 5
		for i := range limit + 3 {
			insert(other.ID, base.Add(time.Duration(i+1)*time.Second))
		}
		got, err := store.ListReportRequests(ctx, db, f.creator, f.course.ID, limit)
		if err != nil || len(got) != 1 || got[0].ID != mine.ID {
			t.Fatalf("course filter = %+v, %v; want only %s", got, err, mine.ID)
		}
		got, err = store.ListReportRequests(ctx, db, f.creator, other.ID, limit)
		if err != nil || len(got) != limit || got[0].CourseID != other.ID || !got[0].RequestedAt.After(got[1].RequestedAt) {
			t.Fatalf("other course = %d rows, %v", len(got), err)
		}
		if got, _ := store.ListReportRequests(ctx, db, f.creator, "", 100); len(got) != limit+4 {
			t.Fatalf("unfiltered = %d rows, want %d", len(got), limit+4)
		}
	})
}
