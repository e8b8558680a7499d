package app

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// Stopping PostgreSQL under a running server turns /readyz and the API
// into 503 with Retry-After (never 500), and starting it again brings the
// same process back without a restart.
func TestDatabaseOutage(t *testing.T) {
	pg := storetest.PrivatePostgres(t)
	logs := &testkit.LockedBuffer{}
	a, err := Open(context.Background(), Config{DataDir: t.TempDir(), DatabaseURL: pg.URL, LogOutput: logs})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Registry.HashPassword = testkit.CheapHash
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.ServeListener(ctx, ln) }()
	defer func() {
		cancel()
		select {
		case <-served:
		case <-time.After(30 * time.Second):
		}
	}()

	client := &http.Client{Timeout: 20 * time.Second}
	type answer struct {
		status     int
		retryAfter string
		body       string
	}
	call := func(method, path, token, body string) answer {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			return answer{body: err.Error()}
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return answer{res.StatusCode, res.Header.Get("Retry-After"), string(b)}
	}
	waitFor(t, "/readyz 200", func() bool { return call("GET", "/readyz", "", "").status == http.StatusOK })

	tenant, err := a.Registry.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "Tamil Nadu", Channel: "TN", IsTenant: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Registry.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
		User:     roster.User{FirstName: "Priya", Username: "priya.admin", Email: "priya@example.org"},
		Password: "Adm1n-pass", OrgID: tenant.ID, Roles: []string{roster.RoleOrgAdmin},
	}); err != nil {
		t.Fatal(err)
	}
	const loginBody = `{"login":"priya.admin","password":"Adm1n-pass"}`
	var login struct{ Token string }
	if r := call("POST", "/api/v1/auth/login", "", loginBody); r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	} else {
		_ = json.Unmarshal([]byte(r.body), &login)
	}
	if r := call("GET", "/api/v1/me", login.Token, ""); r.status != http.StatusOK {
		t.Fatalf("/me before the outage: %d %s", r.status, r.body)
	}

	pg.Stop()
	unavailable := func(what string, r answer) {
		t.Helper()
		if r.status != http.StatusServiceUnavailable || r.retryAfter == "" {
			t.Errorf("%s with the database down = %d (Retry-After %q) %s; want 503 with Retry-After", what, r.status, r.retryAfter, r.body)
		}
		if strings.Contains(r.body, "127.0.0.1") || strings.Contains(r.body, "SQLSTATE") {
			t.Errorf("%s: driver details reach the caller: %s", what, r.body)
		}
	}
	if r := call("GET", "/readyz", "", ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down = %d %s, want 503", r.status, r.body)
	}
	unavailable("/me", call("GET", "/api/v1/me", login.Token, ""))
	unavailable("login", call("POST", "/api/v1/auth/login", "", loginBody))
	unavailable("create organisation", call("POST", "/api/v1/organisations", login.Token, `{"name":"Chennai school","rootOrgId":"`+tenant.ID+`"}`))
	if r := call("GET", "/healthz", "", ""); r.status != http.StatusOK {
		t.Errorf("/healthz with the database down = %d, want 200: the process itself is fine", r.status)
	}

	pg.Start()
	waitFor(t, "/readyz 200 after the database is back", func() bool { return call("GET", "/readyz", "", "").status == http.StatusOK })
	waitFor(t, "/me 200 after the database is back", func() bool { return call("GET", "/api/v1/me", login.Token, "").status == http.StatusOK })
	if r := call("POST", "/api/v1/auth/login", "", loginBody); r.status != http.StatusOK {
		t.Errorf("login after the outage: %d %s", r.status, r.body)
	}
	select {
	case err := <-served:
		t.Fatalf("the server stopped during the outage: %v", err)
	default:
	}
}
