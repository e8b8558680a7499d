package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/zipcrypt"
)

func TestReportRequestAndDownload(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		e.createUser(e.stateA.ID, "creator", "creator@example.org", roster.RoleContentCreator)
		e.createUser(e.stateA.ID, "creatorTwo", "creator2@example.org", roster.RoleContentCreator)
		learnerUser := e.createUser(e.stateA.ID, "learner", "learner@example.org")
		creator, creator2, learner := e.login("creator"), e.login("creatorTwo"), e.login("learner")

		var c roster.Course
		e.do(http.MethodPost, "/api/v1/courses", creator, map[string]any{"name": "Fractions"}, &c).expect(t, http.StatusCreated)
		var b roster.Batch
		e.do(http.MethodPost, "/api/v1/courses/"+c.ID+"/batches", creator,
			map[string]any{"name": "Batch 1", "startDate": time.Now().UTC().Format(time.DateOnly)}, &b).expect(t, http.StatusCreated)
		e.do(http.MethodPut, "/api/v1/batches/"+b.ID+"/participants/"+learnerUser.ID, learner, nil, nil).expect(t, http.StatusOK)
		e.do(http.MethodPost, "/api/v1/courses/"+c.ID+"/consent", learner, map[string]any{"status": "ACTIVE"}, nil).expect(t, http.StatusCreated)

		const pw = "Zip-pass-2024"
		body := map[string]any{"courseId": c.ID, "batchId": b.ID, "password": pw}
		// Only the course creator may ask.
		e.do(http.MethodPost, "/api/v1/reports", learner, body, nil).expect(t, http.StatusForbidden)
		e.do(http.MethodPost, "/api/v1/reports", creator2, body, nil).expect(t, http.StatusForbidden)
		res := e.do(http.MethodPost, "/api/v1/reports", creator, map[string]any{"courseId": c.ID, "batchId": b.ID, "password": "short"}, nil).
			expect(t, http.StatusUnprocessableEntity)
		if p := res.problem(t); len(p.Errors) == 0 || p.Errors[0].Location != "body.password" {
			t.Errorf("weak password problem = %+v", p)
		}

		var req report.Request
		res = e.do(http.MethodPost, "/api/v1/reports", creator, body, &req)
		if res.StatusCode != http.StatusAccepted && res.StatusCode != http.StatusOK {
			t.Fatalf("request: %d %s", res.StatusCode, res.body)
		}
		deadline := time.Now().Add(60 * time.Second)
		for req.Status != roster.ReportSuccess {
			if req.Status == roster.ReportFailed || time.Now().After(deadline) {
				t.Fatalf("report ended as %+v", req.ReportRequest)
			}
			time.Sleep(50 * time.Millisecond)
			e.do(http.MethodGet, "/api/v1/reports/"+req.ID, creator, nil, &req).expect(t, http.StatusOK)
		}
		if req.Download == nil || req.TotalRows != 1 || req.ConsentedRows != 1 {
			t.Fatalf("finished report = %+v", req)
		}
		var list struct{ Reports []report.Request }
		e.do(http.MethodGet, "/api/v1/reports?courseId="+c.ID, creator, nil, &list).expect(t, http.StatusOK)
		if len(list.Reports) != 1 || list.Reports[0].ID != req.ID {
			t.Errorf("listed reports = %+v", list.Reports)
		}
		e.do(http.MethodGet, "/api/v1/reports?courseId=do_other", creator, nil, &list).expect(t, http.StatusOK)
		if len(list.Reports) != 0 {
			t.Errorf("course filter ignored: %+v", list.Reports)
		}
		e.do(http.MethodGet, "/api/v1/reports/"+req.ID, creator2, nil, nil).expect(t, http.StatusForbidden)

		var link report.Link
		e.do(http.MethodPost, "/api/v1/reports/"+req.ID+"/link", creator, nil, &link).expect(t, http.StatusOK)
		if !strings.HasPrefix(link.URL, "/api/v1/reports/download?token=") {
			t.Fatalf("link = %+v", link)
		}
		// The link works only for the user it was issued to.
		e.do(http.MethodGet, link.URL, creator2, nil, nil).expect(t, http.StatusForbidden)
		e.do(http.MethodGet, link.URL, "", nil, nil).expect(t, http.StatusUnauthorized)
		if res := e.do(http.MethodGet, link.URL+"x", creator, nil, nil); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("tampered link: %d", res.StatusCode)
		}

		res = e.do(http.MethodGet, link.URL, creator, nil, nil).expect(t, http.StatusOK)
		if res.Header.Get("Content-Type") != "application/zip" || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("download headers = %v", res.Header)
		}
		zr, err := zipcrypt.OpenReader(bytes.NewReader(res.body), int64(len(res.body)), pw)
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.Files) != 1 {
			t.Fatalf("zip has %d files", len(zr.Files))
		}
		rc, err := zr.Files[0].Open()
		if err != nil {
			t.Fatal(err)
		}
		csv, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(csv), "Collection Id") || !strings.Contains(string(csv), "learner@example.org") {
			t.Errorf("report CSV = %q", csv)
		}
		if wr, err := zipcrypt.OpenReader(bytes.NewReader(res.body), int64(len(res.body)), "wrong-pass-1"); err == nil {
			if rc, err := wr.Files[0].Open(); err == nil {
				if _, err := io.ReadAll(rc); err == nil {
					t.Error("the archive opened with a wrong password")
				}
				rc.Close()
			}
		}

		// Neither the archive password nor a download token reaches the logs.
		logs := e.logs.String()
		for _, secret := range []string{pw, link.Token, "learner@example.org"} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs contain %q", secret)
			}
		}
	})
}

