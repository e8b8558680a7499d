package course_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/course/coursetest"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := roster.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

type fixture struct {
	*coursetest.World
	creator, mentor, learner *roster.Principal
	otherCreator             *roster.Principal // CONTENT_CREATOR of the other tenant
	course                   *roster.Course
	batch1, batch2           *roster.Batch
}

func newFixture(t *testing.T, db store.Engine) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{World: coursetest.NewWorld(t, db)}
	role := func(org *roster.Organisation, roles ...string) *roster.Principal {
		return f.Principal(t, f.User(t, registry.NewUser{OrgID: org.ID, Roles: roles}))
	}
	f.creator = role(f.State, roster.RoleContentCreator)
	f.mentor = role(f.State, roster.RoleCourseMentor)
	f.learner = role(f.State)
	f.otherCreator = role(f.Other, roster.RoleContentCreator)
	var err error
	f.course, err = f.Courses.CreateCourse(ctx, f.creator, course.NewCourse{Name: "Fractions", RootOrgID: f.State.ID})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().AddDate(0, 0, -10)
	f.batch1, err = f.Courses.CreateBatch(ctx, f.creator, course.NewBatch{CourseID: f.course.ID, Name: "Batch 1",
		Mentors: []string{f.mentor.UserID}, StartDate: start})
	if err != nil {
		t.Fatal(err)
	}
	f.batch2, err = f.Courses.CreateBatch(ctx, f.Admin, course.NewBatch{CourseID: f.course.ID, Name: "Batch 2",
		StartDate: time.Now().AddDate(0, 0, 5)})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCreateCourseAuthorization(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db)
		if !regexp.MustCompile(`^do_[0-9]{20}$`).MatchString(f.course.ID) {
			t.Fatalf("generated id %q is not a do_ id", f.course.ID)
		}
		if f.course.CreatedBy != f.creator.UserID || f.course.Channel != "TN" || !f.course.RequiresConsent {
			t.Fatalf("course = %+v", f.course)
		}
		// A content creator of another tenant, an org admin without the role
		// and a mentor may not create courses in the state.
		for name, p := range map[string]*roster.Principal{"other tenant's creator": f.otherCreator,
			"org admin": f.Admin, "mentor": f.mentor, "anonymous": nil} {
			_, err := f.Courses.CreateCourse(ctx, p, course.NewCourse{Name: "X", RootOrgID: f.State.ID})
			if p == nil {
				wantCode(t, err, roster.EUNAUTHORIZED)
			} else if roster.ErrorCode(err) != roster.EFORBIDDEN {
				t.Errorf("%s: err = %v, want forbidden", name, err)
			}
		}
		no := false
		c, err := f.Courses.CreateCourse(ctx, f.creator, course.NewCourse{ID: "do_1130_fr", Name: "Own id",
			RootOrgID: f.State.ID, RequiresConsent: &no})
		if err != nil || c.ID != "do_1130_fr" || c.RequiresConsent {
			t.Fatalf("course = %+v, %v", c, err)
		}
		_, err = f.Courses.CreateCourse(ctx, f.creator, course.NewCourse{ID: "do_1130_fr", Name: "Again", RootOrgID: f.State.ID})
		wantCode(t, err, roster.ECONFLICT)
		_, err = f.Courses.CreateCourse(ctx, f.creator, course.NewCourse{ID: "course-1", Name: "", RootOrgID: "nope"})
		wantCode(t, err, roster.EINVALID)
		if e := err.(*roster.Error); len(e.Fields) != 3 {
			t.Fatalf("fields = %v, want id, name and rootOrgId", e.Fields)
		}
		// The system creates courses on behalf of a named creator.
		c, err = f.Courses.CreateCourse(ctx, roster.SystemPrincipal, course.NewCourse{Name: "Sys", RootOrgID: f.State.ID,
			CreatedBy: f.creator.UserID})
		if err != nil || c.CreatedBy != f.creator.UserID {
			t.Fatalf("system course = %+v, %v", c, err)
		}
		mine, err := f.Courses.MyCourses(ctx, f.creator)
		if err != nil || len(mine) != 3 {
			t.Fatalf("my courses = %d, %v", len(mine), err)
		}
		// A mentor sees the course whose batch they mentor, and only that.
		mentored, err := f.Courses.MyCourses(ctx, f.mentor)
		if err != nil || len(mentored) != 1 || mentored[0].ID != f.course.ID {
			t.Fatalf("mentor's courses = %+v, %v", mentored, err)
		}
		if none, err := f.Courses.MyCourses(ctx, f.learner); err != nil || len(none) != 0 {
			t.Fatalf("learner's courses = %+v, %v", none, err)
		}
	})
}

