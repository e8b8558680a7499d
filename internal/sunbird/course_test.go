package sunbird

import (
	"net/http"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// Contract of lms-service's batch and enrolment routes (service/conf/routes,
// CourseBatchManagementActor.java): the request bodies of the portal's
// create-batch and batch-info components, result.response "SUCCESS",
// batch status 0/1/2 and participants as user ids.
func TestCourseBatchesAndEnrolment(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newLMSEnv(t, db, "")
		tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
		create := func(userID, enrollmentType string) (int, map[string]any, []byte) {
			return e.call(http.MethodPost, "/v1/course/batch/create", userID, sbReq(map[string]any{"courseId": e.course.ID,
				"name": "Batch 2", "description": "second run", "enrollmentType": enrollmentType, "startDate": tomorrow,
				"endDate": nil, "createdBy": userID, "createdFor": []string{e.State.ID}, "mentors": []string{}}))
		}
		status, body, raw := create(e.creator, "open")
		if status != http.StatusOK {
			t.Fatalf("create: %d %s", status, raw)
		}
		wantField(t, body, "id", "api.course.batch.create")
		wantField(t, body, "result.response", "SUCCESS")
		batchID, _ := dig(body, "result.batchId").(string)
		if batchID == "" {
			t.Fatalf("no batchId: %s", raw)
		}
		if status, _, raw := create(e.creator, "invite-only"); status != 400 {
			t.Errorf("invite-only: %d %s", status, raw)
		}
		if status, _, raw := create(e.learner, "open"); status != 403 {
			t.Errorf("a learner creating a batch: %d %s", status, raw)
		}

		status, body, raw = e.call(http.MethodGet, "/v1/course/batch/read/"+batchID, e.creator, nil)
		if status != http.StatusOK {
			t.Fatalf("read: %d %s", status, raw)
		}
		wantField(t, body, "id", "api.course.batch.read")
		wantField(t, body, "result.response.batchId", batchID)
		wantField(t, body, "result.response.courseId", e.course.ID)
		wantField(t, body, "result.response.startDate", tomorrow)
		wantField(t, body, "result.response.status", 0.0)
		wantField(t, body, "result.response.enrollmentType", "open")
		wantField(t, body, "result.response.createdFor.0", e.State.ID)

		search := func(statuses ...string) map[string]any {
			_, body, raw := e.call(http.MethodPost, "/v1/course/batch/search", e.creator, sbReq(map[string]any{
				"filters": map[string]any{"courseId": e.course.ID, "status": statuses}}))
			if dig(body, "responseCode") != "OK" {
				t.Fatalf("search: %s", raw)
			}
			return body
		}
		wantField(t, search("0", "1", "2"), "result.response.count", 2.0)
		wantField(t, search("1"), "result.response.content.0.batchId", e.batch.ID)
		wantField(t, search("0"), "result.response.content.0.batchId", batchID)
		if status, body, raw := e.call(http.MethodPost, "/v1/course/batch/search", e.creator, sbReq(map[string]any{"filters": map[string]any{}})); status != 400 ||
			dig(body, "params.errmsg") != "Mandatory parameter filters.courseId is missing." {
			t.Errorf("search without courseId: %d %s", status, raw)
		}

		enrol := map[string]any{"courseId": e.course.ID, "userId": e.learner, "batchId": e.batch.ID}
		// The portal's proxy path course/v1/enrol arrives as /v1/course/enrol.
		status, body, raw = e.call(http.MethodPost, "/v1/course/enrol", e.learner, sbReq(enrol))
		if status != http.StatusOK || dig(body, "result.response") != "SUCCESS" {
			t.Fatalf("enrol: %d %s", status, raw)
		}
		participants := func(userID string) (int, map[string]any, []byte) {
			return e.call(http.MethodPost, "/v1/batch/participants/list", userID, sbReq(map[string]any{
				"batch": map[string]any{"batchId": e.batch.ID, "active": true}}))
		}
		status, body, raw = participants(e.creator)
		if status != http.StatusOK || dig(body, "result.batch.count") != 1.0 || dig(body, "result.batch.participants.0") != e.learner {
			t.Errorf("participants: %d %s", status, raw)
		}
		if status, _, raw := participants(e.learner); status != 403 {
			t.Errorf("a learner listing participants: %d %s", status, raw)
		}
		// Enrolling someone else, or naming a batch of another course, is refused.
		if status, _, raw := e.call(http.MethodPost, "/v1/course/enroll", e.learner, sbReq(map[string]any{
			"courseId": e.course.ID, "userId": e.creator, "batchId": e.batch.ID})); status != 403 {
			t.Errorf("enrolling another user: %d %s", status, raw)
		}
		if status, body, raw := e.call(http.MethodPost, "/v1/course/enroll", e.learner, sbReq(map[string]any{
			"courseId": "do_other", "userId": e.learner, "batchId": e.batch.ID})); status != 400 || dig(body, "params.errmsg") != "Invalid course batch." {
			t.Errorf("wrong course: %d %s", status, raw)
		}
		if status, body, raw := e.call(http.MethodPost, "/v1/course/enroll", e.learner, sbReq(map[string]any{"courseId": e.course.ID})); status != 400 ||
			dig(body, "params.errmsg") != "Mandatory parameter batchId is missing." {
			t.Errorf("no batchId: %d %s", status, raw)
		}

		status, body, raw = e.call(http.MethodPost, "/v1/course/unenroll", e.learner, sbReq(enrol))
		if status != http.StatusOK || dig(body, "result.response") != "SUCCESS" {
			t.Fatalf("unenrol: %d %s", status, raw)
		}
		_, body, _ = participants(e.creator)
		wantField(t, body, "result.batch.count", 0.0)
	})
}
