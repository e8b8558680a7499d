package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// rosterCmd runs a command in-process and returns its stdout.
func rosterCmd(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut); code != 0 {
		t.Fatalf("roster %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

// clearEnv makes sure the developer's own ROSTER_* settings do not leak in.
func clearEnv(t *testing.T) {
	for _, name := range []string{"ROSTER_ADDR", "ROSTER_DATA_DIR", "ROSTER_DATABASE_URL", "ROSTER_PII_KEY",
		"ROSTER_PII_INDEX_KEY", "ROSTER_REPORT_LINK_KEY", "ROSTER_JWT_KEY", "ROSTER_OIDC_ISSUER", "ROSTER_OIDC_CLIENT_ID", "ROSTER_REPORT_DIR"} {
		t.Setenv(name, "")
	}
}

// A newcomer's path: zero configuration in an empty directory, first tenant
// and admin from the CLI, the service up, a login, a graceful stop on SIGTERM.
func TestServeFromScratch(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	serveFromScratch(t)
}

// The same on PostgreSQL, configured through the environment only.
func TestServeFromScratchPostgres(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	t.Setenv("ROSTER_DATABASE_URL", storetest.URL(t, "postgres"))
	serveFromScratch(t)
}

func serveFromScratch(t *testing.T) {
	out := rosterCmd(t, "", "org", "create", "--name", "Tamil Nadu", "--channel", "TN", "--tenant")
	m := regexp.MustCompile(`organisation (\S+) created`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("org create printed %q", out)
	}
	out = rosterCmd(t, "S3cret-pass\n", "user", "create", "--admin", "--org", m[1], "--username", "admin",
		"--email", "admin@example.org", "--password-stdin")
	if !strings.Contains(out, "username admin") || strings.Contains(out, "admin@example.org") {
		t.Fatalf("user create printed %q", out)
	}

	logs := &testkit.LockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, strings.NewReader(""), &bytes.Buffer{}, logs)
	}()
	addrRe := regexp.MustCompile(`"msg":"roster started","addr":"([^"]+)"`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if m := addrRe.FindStringSubmatch(logs.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", logs.String())
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d:\n%s", code, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}

	res, err := http.Get(base + "/readyz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()
	res, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"roster_jobs_scrape_ok 1", `roster_http_requests_total{method="GET",route="GET /readyz",status="200"} 1`, "go_goroutines"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	res, err = http.Post(base+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"login":"admin@example.org","password":"S3cret-pass"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	_ = json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || login.Token == "" {
		t.Fatalf("login: status %d", res.StatusCode)
	}

	// SIGTERM to ourselves: run's signal handler must catch it and stop
	// gracefully instead of the test process dying.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit code %d:\n%s", code, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in logs:\n%s", logs.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answering after shutdown")
	}
	for _, secret := range []string{"S3cret-pass", "admin@example.org", login.Token} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

func TestVersionAndBadConfig(t *testing.T) {
	clearEnv(t)
	if out := rosterCmd(t, "", "version"); !strings.HasPrefix(out, "roster ") {
		t.Errorf("version printed %q", out)
	}
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--oidc-issuer", "https://idp.example"},
		strings.NewReader(""), &bytes.Buffer{}, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "oidc-client-id") {
		t.Errorf("half an OIDC configuration: exit %d, %s", code, errOut.String())
	}
	code = run(context.Background(), []string{"user", "create", "--data-dir", t.TempDir(), "--username", "x"},
		strings.NewReader(""), &bytes.Buffer{}, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "password") {
		t.Errorf("user create without a password source: exit %d, %s", code, errOut.String())
	}
}
