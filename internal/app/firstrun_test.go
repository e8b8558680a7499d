package app

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/testkit"
)

func TestConsoleURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://localhost:8080/",
		"0.0.0.0:9000":   "http://localhost:9000/",
		"[::]:8080":      "http://localhost:8080/",
		"127.0.0.1:8181": "http://127.0.0.1:8181/",
		"roster.lan:80":  "http://roster.lan:80/",
		"[::1]:8080":     "http://[::1]:8080/",
	} {
		if got := ConsoleURL(addr); got != want {
			t.Errorf("ConsoleURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// auto writes JSON to anything but a terminal; the two fixed formats
// ignore the output. (A terminal itself needs a pty; the README test runs
// serve with a pipe.)
func TestLogFormat(t *testing.T) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	for _, c := range []struct {
		format string
		out    any
		text   bool
	}{
		{"auto", &bytes.Buffer{}, false},
		{"auto", devNull, false},
		{"", &bytes.Buffer{}, false},
		{"text", &bytes.Buffer{}, true},
		{"json", devNull, false},
	} {
		cfg := Config{LogFormat: c.format}
		if b, ok := c.out.(*bytes.Buffer); ok {
			cfg.LogOutput = b
		} else {
			cfg.LogOutput = c.out.(*os.File)
		}
		cfg = cfg.WithDefaults()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%q: %v", c.format, err)
		}
		if got := cfg.logText(); got != c.text {
			t.Errorf("format %q to %T: text %v, want %v", c.format, c.out, got, c.text)
		}
	}
	if err := (Config{LogFormat: "xml"}).WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), "auto, json or text") {
		t.Errorf("xml: %v", err)
	}
}

// serve's first words: where to open it and, while no user exists, the
// demo command for this data directory and address.
func TestAnnounce(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	a, err := Open(context.Background(), Config{DataDir: dir, LogOutput: &bytes.Buffer{}, Announce: &out, Addr: "127.0.0.1:9999", Command: "./roster"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	org, err := a.Registry.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.announce(ctx, "127.0.0.1:9999")
	for _, w := range []string{"Roster is running: open http://127.0.0.1:9999/", "./roster demo --data-dir " + dir + " --addr 127.0.0.1:9999"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("announce printed\n%s\nwithout %q", out.String(), w)
		}
	}

	a.Registry.HashPassword = testkit.CheapHash
	if _, err := a.Registry.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
		User: roster.User{FirstName: "A", Username: "someone", Email: "someone@example.org"}, OrgID: org.ID, Password: "S3cret-pass"}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	a.announce(ctx, "127.0.0.1:9999")
	if strings.Contains(out.String(), "demo") || !strings.Contains(out.String(), "open http://127.0.0.1:9999/") {
		t.Errorf("with a user, announce printed\n%s", out.String())
	}
}
