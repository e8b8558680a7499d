package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

func TestCourseLifecycle(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		e.createUser(e.stateA.ID, "creator", "creator@example.org", roster.RoleContentCreator)
		learnerUser := e.createUser(e.stateA.ID, "learner", "learner@example.org")
		e.createUser(e.stateB.ID, "creatorB", "creator-b@example.org", roster.RoleContentCreator)
		creator, learner, creatorB := e.login("creator"), e.login("learner"), e.login("creatorB")

		var c roster.Course
		e.do(http.MethodPost, "/api/v1/courses", creator, map[string]any{"name": "Fractions"}, &c).expect(t, http.StatusCreated)
		if c.RootOrgID != e.stateA.ID || c.CreatedBy == "" || !c.RequiresConsent {
			t.Fatalf("course = %+v", c)
		}
		// Learners are not content creators; creators of another tenant cannot use this one.
		e.do(http.MethodPost, "/api/v1/courses", learner, map[string]any{"name": "Nope"}, nil).expect(t, http.StatusForbidden)
		e.do(http.MethodPost, "/api/v1/courses", creatorB, map[string]any{"name": "Nope", "rootOrgId": e.stateA.ID}, nil).
			expect(t, http.StatusForbidden)

		res := e.do(http.MethodPost, "/api/v1/courses/"+c.ID+"/batches", creator,
			map[string]any{"name": "", "startDate": "01/02/2026", "endDate": "2026-13-01"}, nil).expect(t, http.StatusUnprocessableEntity)
		var locs []string
		for _, f := range res.problem(t).Errors {
			locs = append(locs, f.Location)
		}
		if !slices.Contains(locs, "body.startDate") || !slices.Contains(locs, "body.endDate") {
			t.Errorf("batch date errors = %v", locs)
		}
		today := time.Now().UTC().Format(time.DateOnly)
		var b roster.Batch
		e.do(http.MethodPost, "/api/v1/courses/"+c.ID+"/batches", creator, map[string]any{"name": "Batch 1", "startDate": today}, &b).
			expect(t, http.StatusCreated)
		e.do(http.MethodPost, "/api/v1/courses/"+c.ID+"/batches", creatorB, map[string]any{"name": "X", "startDate": today}, nil).
			expect(t, http.StatusForbidden)

		e.do(http.MethodPut, "/api/v1/batches/"+b.ID+"/participants/"+learnerUser.ID, learner, nil, nil).expect(t, http.StatusOK)
		e.do(http.MethodPost, "/api/v1/courses/"+c.ID+"/consent", learner, map[string]any{"status": "ACTIVE"}, nil).expect(t, http.StatusCreated)

		var batches struct{ Batches []course.BatchSummary }
		e.do(http.MethodGet, "/api/v1/courses/"+c.ID+"/batches", creator, nil, &batches).expect(t, http.StatusOK)
		if len(batches.Batches) != 1 || batches.Batches[0].Enrolled != 1 || batches.Batches[0].Consented != 1 {
			t.Fatalf("batches = %+v", batches.Batches)
		}
		// One batch read: status for everyone, counts for the course's staff.
		var one map[string]any
		e.do(http.MethodGet, "/api/v1/batches/"+b.ID, creator, nil, &one).expect(t, http.StatusOK)
		if one["id"] != b.ID || one["status"] != roster.BatchInProgress || one["enrolled"] != 1.0 || one["consented"] != 1.0 {
			t.Errorf("batch as creator = %v", one)
		}
		one = nil
		e.do(http.MethodGet, "/api/v1/batches/"+b.ID, learner, nil, &one).expect(t, http.StatusOK)
		if _, counted := one["enrolled"]; one["status"] != roster.BatchInProgress || counted {
			t.Errorf("batch as learner = %v", one)
		}
		e.do(http.MethodPost, "/api/v1/courses/"+c.ID+"/consent", learner, map[string]any{"status": "REVOKED"}, nil).expect(t, http.StatusCreated)
		e.do(http.MethodGet, "/api/v1/courses/"+c.ID+"/batches", creator, nil, &batches).expect(t, http.StatusOK)
		if batches.Batches[0].Consented != 0 {
			t.Errorf("consented after revoke = %d", batches.Batches[0].Consented)
		}
		var history struct{ Decisions []roster.Consent }
		e.do(http.MethodGet, "/api/v1/courses/"+c.ID+"/consent", learner, nil, &history).expect(t, http.StatusOK)
		if len(history.Decisions) != 2 || history.Decisions[1].Status != roster.ConsentRevoked {
			t.Errorf("consent history = %+v", history.Decisions)
		}
		// Nobody decides for the learner.
		e.do(http.MethodGet, "/api/v1/courses/"+c.ID+"/batches", learner, nil, nil).expect(t, http.StatusForbidden)

		var mine struct{ Courses []roster.Course }
		e.do(http.MethodGet, "/api/v1/me/courses", creator, nil, &mine).expect(t, http.StatusOK)
		if len(mine.Courses) != 1 || mine.Courses[0].ID != c.ID {
			t.Errorf("my courses = %+v", mine.Courses)
		}
		var parts struct{ Participants []roster.Enrolment }
		e.do(http.MethodGet, "/api/v1/batches/"+b.ID+"/participants", creator, nil, &parts).expect(t, http.StatusOK)
		if len(parts.Participants) != 1 || parts.Participants[0].UserID != learnerUser.ID {
			t.Errorf("participants = %+v", parts.Participants)
		}
		var enrolments struct{ Enrolments []roster.Enrolment }
		e.do(http.MethodGet, "/api/v1/me/enrolments", learner, nil, &enrolments).expect(t, http.StatusOK)
		if len(enrolments.Enrolments) != 1 {
			t.Errorf("my enrolments = %+v", enrolments.Enrolments)
		}
		e.do(http.MethodDelete, "/api/v1/batches/"+b.ID+"/participants/"+learnerUser.ID, learner, nil, nil).expect(t, http.StatusNoContent)
		e.do(http.MethodGet, "/api/v1/batches/"+b.ID+"/participants", creator, nil, &parts).expect(t, http.StatusOK)
		if len(parts.Participants) != 0 {
			t.Errorf("participants after unenrol = %+v", parts.Participants)
		}
	})
}