// The course filter of GET /reports applies before the page limit.
func TestReportListCourseFilter(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		creatorUser := e.createUser(e.stateA.ID, "creator", "creator@example.org", roster.RoleContentCreator)
		creator := e.login("creator")
		var c1, c2 roster.Course
		e.do(http.MethodPost, "/api/v1/courses", creator, map[string]any{"name": "Fractions"}, &c1).expect(t, http.StatusCreated)
		e.do(http.MethodPost, "/api/v1/courses", creator, map[string]any{"name": "Decimals"}, &c2).expect(t, http.StatusCreated)
		ctx := context.Background()
		at := roster.Now().Add(-time.Hour)
		insert := func(courseID string) string {
			// FAILED requests: not pending, so any number may exist.
			r := &roster.ReportRequest{ID: roster.NewID(), Kind: roster.ReportUserProfileExhaust, Format: roster.ReportCSV, CourseID: courseID, RequestedBy: creatorUser.ID,
				Status: roster.ReportFailed, Failure: "test", RequestedAt: at}
			if err := store.InsertReportRequest(ctx, db, r, nil); err != nil {
				t.Fatal(err)
			}
			at = at.Add(time.Second)
			return r.ID
		}
		old := insert(c1.ID)
		for range 55 {
			insert(c2.ID)
		}
		var list struct{ Reports []report.Request }
		e.do(http.MethodGet, "/api/v1/reports?courseId="+c1.ID, creator, nil, &list).expect(t, http.StatusOK)
		if len(list.Reports) != 1 || list.Reports[0].ID != old || list.Reports[0].CourseName != "Fractions" {
			t.Fatalf("course 1's requests = %+v", list.Reports)
		}
		e.do(http.MethodGet, "/api/v1/reports", creator, nil, &list).expect(t, http.StatusOK)
		if len(list.Reports) != 50 || list.Reports[0].CourseID != c2.ID || list.Reports[49].CourseID != c2.ID {
			t.Fatalf("unfiltered page = %d requests", len(list.Reports))
		}
		e.do(http.MethodGet, "/api/v1/reports?courseId="+c2.ID+"&limit=200", creator, nil, &list).expect(t, http.StatusOK)
		if len(list.Reports) != 55 {
			t.Fatalf("course 2's requests = %d, want 55", len(list.Reports))
		}
	})
}

func TestReportPolicyEndpoints(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		e.createUser(e.stateA.ID, "creator", "creator@example.org", roster.RoleContentCreator)
		e.createUser(e.stateA.ID, "learner", "learner@example.org")
		admin, adminB, creator, learner := e.login("adminA"), e.login("adminB"), e.login("creator"), e.login("learner")
		path := "/api/v1/organisations/" + e.stateA.ID + "/report-policy"
		all := report.Share{UserName: true, ExternalID: true, Phone: true, Email: true}

		var v report.PolicyView
		e.do(http.MethodGet, path, creator, nil, &v).expect(t, http.StatusOK)
		if v.Preset != report.PresetDefault || v.RootOrgID != e.stateA.ID || v.SSU != all || v.SSO != all || v.UpdatedBy != "" {
			t.Fatalf("policy before any change = %+v", v)
		}

		// Only the tenant's own admins change it.
		seed := map[string]any{"preset": "seed"}
		e.do(http.MethodPut, path, creator, seed, nil).expect(t, http.StatusForbidden)
		e.do(http.MethodPut, path, adminB, seed, nil).expect(t, http.StatusForbidden)
		e.do(http.MethodGet, path, learner, nil, nil).expect(t, http.StatusForbidden)
		e.do(http.MethodGet, path, "", nil, nil).expect(t, http.StatusUnauthorized)

		v = report.PolicyView{}
		e.do(http.MethodPut, path, admin, seed, &v).expect(t, http.StatusOK)
		if v.Preset != report.PresetSeed || v.SSU != (report.Share{}) || v.SSO != (report.Share{UserName: true, ExternalID: true}) ||
			v.UpdatedBy == "" || v.UpdatedDate == nil {
			t.Fatalf("after preset = %+v", v)
		}
		var got report.PolicyView
		e.do(http.MethodGet, path, creator, nil, &got).expect(t, http.StatusOK)
		if got.Preset != report.PresetSeed || got.SSO != v.SSO || got.UpdatedBy != v.UpdatedBy {
			t.Fatalf("creator reads %+v, admin set %+v", got, v)
		}

		explicit := map[string]any{
			"selfSignedUp":   map[string]bool{"email": true},
			"stateValidated": map[string]bool{"userName": true, "phone": true},
		}
		v = report.PolicyView{}
		e.do(http.MethodPut, path, admin, explicit, &v).expect(t, http.StatusOK)
		if v.Preset != "custom" || v.SSU != (report.Share{Email: true}) || v.SSO != (report.Share{UserName: true, Phone: true}) {
			t.Fatalf("after explicit fields = %+v", v)
		}
		got = report.PolicyView{}
		e.do(http.MethodGet, path, creator, nil, &got).expect(t, http.StatusOK)
		if got.Preset != "custom" || got.SSU != v.SSU || got.SSO != v.SSO {
			t.Fatalf("creator reads %+v", got)
		}

		// A preset and explicit fields together, neither, or only half of
		// the fields are refused and change nothing.
		for name, body := range map[string]any{
			"both":    map[string]any{"preset": "default", "selfSignedUp": map[string]bool{}, "stateValidated": map[string]bool{}},
			"neither": map[string]any{},
			"half":    map[string]any{"selfSignedUp": map[string]bool{"email": true}},
			"unknown": map[string]any{"preset": "everything"},
		} {
			if res := e.do(http.MethodPut, path, admin, body, nil); res.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422; %s", name, res.StatusCode, res.body)
			}
		}
		got = report.PolicyView{}
		e.do(http.MethodGet, path, admin, nil, &got).expect(t, http.StatusOK)
		if got.Preset != "custom" || got.SSU != v.SSU || got.SSO != v.SSO {
			t.Fatalf("refused changes altered the policy: %+v", got)
		}

		// Only tenants have a policy.
		e.do(http.MethodGet, "/api/v1/organisations/"+e.schoolA.ID+"/report-policy", admin, nil, nil).expect(t, http.StatusNotFound)
		e.do(http.MethodPut, "/api/v1/organisations/missing/report-policy", admin, seed, nil).expect(t, http.StatusNotFound)
	})
}

