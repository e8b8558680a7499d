package sunbird

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/course/coursetest"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/store"
)

// lmsEnv is a course world behind the Sunbird layer: a tenant, a course
// of it with one batch, its creator, a learner and the report workers.
type lmsEnv struct {
	*coursetest.World
	t        *testing.T
	srv      *httptest.Server
	au       *auth.Authenticator
	reports  *report.Service
	creator  string // user ids
	learner  string
	stranger string // a learner of the other tenant
	course   *roster.Course
	batch    *roster.Batch
}

func newLMSEnv(t *testing.T, db store.Engine, kind string) *lmsEnv {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	e := &lmsEnv{World: coursetest.NewWorld(t, db), t: t}
	tok, err := auth.NewTokens([]byte(strings.Repeat("k", 32)), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.au = &auth.Authenticator{Tokens: tok, Registry: e.Reg}
	if e.reports, err = report.New(db, e.Keys, report.Config{Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	workers := river.NewWorkers()
	e.reports.Register(workers)
	q, err := jobs.New(db, workers, jobs.Config{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.reports.UseQueue(q)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })

	e.creator = e.User(t, registry.NewUser{OrgID: e.State.ID, Roles: []string{roster.RoleContentCreator}})
	e.learner = e.User(t, registry.NewUser{User: roster.User{FirstName: "Asha", LastName: "Devi", Email: "asha@example.org"}, OrgID: e.State.ID})
	e.stranger = e.User(t, registry.NewUser{User: roster.User{FirstName: "Ravi"}, OrgID: e.Other.ID})
	if e.course, err = e.Courses.CreateCourse(ctx, e.Principal(t, e.creator), course.NewCourse{Name: "Fractions", RootOrgID: e.State.ID}); err != nil {
		t.Fatal(err)
	}
	if e.batch, err = e.Courses.CreateBatch(ctx, e.Principal(t, e.creator), course.NewBatch{CourseID: e.course.ID, Name: "Batch 1",
		StartDate: time.Now().AddDate(0, 0, -1)}); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Registry: e.Reg, Auth: e.au, Courses: e.Courses, Reports: e.reports, ExhaustKind: kind})
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *lmsEnv) token(userID string) string {
	e.t.Helper()
	tok, _, _, err := e.au.Reissue(context.Background(), userID)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// call sends a request as the portal's proxy does: the user's token in
// x-authenticated-user-token, the tenant in X-Channel-ID.
func (e *lmsEnv) call(method, path, userID string, body any, header ...string) (int, map[string]any, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, strings.TrimPrefix(path, e.srv.URL), rd)
	req.URL, _ = req.URL.Parse(e.srv.URL + strings.TrimPrefix(path, e.srv.URL))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", "req-1")
	if userID != "" {
		req.Header.Set("x-authenticated-user-token", e.token(userID))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out, raw
}

// dig walks a decoded JSON body by keys and indexes ("result.response.0.id").
func dig(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func wantField(t *testing.T, body map[string]any, path string, want any) {
	t.Helper()
	if got := dig(body, path); got != want {
		t.Errorf("%s = %#v, want %#v", path, got, want)
	}
}

func sbReq(body map[string]any) map[string]any { return map[string]any{"request": body} }
