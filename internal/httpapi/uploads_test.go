package httpapi_test

import (
	"bytes"
	"context"
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
	return e.postUploadTo("/api/v1/uploads", token, fields, fileName, content, out)
}

// postUploadTo sends the form to path, which may carry a query string.
func (e *env) postUploadTo(path, token string, fields map[string]string, fileName, content string, out any) *response {
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
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req, out)
}

type uploadBody struct {
	roster.Upload
	Rows []roster.UploadRow
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
		if dry.Rows[0].RowNumber != 2 || dry.Rows[0].Status != roster.UploadRowValid || len(dry.Rows[1].Errors) < 2 {
			t.Errorf("dry-run rows = %+v", dry.Rows)
		}
		e.do(http.MethodPost, "/api/v1/users/lookup", admin, map[string]string{"type": "username", "value": "asha_r"}, nil).
			expect(t, http.StatusNotFound)

		// Real upload: 202 at once, then poll to completion.
		var up uploadBody
		e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID}, "users.csv", sampleCSV, &up).expect(t, http.StatusAccepted)
		if up.ID == "" || up.Status != roster.UploadNew {
			t.Fatalf("submitted = %+v", up.Upload)
		}
		deadline := time.Now().Add(60 * time.Second)
		for up.Status != roster.UploadCompleted {
			if up.Status == roster.UploadFailed || time.Now().After(deadline) {
				t.Fatalf("upload ended as %+v", up.Upload)
			}
			time.Sleep(50 * time.Millisecond)
			e.do(http.MethodGet, "/api/v1/uploads/"+up.ID, admin, nil, &up).expect(t, http.StatusOK)
		}
		if up.Succeeded != 1 || up.Failed != 2 || up.Processed != 3 {
			t.Errorf("counts = %+v", up.Upload)
		}
		var failed struct{ Rows []roster.UploadRow }
		e.do(http.MethodGet, "/api/v1/uploads/"+up.ID+"/rows?status=failed", admin, nil, &failed).expect(t, http.StatusOK)
		if len(failed.Rows) != 2 || failed.Rows[1].RowNumber != 4 || !strings.Contains(upload.JoinErrors(failed.Rows[1].Errors), "already") {
			t.Errorf("failed rows = %+v", failed.Rows)
		}
		e.do(http.MethodPost, "/api/v1/users/lookup", admin, map[string]string{"type": "username", "value": "asha_r"}, nil).
			expect(t, http.StatusOK)

		res := e.do(http.MethodGet, "/api/v1/uploads/"+up.ID+"/result.csv", admin, nil, nil).expect(t, http.StatusOK)
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !res.contains("password,result,errors") ||
			!res.contains("CREATED") || res.contains("Upl0adPass") {
			t.Errorf("result CSV = %q", res.body)
		}
		var list struct{ Uploads []roster.Upload }
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