func TestReportKindAndFormatInAPI(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"), withJobs)
	e.createUser(e.stateA.ID, "creator", "creator@example.org", roster.RoleContentCreator)
	creator := e.login("creator")
	var c roster.Course
	e.do(http.MethodPost, "/api/v1/courses", creator, map[string]any{"name": "Fractions"}, &c).expect(t, http.StatusCreated)

	// Without kind and format a request is the exhaust as CSV, as before.
	var req report.Request
	e.do(http.MethodPost, "/api/v1/reports", creator, map[string]any{"courseId": c.ID, "password": "Zip-pass-2024"}, &req).
		expect(t, http.StatusAccepted)
	if req.Kind != roster.ReportUserProfileExhaust || req.Format != roster.ReportCSV {
		t.Fatalf("default request = %+v", req.ReportRequest)
	}
	var same report.Request
	e.do(http.MethodPost, "/api/v1/reports", creator, map[string]any{"kind": "user-profile-exhaust", "format": "csv",
		"courseId": c.ID, "password": "Zip-pass-2024"}, &same).expect(t, http.StatusOK)
	if !same.Existing || same.ID != req.ID {
		t.Fatalf("explicit kind and format = %+v; want the pending default request", same)
	}
	var got map[string]any
	e.do(http.MethodGet, "/api/v1/reports/"+req.ID, creator, nil, &got).expect(t, http.StatusOK)
	if got["kind"] != "user-profile-exhaust" || got["format"] != "csv" {
		t.Fatalf("report view = %v", got)
	}
	for field, body := range map[string]map[string]any{
		"body.kind":   {"kind": "progress", "courseId": c.ID, "password": "Zip-pass-2024"},
		"body.format": {"format": "pdf", "courseId": c.ID, "password": "Zip-pass-2024"},
	} {
		res := e.do(http.MethodPost, "/api/v1/reports", creator, body, nil).expect(t, http.StatusUnprocessableEntity)
		if p := res.problem(t); len(p.Errors) == 0 || p.Errors[0].Location != field {
			t.Errorf("%s problem = %+v", field, p)
		}
	}
}

// The request body's enums are written as struct tags; they must name
// exactly the kinds and formats the report package builds, first as the
// default.
func TestReportKindsInOpenAPI(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"), withJobs)
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					}
				}
			}
		}
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					// any: other schemas have integer enums.
					Enum    []any
					Default any
				}
			}
		}
	}
	e.do(http.MethodGet, "/openapi.json", "", nil, &doc).expect(t, http.StatusOK)
	ref := doc.Paths["/api/v1/reports"]["post"].RequestBody.Content["application/json"].Schema.Ref
	schema, ok := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	if !ok {
		t.Fatalf("request body schema %q not found", ref)
	}
	for prop, want := range map[string][]string{"kind": report.KindNames(), "format": report.FormatNames()} {
		p := schema.Properties[prop]
		if fmt.Sprint(p.Enum) != fmt.Sprint(want) || p.Default != want[0] {
			t.Errorf("%s: enum %v default %q; want %v default %q", prop, p.Enum, p.Default, want, want[0])
		}
	}
}
