package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// Every spelling of yes and no an operator may write turns a boolean on or
// off, from the environment and from the flag; ROSTER_SECURE_COOKIE=1 used
// to leave the Secure flag silently off.
func TestBooleansParsedStrictly(t *testing.T) {
	clearEnv(t)
	for value, want := range map[string]bool{
		"1": true, "TRUE": true, "true": true, "yes": true, "On": true,
		"0": false, "false": false, "No": false, "OFF": false,
	} {
		t.Setenv("ROSTER_SECURE_COOKIE", value)
		t.Setenv("ROSTER_OIDC_MAP_USERNAME", value)
		badEnv = nil
		g := &globals{}
		cmd := newServeCmd(g)
		if err := cmd.ParseFlags(nil); err != nil {
			t.Fatal(err)
		}
		if g.cfg.SecureCookie != want || g.cfg.OIDCMapUsername != want || len(badEnv) != 0 {
			t.Errorf("environment %q: secure cookie %v, map username %v (%v); want %v", value, g.cfg.SecureCookie, g.cfg.OIDCMapUsername, badEnv, want)
		}
	}
	t.Setenv("ROSTER_SECURE_COOKIE", "")
	t.Setenv("ROSTER_OIDC_MAP_USERNAME", "")
	for args, want := range map[string]bool{
		"--secure-cookie": true, "--secure-cookie=yes": true, "--secure-cookie=ON": true, "--secure-cookie=1": true,
		"--secure-cookie=no": false, "--secure-cookie=0": false,
	} {
		g := &globals{}
		cmd := newServeCmd(g)
		if err := cmd.ParseFlags([]string{args}); err != nil || g.cfg.SecureCookie != want {
			t.Errorf("%s: secure cookie %v, %v; want %v", args, g.cfg.SecureCookie, err, want)
		}
	}
	for _, args := range []string{"--secure-cookie=maybe", "--secure-cookie=t", "--secure-cookie=y"} {
		if err := newServeCmd(&globals{}).ParseFlags([]string{args}); err == nil {
			t.Errorf("%s accepted", args)
		}
	}
}

// Anything else stops the command, naming the variable; so does a
// boolean flag of any command.
func TestMalformedBooleanIsAnError(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	t.Setenv("ROSTER_SECURE_COOKIE", "enabled")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"migrate"}, strings.NewReader(""), &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "ROSTER_SECURE_COOKIE=enabled is not a boolean") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	t.Setenv("ROSTER_SECURE_COOKIE", "")
	errOut.Reset()
	code = run(context.Background(), []string{"org", "create", "--name", "X", "--tenant=sure"}, strings.NewReader(""), &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), `"sure" is not a boolean`) {
		t.Fatalf("--tenant=sure: exit %d, stderr %q", code, errOut.String())
	}
}

// A database URL naming no engine stops the command before anything is
// created; before, mysql://… became a SQLite file named after it.
func TestUnknownDatabaseSchemeIsAnError(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	for _, url := range []string{"mysql://roster:s3cret@db/roster", "Postgres://roster:s3cret@db/roster"} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"migrate", "--database-url", url}, strings.NewReader(""), &out, &errOut)
		if msg := errOut.String(); code == 0 || !strings.Contains(msg, "is not supported") || strings.Contains(msg, "s3cret") {
			t.Errorf("%s: exit %d, stderr %q", url, code, msg)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused URLs created %v", entries)
	}
}