func TestBatches(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db)
		_, err := f.Courses.CreateBatch(ctx, f.mentor, course.NewBatch{CourseID: f.course.ID, Name: "M", StartDate: time.Now()})
		wantCode(t, err, roster.EFORBIDDEN)
		_, err = f.Courses.CreateBatch(ctx, f.OtherAdm, course.NewBatch{CourseID: f.course.ID, Name: "M", StartDate: time.Now()})
		wantCode(t, err, roster.EFORBIDDEN)
		end := time.Now().AddDate(0, 0, -1)
		outsider := f.User(t, registry.NewUser{OrgID: f.Other.ID})
		_, err = f.Courses.CreateBatch(ctx, f.creator, course.NewBatch{CourseID: f.course.ID, Name: "Bad",
			StartDate: time.Now(), EndDate: &end, Mentors: []string{outsider}})
		wantCode(t, err, roster.EINVALID)
		if e := err.(*roster.Error); len(e.Fields) != 2 || e.Fields[0].Field != "endDate" || e.Fields[1].Field != "mentors" {
			t.Fatalf("fields = %v", e.Fields)
		}
		_, err = f.Courses.CreateBatch(ctx, f.creator, course.NewBatch{CourseID: "do_missing", Name: "X", StartDate: time.Now()})
		wantCode(t, err, roster.ENOTFOUND)

		if s := f.batch1.Status(time.Now()); s != roster.BatchInProgress {
			t.Errorf("batch 1 status = %q", s)
		}
		if s := f.batch2.Status(time.Now()); s != roster.BatchUpcoming {
			t.Errorf("batch 2 status = %q", s)
		}
		if s := f.batch1.Status(time.Now().AddDate(0, 0, -11)); s != roster.BatchUpcoming {
			t.Errorf("batch 1 status before start = %q", s)
		}
		fin := time.Now().AddDate(0, 0, 3)
		b3, err := f.Courses.CreateBatch(ctx, f.creator, course.NewBatch{CourseID: f.course.ID, Name: "Short",
			StartDate: time.Now().AddDate(0, 0, -3), EndDate: &fin})
		if err != nil {
			t.Fatal(err)
		}
		if s := b3.Status(time.Now().AddDate(0, 0, 3)); s != roster.BatchInProgress {
			t.Errorf("status on the (inclusive) end date = %q", s)
		}
		if s := b3.Status(time.Now().AddDate(0, 0, 4)); s != roster.BatchCompleted {
			t.Errorf("status after the end date = %q", s)
		}
	})
}

