package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// waitFor polls cond until it holds, failing the test after a generous
// deadline; the conditions are events, not durations.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A stop signal fails /readyz while requests are still answered, then
// closes the listener and lets a request that was already running finish.
func TestGracefulShutdown(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) { testGracefulShutdown(t, engine) })
	}
}

func testGracefulShutdown(t *testing.T, engine string) {
	logs := &testkit.LockedBuffer{}
	a, err := Open(context.Background(), Config{DataDir: t.TempDir(), DatabaseURL: storetest.URL(t, engine),
		LogOutput: logs, ShutdownDelay: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Registry.HashPassword = testkit.CheapHash

	// Hold shutdown where the delay would be, until the test has seen
	// /readyz fail.
	paused, resume := make(chan time.Duration, 1), make(chan struct{})
	shutdownPause = func(d time.Duration) {
		paused <- d
		<-resume
	}
	t.Cleanup(func() { shutdownPause = time.Sleep })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.ServeListener(ctx, ln) }()
	resumeOnce := sync.OnceFunc(func() { close(resume) })
	stopped := false
	defer func() {
		// On failure, let the server finish before the pause is restored
		// and the database closed.
		cancel()
		resumeOnce()
		if !stopped {
			select {
			case <-served:
			case <-time.After(30 * time.Second):
			}
		}
	}()

	// Probes use a connection each, as a load balancer's health checks do.
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		res, err := probe.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	waitFor(t, "/readyz 200", func() bool { code, _ := get("/readyz"); return code == http.StatusOK })

	sys := roster.SystemPrincipal
	tenant, err := a.Registry.CreateOrg(ctx, sys, roster.Organisation{Name: "Tamil Nadu", Channel: "TN", IsTenant: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Registry.CreateUser(ctx, sys, registry.NewUser{
		User:     roster.User{FirstName: "Priya", Username: "priya.admin", Email: "priya@example.org"},
		Password: "Adm1n-pass", OrgID: tenant.ID, Roles: []string{roster.RoleOrgAdmin},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := probe.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"login":"priya.admin","password":"Adm1n-pass"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	_ = json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	if login.Token == "" {
		t.Fatalf("login: status %d", res.StatusCode)
	}

	// The held request: a dry-run upload whose body arrives in two parts,
	// the second only after shutdown has begun.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("orgId", tenant.ID)
	_ = mw.WriteField("dryRun", "true")
	fw, _ := mw.CreateFormFile("file", "users.csv")
	_, _ = io.WriteString(fw, "firstName,lastName,phone,email,userName,password\r\nAsha,Rao,9876500001,asha@example.org,asha_r,Upl0adPass1\r\n")
	mw.Close()
	body, rest := form.Bytes()[:form.Len()/2], form.Bytes()[form.Len()/2:]
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/uploads", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+login.Token)
	type result struct {
		status int
		body   string
		err    error
	}
	held := make(chan result, 1)
	go func() {
		res, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			held <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		held <- result{res.StatusCode, string(b), err}
	}()
	if _, err := pw.Write(body); err != nil {
		t.Fatal(err)
	}
	// The server is inside the upload handler once two requests are in
	// flight: the upload and the metrics scrape itself.
	waitFor(t, "the upload in flight", func() bool {
		_, m := get("/metrics")
		return strings.Contains(m, "\nroster_http_requests_in_flight 2\n")
	})

	cancel()
	select {
	case d := <-paused:
		if d != time.Minute {
			t.Errorf("paused for %v, want the configured minute", d)
		}
	case err := <-served:
		stopped = true
		t.Fatalf("ServeListener returned %v without pausing", err)
	case <-time.After(30 * time.Second):
		t.Fatal("shutdown did not start")
	}
	// Still listening, no longer ready: the load balancer's cue.
	if code, text := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during shutdown = %d %q, want 503", code, text)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz during shutdown = %d", code)
	}
	resumeOnce()

	// The listener closes, but the held request keeps the server running.
	waitFor(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-served:
		stopped = true
		t.Fatalf("ServeListener returned %v with a request still running", err)
	case r := <-held:
		t.Fatalf("held request ended early: %d %s %v", r.status, r.body, r.err)
	default:
	}

	if _, err := pw.Write(rest); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	select {
	case r := <-held:
		if r.err != nil || r.status != http.StatusOK || !strings.Contains(r.body, `"dryRun":true`) {
			t.Errorf("held request = %d %s %v; want 200 with the dry run", r.status, r.body, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("held request did not finish")
	}
	select {
	case err := <-served:
		stopped = true
		if err != nil {
			t.Errorf("ServeListener = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ServeListener did not return")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}
}
