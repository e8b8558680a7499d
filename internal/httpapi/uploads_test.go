package httpapi_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/upload"
)

const sampleCSV = "firstName,lastName,phone,email,userName,password\r\n" +
	"Asha,Rao,9876500001,asha.upload@example.org,asha_r,Upl0adPass1\r\n" +
	",NoName,,bad-email,bad_u,Upl0adPass2\r\n" +
	"Dup,User,,admin-a@example.org,dup_u,Upl0adPass3\r\n"

// postUpload sends the multipart form the web console sends.
func (e *env) postUpload(token string, fields map[string]string, fileName, content string, out any) *response {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if fileName != "" {
		fw, _ := mw.CreateFormFile("file", fileName)
		_, _ = fw.Write([]byte(content))
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/uploads", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req, out)
}

type uploadBody struct {
	upload.Upload
	Rows []upload.RowResult
}

func TestUploadOverHTTP(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		admin, adminB := e.login("adminA"), e.login("adminB")

		// Dry run: every row's result, nothing created.
		var dry uploadBody
		e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID, "dryRun": "true"}, "users.csv", sampleCSV, &dry).
			expect(t, http.StatusOK)
		if !dry.DryRun || dry.Total != 3 || dry.Succeeded != 1 || dry.Failed != 2 || len(dry.Rows) != 3 {
			t.Fatalf("dry run = %+v", dry)
		}
		if dry.Rows[0].RowNumber != 2 || dry.Rows[0].Status != upload.RowValid || len(dry.Rows[1].Errors) < 2 {
			t.Errorf("dry-run rows = %+v", dry.Rows)
		}
		e.do(http.MethodPost, "/api/v1/users/lookup", admin, map[string]string{"type": "username", "value": "asha_r"}, nil).
			expect(t, http.StatusNotFound)

		// Real upload: 202 at once, then poll to completion.
		var up uploadBody
		e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID}, "users.csv", sampleCSV, &up).expect(t, http.StatusAccepted)
		if up.ID == "" || up.Status != upload.StatusNew {
			t.Fatalf("submitted = %+v", up.Upload)
		}
		deadline := time.Now().Add(60 * time.Second)
		for up.Status != upload.StatusCompleted {
			if up.Status == upload.StatusFailed || time.Now().After(deadline) {
				t.Fatalf("upload ended as %+v", up.Upload)
			}
			time.Sleep(50 * time.Millisecond)
			e.do(http.MethodGet, "/api/v1/uploads/"+up.ID, admin, nil, &up).expect(t, http.StatusOK)
		}
		if up.Succeeded != 1 || up.Failed != 2 || up.Processed != 3 {
			t.Errorf("counts = %+v", up.Upload)
		}
		var failed struct{ Rows []upload.RowResult }
		e.do(http.MethodGet, "/api/v1/uploads/"+up.ID+"/rows?status=failed", admin, nil, &failed).expect(t, http.StatusOK)
		if len(failed.Rows) != 2 || failed.Rows[1].RowNumber != 4 || !strings.Contains(upload.JoinErrors(failed.Rows[1].Errors), "already") {
			t.Errorf("failed rows = %+v", failed.Rows)
		}
		e.do(http.MethodPost, "/api/v1/users/lookup", admin, map[string]string{"type": "username", "value": "asha_r"}, nil).
			expect(t, http.StatusOK)

		res := e.do(http.MethodGet, "/api/v1/uploads/"+up.ID+"/result.csv", admin, nil, nil).expect(t, http.StatusOK)
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !res.contains("status,errors") ||
			!res.contains("CREATED") || res.contains("Upl0adPass") {
			t.Errorf("result CSV = %q", res.body)
		}
		var list struct{ Uploads []upload.Upload }
		e.do(http.MethodGet, "/api/v1/uploads?orgId="+e.schoolA.ID, admin, nil, &list).expect(t, http.StatusOK)
		if len(list.Uploads) != 2 || list.Uploads[0].ID != up.ID {
			t.Errorf("uploads = %+v", list.Uploads)
		}
		res = e.do(http.MethodGet, "/api/v1/uploads/template.csv", admin, nil, nil).expect(t, http.StatusOK)
		if !res.contains("firstName,lastName,phone,email,userName,password,provider") {
			t.Errorf("template = %q", res.body)
		}

		// Other tenants see nothing and cannot upload here.
		e.do(http.MethodGet, "/api/v1/uploads/"+up.ID, adminB, nil, nil).expect(t, http.StatusNotFound)
		e.do(http.MethodGet, "/api/v1/uploads/"+up.ID+"/result.csv", adminB, nil, nil).expect(t, http.StatusNotFound)
		e.do(http.MethodGet, "/api/v1/uploads?orgId="+e.schoolA.ID, adminB, nil, nil).expect(t, http.StatusForbidden)
		e.postUpload(adminB, map[string]string{"orgId": e.schoolA.ID}, "users.csv", sampleCSV, nil).expect(t, http.StatusForbidden)
		e.createUser(e.stateA.ID, "plainUser", "plain@example.org", roster.RolePublic)
		e.postUpload(e.login("plainUser"), map[string]string{"orgId": e.schoolA.ID}, "users.csv", sampleCSV, nil).expect(t, http.StatusForbidden)

		// Form and file-level problems.
		p := e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID}, "", "", nil).expect(t, http.StatusUnprocessableEntity).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.file" {
			t.Errorf("missing file problem = %+v", p)
		}
		e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID}, "users.csv", "shoeSize\r\n42\r\n", nil).expect(t, http.StatusUnprocessableEntity)
		e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID}, "users.csv", strings.Repeat("x", 10<<20+1), nil).
			expect(t, http.StatusRequestEntityTooLarge)

		logs := e.logs.String()
		for _, secret := range []string{"Upl0adPass", "asha.upload@example.org", "9876500001"} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs contain %q", secret)
			}
		}
	})
}