func TestEnrolmentAuthorizationAndRules(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db)
		ssu := f.Principal(t, f.User(t, registry.NewUser{})) // self-signed-up: custodian user

		// Learners enrol themselves, including into another tenant's course.
		if _, err := f.Courses.Enrol(ctx, f.learner, f.batch1.ID, f.learner.UserID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Courses.Enrol(ctx, ssu, f.batch1.ID, ssu.UserID); err != nil {
			t.Fatal(err)
		}
		// Another learner, the creator and the mentor may not enrol someone
		// else; to the other tenant's admin the user does not exist (issue 8).
		third := f.User(t, registry.NewUser{OrgID: f.State.ID})
		for name, p := range map[string]*roster.Principal{"learner": f.learner, "creator": f.creator,
			"mentor": f.mentor} {
			if _, err := f.Courses.Enrol(ctx, p, f.batch1.ID, third); roster.ErrorCode(err) != roster.EFORBIDDEN {
				t.Errorf("%s enrolling another user: err = %v, want forbidden", name, err)
			}
		}
		if _, err := f.Courses.Enrol(ctx, f.OtherAdm, f.batch1.ID, third); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Errorf("other admin enrolling another user: err = %v, want not found", err)
		}
		if _, err := f.Courses.Enrol(ctx, f.Admin, f.batch1.ID, third); err != nil {
			t.Fatalf("tenant admin enrolling: %v", err)
		}
		// Enrolling again in the same batch returns the enrolment.
		e, err := f.Courses.Enrol(ctx, f.learner, f.batch1.ID, f.learner.UserID)
		if err != nil || e.BatchID != f.batch1.ID || !e.Active {
			t.Fatalf("re-enrol = %+v, %v", e, err)
		}
		// One batch per course at a time.
		_, err = f.Courses.Enrol(ctx, f.learner, f.batch2.ID, f.learner.UserID)
		wantCode(t, err, roster.ECONFLICT)
		if err := f.Courses.Unenrol(ctx, f.learner, f.batch1.ID, f.learner.UserID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.Courses.Unenrol(ctx, f.learner, f.batch1.ID, f.learner.UserID), roster.ENOTFOUND)
		wantCode(t, f.Courses.Unenrol(ctx, f.learner, f.batch1.ID, third), roster.EFORBIDDEN)
		if _, err := f.Courses.Enrol(ctx, f.learner, f.batch2.ID, f.learner.UserID); err != nil {
			t.Fatalf("enrol in batch 2 after leaving batch 1: %v", err)
		}
		mine, err := f.Courses.MyEnrolments(ctx, f.learner)
		if err != nil || len(mine) != 1 || mine[0].BatchID != f.batch2.ID {
			t.Fatalf("my enrolments = %+v, %v", mine, err)
		}

		// Closed enrolment.
		past := time.Now().AddDate(0, 0, -5)
		closed, err := f.Courses.CreateBatch(ctx, f.creator, course.NewBatch{CourseID: f.course.ID, Name: "Closed",
			StartDate: time.Now().AddDate(0, 0, -10), EnrolmentEndDate: &past})
		if err != nil {
			t.Fatal(err)
		}
		other := f.Principal(t, f.User(t, registry.NewUser{OrgID: f.State.ID}))
		_, err = f.Courses.Enrol(ctx, other, closed.ID, other.UserID)
		wantCode(t, err, roster.EINVALID)

		// Participants: creator, the batch's mentor and tenant admins only.
		for name, p := range map[string]*roster.Principal{"creator": f.creator, "mentor": f.mentor, "admin": f.Admin} {
			list, err := f.Courses.Participants(ctx, p, f.batch1.ID, "", 0)
			if err != nil || len(list) != 2 {
				t.Errorf("%s: participants = %d, %v", name, len(list), err)
			}
		}
		for name, p := range map[string]*roster.Principal{"learner": f.learner, "other creator": f.otherCreator, "other admin": f.OtherAdm} {
			if _, err := f.Courses.Participants(ctx, p, f.batch1.ID, "", 0); roster.ErrorCode(err) != roster.EFORBIDDEN {
				t.Errorf("%s: err = %v, want forbidden", name, err)
			}
		}
		// The mentor of batch 1 is not a mentor of batch 2.
		if _, err := f.Courses.Participants(ctx, f.mentor, f.batch2.ID, "", 0); roster.ErrorCode(err) != roster.EFORBIDDEN {
			t.Errorf("mentor of another batch: err = %v, want forbidden", err)
		}
	})
}

