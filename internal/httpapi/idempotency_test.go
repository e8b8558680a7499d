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

// Every list pages the same way: cursor in, next out, and no next on the
// last page even when it is full.
func TestListsPageByCursor(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		admin := e.login("adminA")
		var up uploadBody
		e.uploadWithKey(admin, "p-1", e.schoolA.ID, sampleCSV, &up).expect(t, http.StatusAccepted)
		e.uploadWithKey(admin, "p-2", e.schoolA.ID, sampleCSV, nil).expect(t, http.StatusAccepted)
		for deadline := time.Now().Add(30 * time.Second); up.Status != roster.UploadCompleted; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) || up.Status == roster.UploadFailed {
				t.Fatalf("upload = %+v", up.Upload)
			}
			e.do(http.MethodGet, "/api/v1/uploads/"+up.ID, admin, nil, &up).expect(t, http.StatusOK)
		}

		type uploadPage struct {
			Uploads []roster.Upload
			Next    *string
		}
		var p1, p2 uploadPage
		e.do(http.MethodGet, "/api/v1/uploads?limit=1&orgId="+e.schoolA.ID, admin, nil, &p1).expect(t, http.StatusOK)
		if len(p1.Uploads) != 1 || p1.Next == nil {
			t.Fatalf("first page = %+v", p1)
		}
		e.do(http.MethodGet, "/api/v1/uploads?limit=1&orgId="+e.schoolA.ID+"&cursor="+*p1.Next, admin, nil, &p2).expect(t, http.StatusOK)
		if len(p2.Uploads) != 1 || p2.Next != nil || p2.Uploads[0].ID == p1.Uploads[0].ID {
			t.Errorf("last, full page = %+v, want one other upload and no next", p2)
		}

		type rowPage struct {
			Rows []roster.UploadRow
			Next *string
		}
		var r1, r2 rowPage
		rows := "/api/v1/uploads/" + up.ID + "/rows?limit=2"
		e.do(http.MethodGet, rows, admin, nil, &r1).expect(t, http.StatusOK)
		if len(r1.Rows) != 2 || r1.Next == nil {
			t.Fatalf("rows page 1 = %+v", r1)
		}
		e.do(http.MethodGet, rows+"&cursor="+*r1.Next, admin, nil, &r2).expect(t, http.StatusOK)
		if len(r2.Rows) != 1 || r2.Next != nil || r2.Rows[0].RowNumber <= r1.Rows[1].RowNumber {
			t.Errorf("rows page 2 = %+v", r2)
		}
		var r3 rowPage
		e.do(http.MethodGet, "/api/v1/uploads/"+up.ID+"/rows?limit=3", admin, nil, &r3).expect(t, http.StatusOK)
		if len(r3.Rows) != 3 || r3.Next != nil {
			t.Errorf("a full last page of rows hands out next: %+v", r3)
		}
		e.do(http.MethodGet, rows+"&cursor=abc", admin, nil, nil).expect(t, http.StatusUnprocessableEntity)
	})
}
