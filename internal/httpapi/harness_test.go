package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/httpapi"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/testkit"
	"github.com/roster-dev/roster/internal/upload"
)

// env is a running API over a fresh database with two state tenants, a
// school in state A and an org admin for each state.
type env struct {
	t              *testing.T
	db             store.Engine
	reg            *registry.Service
	auth           *auth.Authenticator
	api            *httpapi.Server
	srv            *httptest.Server
	logs           *testkit.LockedBuffer
	stateA, stateB *roster.Organisation
	schoolA        *roster.Organisation
	signUp         *signUpKit // withSignUp
}

// envSetup is what options may change before the server is built.
type envSetup struct {
	t    *testing.T
	db   store.Engine
	keys *pii.Keyring
	reg  *registry.Service
	auth *auth.Authenticator
	cfg  *httpapi.Config
	// signUp is built by withSignUp.
	signUp *signUpKit
}

type envOption func(*envSetup)

// withOIDC makes the server accept tokens of idp for client "roster",
// mapping subjects through external identities of provider "tn-sso".
func withOIDC(issuer string) envOption {
	return func(s *envSetup) {
		o, err := auth.NewOIDC(auth.OIDCConfig{Issuer: issuer, ClientID: "roster", Provider: "tn-sso"},
			func(ctx context.Context, q auth.Lookup) (string, error) {
				u, err := s.reg.FindUser(ctx, roster.SystemPrincipal, registry.LookupQuery(q))
				if err != nil {
					return "", err
				}
				return u.ID, nil
			})
		if err != nil {
			s.t.Fatal(err)
		}
		s.auth.OIDC = o
	}
}

// withJobs adds the report and upload services with running job workers.
func withJobs(s *envSetup) {
	ctx := context.Background()
	if err := jobs.Migrate(ctx, s.db); err != nil {
		s.t.Fatal(err)
	}
	rs, err := report.New(s.db, s.keys, report.Config{Dir: s.t.TempDir()})
	if err != nil {
		s.t.Fatal(err)
	}
	us := upload.New(s.db, s.keys, s.reg)
	workers := river.NewWorkers()
	rs.Register(workers)
	us.Register(workers)
	q, err := jobs.New(s.db, workers, jobs.Config{PollInterval: 50 * time.Millisecond})
	if err != nil {
		s.t.Fatal(err)
	}
	rs.UseQueue(q)
	us.UseQueue(q)
	if err := q.Start(ctx); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
	s.cfg.Reports = rs
	s.cfg.Uploads = us
}

func randomKey() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

func newEnv(t *testing.T, db store.Engine, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	keys, err := pii.NewKeyring(randomKey(), pii.Key{ID: "k1", Key: randomKey()})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(db, keys)
	reg.HashPassword = testkit.CheapHash
	if _, err := reg.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(randomKey(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a := &auth.Authenticator{Tokens: tokens, Registry: reg}
	logs := &testkit.LockedBuffer{}
	cfg := httpapi.Config{
		Registry: reg,
		Courses:  course.New(db),
		Auth:     a,
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Ready:    func(ctx context.Context) error { _, err := db.Exec(ctx, "SELECT 1"); return err },
		Version:  "test",
	}
	setup := &envSetup{t: t, db: db, keys: keys, reg: reg, auth: a, cfg: &cfg}
	for _, o := range opts {
		o(setup)
	}
	api := httpapi.New(cfg)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, reg: reg, auth: a, api: api, srv: srv, logs: logs, signUp: setup.signUp}

	sys := roster.SystemPrincipal
	if e.stateA, err = reg.CreateOrg(ctx, sys, roster.Organisation{Name: "Tamil Nadu", Channel: "TN", IsTenant: true}); err != nil {
		t.Fatal(err)
	}
	if e.stateB, err = reg.CreateOrg(ctx, sys, roster.Organisation{Name: "Andhra Pradesh", Channel: "AP", IsTenant: true}); err != nil {
		t.Fatal(err)
	}
	if e.schoolA, err = reg.CreateOrg(ctx, sys, roster.Organisation{Name: "School A", RootOrgID: e.stateA.ID, ExternalID: "sch-1"}); err != nil {
		t.Fatal(err)
	}
	e.createUser(e.stateA.ID, "adminA", "admin-a@example.org", roster.RoleOrgAdmin)
	e.createUser(e.stateB.ID, "adminB", "admin-b@example.org", roster.RoleOrgAdmin)
	return e
}

const testPassword = "Passw0rd!"

// createUser makes a user directly through the registry.
func (e *env) createUser(orgID, username, email string, roles ...string) *registry.UserView {
	e.t.Helper()
	u, err := e.reg.CreateUser(context.Background(), roster.SystemPrincipal, registry.NewUser{
		User:     roster.User{FirstName: "Test", LastName: username, Username: username, Email: email},
		Password: testPassword,
		OrgID:    orgID,
		Roles:    roles,
	})
	if err != nil {
		e.t.Fatalf("create %s: %v", username, err)
	}
	return u
}

// login returns a bearer token for a user created by createUser.
func (e *env) login(login string) string {
	e.t.Helper()
	return e.loginWith(login, testPassword)
}

func (e *env) loginWith(login, password string) string {
	e.t.Helper()
	var out struct{ Token string }
	res := e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": login, "password": password}, &out)
	if res.StatusCode != http.StatusOK || out.Token == "" {
		e.t.Fatalf("login %s: status %d", login, res.StatusCode)
	}
	return out.Token
}

// response is a finished request with its body kept for assertions.
type response struct {
	*http.Response
	body []byte
}

// problem is an RFC 9457 error body.
type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

func (r *response) problem(t *testing.T) problem {
	t.Helper()
	var p problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("not a problem body: %s", r.body)
	}
	return p
}

// do sends body as JSON (when not nil) with the token and decodes a 2xx
// answer into out (when not nil).
func (e *env) do(method, path, token string, body any, out any) *response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req, out)
}

func (e *env) send(req *http.Request, out any) *response {
	e.t.Helper()
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", req.Method, req.URL.Path, b, err)
		}
	}
	return &response{Response: res, body: b}
}

// expect fails the test unless the response has the wanted status.
func (r *response) expect(t *testing.T, status int) *response {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	return r
}

func (r *response) contains(s string) bool { return strings.Contains(string(r.body), s) }