// dryRun works in the query string as well as in the form: a client that
// puts it in the URL must never create users by accident. The organisation
// can be named by provider (the tenant's channel) and its external id.
func TestUploadDryRunInQueryAndOrgByExternalID(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		admin := e.login("adminA")
		countUsers := func() int {
			var n int
			if err := db.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		users := countUsers()

		for _, path := range []string{"/api/v1/uploads?dryRun=true", "/api/v1/uploads?dryRun=TRUE"} {
			var dry uploadBody
			e.postUploadTo(path, admin, map[string]string{"orgId": e.schoolA.ID}, "users.csv", sampleCSV, &dry).
				expect(t, http.StatusOK)
			if !dry.DryRun || dry.Status != roster.UploadCompleted || dry.Total != 3 || len(dry.Rows) != 3 ||
				dry.Rows[0].Status != roster.UploadRowValid {
				t.Fatalf("%s: %+v", path, dry)
			}
		}
		e.postUploadTo("/api/v1/uploads?dryRun=maybe", admin, map[string]string{"orgId": e.schoolA.ID}, "users.csv", sampleCSV, nil).
			expect(t, http.StatusUnprocessableEntity)
		if n := countUsers(); n != users {
			t.Fatalf("dry runs created %d users", n-users)
		}
		var jobs int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'upload_users'`).Scan(&jobs); err != nil || jobs != 0 {
			t.Fatalf("dry runs enqueued %d jobs (%v)", jobs, err)
		}
		e.do(http.MethodPost, "/api/v1/users/lookup", admin, map[string]string{"type": "username", "value": "asha_r"}, nil).
			expect(t, http.StatusNotFound)

		// The organisation by provider + external id, dry run and real.
		byExtID := map[string]string{"provider": "TN", "externalId": "sch-1"}
		var dry uploadBody
		e.postUploadTo("/api/v1/uploads?dryRun=true", admin, byExtID, "users.csv", sampleCSV, &dry).expect(t, http.StatusOK)
		if dry.OrgID != e.schoolA.ID || !dry.DryRun {
			t.Fatalf("dry run by external id: %+v", dry.Upload)
		}
		var up uploadBody
		e.postUpload(admin, byExtID, "users.csv", sampleCSV, &up).expect(t, http.StatusAccepted)
		if up.OrgID != e.schoolA.ID || up.DryRun {
			t.Fatalf("upload by external id: %+v", up.Upload)
		}
		for deadline := time.Now().Add(60 * time.Second); up.Status != roster.UploadCompleted; {
			if up.Status == roster.UploadFailed || time.Now().After(deadline) {
				t.Fatalf("upload ended as %+v", up.Upload)
			}
			time.Sleep(50 * time.Millisecond)
			e.do(http.MethodGet, "/api/v1/uploads/"+up.ID, admin, nil, &up).expect(t, http.StatusOK)
		}
		var created struct {
			ID          string
			Memberships []roster.Membership `json:"organisations"`
		}
		e.do(http.MethodPost, "/api/v1/users/lookup", admin, map[string]string{"type": "username", "value": "asha_r"}, &created).
			expect(t, http.StatusOK)
		if len(created.Memberships) != 1 || created.Memberships[0].OrganisationID != e.schoolA.ID {
			t.Fatalf("memberships %+v", created.Memberships)
		}
		e.postUpload(admin, map[string]string{"provider": "AP", "externalId": "sch-1"}, "users.csv", sampleCSV, nil).
			expect(t, http.StatusNotFound)

		// The query parameter is in the OpenAPI document.
		var doc struct {
			Paths map[string]map[string]struct {
				Parameters []struct{ Name, In string }
			}
		}
		e.do(http.MethodGet, "/openapi.json", "", nil, &doc).expect(t, http.StatusOK)
		found := false
		for _, p := range doc.Paths["/api/v1/uploads"]["post"].Parameters {
			found = found || (p.Name == "dryRun" && p.In == "query")
		}
		if !found {
			t.Errorf("POST /api/v1/uploads parameters: %+v", doc.Paths["/api/v1/uploads"]["post"].Parameters)
		}
	})
}

// An update over HTTP: the dry run answers each row's action and changes
// (contacts masked) and the threshold; past the threshold the upload is
// refused on confirm until confirm=true.
func TestUpdateUploadOverHTTP(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		admin := e.login("adminA")
		e.createUser(e.schoolA.ID, "teacherOne", "one@example.org")
		e.createUser(e.schoolA.ID, "teacherTwo", "two@example.org")
		file := "userName,lastName,email\r\nteacherOne,Rao,new.one@example.org\r\nteacherTwo,#clear,\r\n"
		var dry uploadBody
		e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID, "dryRun": "true", "mode": "update"}, "u.csv", file, &dry).
			expect(t, http.StatusOK)
		if dry.Mode != roster.UploadModeUpdate || dry.Failed != 0 || len(dry.Rows) != 2 || dry.Threshold == nil || !dry.Threshold.Exceeded || dry.Threshold.Changed != 2 {
			t.Fatalf("dry run %+v", dry)
		}
		want := []roster.FieldChange{{Field: "lastName", Old: "teacherOne", New: "Rao"}, {Field: "email", Old: "on*@example.org", New: "ne*****@example.org"}}
		if got := dry.Rows[0].Changes; len(got) != 2 || got[0] != want[0] || got[1] != want[1] || dry.Rows[0].Action != roster.RowActionUpdate {
			t.Fatalf("row 2 %+v", dry.Rows[0])
		}
		p := e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID, "mode": "update"}, "u.csv", file, nil).
			expect(t, http.StatusUnprocessableEntity).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.confirm" || !strings.Contains(p.Errors[0].Message, "2 of the organisation's 2 users (100%)") {
			t.Fatalf("refusal %+v", p)
		}
		var up uploadBody
		e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID, "mode": "update", "confirm": "true"}, "u.csv", file, &up).
			expect(t, http.StatusAccepted)
		if !up.Confirmed || up.Mode != roster.UploadModeUpdate {
			t.Fatalf("accepted %+v", up.Upload)
		}
		e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID, "mode": "replace"}, "u.csv", file, nil).
			expect(t, http.StatusUnprocessableEntity)
	})
}