func TestConsentLedger(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db)
		if _, err := f.Courses.Enrol(ctx, f.learner, f.batch1.ID, f.learner.UserID); err != nil {
			t.Fatal(err)
		}
		// Only the learner decides.
		for name, p := range map[string]*roster.Principal{"creator": f.creator, "admin": f.Admin, "mentor": f.mentor} {
			if _, err := f.Courses.GrantConsent(ctx, p, f.learner.UserID, f.course.ID); roster.ErrorCode(err) != roster.EFORBIDDEN {
				t.Errorf("%s granting for a learner: err = %v, want forbidden", name, err)
			}
		}
		c, err := f.Courses.GrantConsent(ctx, f.learner, f.learner.UserID, f.course.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.ConsumerID != f.State.ID || c.ObjectID != f.course.ID || c.ObjectType != "Collection" || c.Status != "ACTIVE" {
			t.Fatalf("consent = %+v", c)
		}
		list, err := f.Courses.ListBatches(ctx, f.creator, f.course.ID)
		if err != nil || len(list) != 2 {
			t.Fatal(list, err)
		}
		byID := map[string]course.BatchSummary{}
		for _, b := range list {
			byID[b.ID] = b
		}
		if b := byID[f.batch1.ID]; b.Enrolled != 1 || b.Consented != 1 || b.Status != roster.BatchInProgress {
			t.Fatalf("batch 1 summary = %+v", b)
		}
		if b := byID[f.batch2.ID]; b.Enrolled != 0 || b.Status != roster.BatchUpcoming {
			t.Fatalf("batch 2 summary = %+v", b)
		}
		if _, err := f.Courses.RevokeConsent(ctx, f.learner, f.learner.UserID, f.course.ID); err != nil {
			t.Fatal(err)
		}
		list, _ = f.Courses.ListBatches(ctx, f.mentor, f.course.ID)
		for _, b := range list {
			if b.ID == f.batch1.ID && (b.Enrolled != 1 || b.Consented != 0) {
				t.Fatalf("after revoking: %+v", b)
			}
		}
		_, err = f.Courses.ListBatches(ctx, f.learner, f.course.ID)
		wantCode(t, err, roster.EFORBIDDEN)

		// History keeps every decision.
		hist, err := f.Courses.ConsentHistory(ctx, f.learner, f.learner.UserID, f.course.ID)
		if err != nil || len(hist) != 2 || hist[0].Status != "ACTIVE" || hist[1].Status != "REVOKED" {
			t.Fatalf("history = %+v, %v", hist, err)
		}
		_, err = f.Courses.ConsentHistory(ctx, f.creator, f.learner.UserID, f.course.ID)
		wantCode(t, err, roster.EFORBIDDEN)
		_, err = f.Courses.RecordConsent(ctx, f.learner, course.ConsentInput{UserID: f.learner.UserID, CourseID: f.course.ID, Status: "maybe"})
		wantCode(t, err, roster.EINVALID)
		// The system may import decisions with their original time.
		at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		c, err = f.Courses.RecordConsent(ctx, roster.SystemPrincipal, course.ConsentInput{UserID: f.learner.UserID,
			CourseID: f.course.ID, Status: "active", At: at})
		if err != nil || !c.At.Equal(at) {
			t.Fatalf("imported consent = %+v, %v", c, err)
		}
	})
}

func TestGetBatchStatusAndCounts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db)
		for i, status := range []string{roster.ConsentActive, "", roster.ConsentRevoked} {
			id := f.User(t, registry.NewUser{OrgID: f.State.ID})
			p := f.Principal(t, id)
			if _, err := f.Courses.Enrol(ctx, p, f.batch1.ID, id); err != nil {
				t.Fatalf("enrol %d: %v", i, err)
			}
			if status == "" {
				continue
			}
			if _, err := f.Courses.RecordConsent(ctx, p, course.ConsentInput{UserID: id, CourseID: f.course.ID, Status: status}); err != nil {
				t.Fatal(err)
			}
		}
		for name, p := range map[string]*roster.Principal{"creator": f.creator, "mentor": f.mentor, "admin": f.Admin} {
			v, err := f.Courses.GetBatch(ctx, p, f.batch1.ID)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if v.ID != f.batch1.ID || v.Status != roster.BatchInProgress || v.Enrolled == nil || *v.Enrolled != 3 ||
				v.Consented == nil || *v.Consented != 1 {
				t.Errorf("%s sees %+v (enrolled %v, consented %v)", name, v, v.Enrolled, v.Consented)
			}
		}
		// Learners and outsiders see the status, not the counts.
		for name, p := range map[string]*roster.Principal{"learner": f.learner, "other tenant's creator": f.otherCreator} {
			v, err := f.Courses.GetBatch(ctx, p, f.batch2.ID)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if v.Status != roster.BatchUpcoming || v.Enrolled != nil || v.Consented != nil {
				t.Errorf("%s sees %+v", name, v)
			}
		}
		if v, err := f.Courses.GetBatch(ctx, f.creator, f.batch2.ID); err != nil || *v.Enrolled != 0 || *v.Consented != 0 {
			t.Errorf("empty batch = %+v, %v", v, err)
		}
		_, err := f.Courses.GetBatch(ctx, nil, f.batch1.ID)
		wantCode(t, err, roster.EUNAUTHORIZED)
		_, err = f.Courses.GetBatch(ctx, f.creator, "missing")
		wantCode(t, err, roster.ENOTFOUND)
	})
}
