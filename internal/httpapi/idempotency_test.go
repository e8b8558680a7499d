package httpapi_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// uploadWithKey sends an upload form with an Idempotency-Key; each call
// writes a new multipart boundary, as a client's retry would.
func (e *env) uploadWithKey(token, key, orgID, content string, out any) *response {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("orgId", orgID)
	fw, _ := mw.CreateFormFile("file", "users.csv")
	_, _ = fw.Write([]byte(content))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/uploads", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	return e.send(req, out)
}

func (e *env) postJSONWithKey(path, token, key string, body any, out any) *response {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	return e.send(req, out)
}

func TestUploadIdempotencyKey(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		e.createUser(e.stateA.ID, "adminTwo", "admin-two@example.org", roster.RoleOrgAdmin)
		admin, admin2 := e.login("adminA"), e.login("adminTwo")

		var first, again, other uploadBody
		e.uploadWithKey(admin, "key-1", e.schoolA.ID, sampleCSV, &first).expect(t, http.StatusAccepted)
		res := e.uploadWithKey(admin, "key-1", e.schoolA.ID, sampleCSV, &again).expect(t, http.StatusAccepted)
		if again.ID != first.ID || res.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry made upload %s (replayed %q), want the first, %s", again.ID, res.Header.Get("Idempotent-Replayed"), first.ID)
		}
		// Another file under the same key is a client bug, not a retry.
		e.uploadWithKey(admin, "key-1", e.schoolA.ID, sampleCSV+"Extra,Row,,extra@example.org,extra_u,Upl0adPass9\r\n", nil).
			expect(t, http.StatusUnprocessableEntity)
		// Keys belong to their caller: another admin's key-1 is a new upload.
		e.uploadWithKey(admin2, "key-1", e.schoolA.ID, sampleCSV, &other).expect(t, http.StatusAccepted)
		if other.ID == first.ID {
			t.Error("another caller's request with the same key replayed the first caller's answer")
		}
		var list struct{ Uploads []roster.Upload }
		e.do(http.MethodGet, "/api/v1/uploads?orgId="+e.schoolA.ID, admin, nil, &list).expect(t, http.StatusOK)
		if len(list.Uploads) != 2 {
			t.Errorf("%d uploads, want 2 (the retry must not make one)", len(list.Uploads))
		}
		long := string(bytes.Repeat([]byte("k"), 129))
		e.uploadWithKey(admin, long, e.schoolA.ID, sampleCSV, nil).expect(t, http.StatusUnprocessableEntity)
	})
}

func TestReportIdempotencyKey(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		e.createUser(e.stateA.ID, "creator", "creator@example.org", roster.RoleContentCreator)
		creator := e.login("creator")
		var c roster.Course
		e.do(http.MethodPost, "/api/v1/courses", creator, map[string]any{"name": "Fractions"}, &c).expect(t, http.StatusCreated)
		var b roster.Batch
		e.do(http.MethodPost, "/api/v1/courses/"+c.ID+"/batches", creator,
			map[string]any{"name": "Batch 1", "startDate": time.Now().UTC().Format(time.DateOnly)}, &b).expect(t, http.StatusCreated)

		body := map[string]any{"courseId": c.ID, "batchId": b.ID, "password": "Zip-pass-2024"}
		var first, again struct{ ID string }
		res := e.postJSONWithKey("/api/v1/reports", creator, "r-1", body, &first)
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("request: %d %s", res.StatusCode, res.body)
		}
		res = e.postJSONWithKey("/api/v1/reports", creator, "r-1", body, &again).expect(t, http.StatusAccepted)
		if again.ID != first.ID || res.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry answered %s %q, want the first answer %s", again.ID, res.Header.Get("Idempotent-Replayed"), first.ID)
		}
		other := map[string]any{"courseId": c.ID, "password": "Zip-pass-2024"}
		e.postJSONWithKey("/api/v1/reports", creator, "r-1", other, nil).expect(t, http.StatusUnprocessableEntity)
	})
}
