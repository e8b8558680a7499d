package main

import (
	"strings"
	"testing"
)

// demo's help puts serve first and demo in a second terminal, and names
// no fixed address: the address comes from --addr.
func TestDemoHelp(t *testing.T) {
	clearEnv(t)
	help := rosterCmd(t, "", "demo", "--help")
	if strings.Contains(help, "localhost:8080") {
		t.Errorf("demo --help names a fixed address:\n%s", help)
	}
	serve, second := strings.Index(help, "Start `roster serve` first"), strings.Index(help, "second terminal")
	if serve < 0 || second < serve || !strings.Contains(help, "--reset") || !strings.Contains(help, "demo-accounts.txt") {
		t.Errorf("demo --help:\n%s", help)
	}
}

func TestCommandName(t *testing.T) {
	for arg0, want := range map[string]string{
		"/tmp/go-build123/b001/exe/roster": "go run ./cmd/roster",
		"roster":                           "roster",
		"./roster":                         "./roster",
		"/usr/local/bin/roster":            "/usr/local/bin/roster",
	} {
		if got := commandName(arg0); got != want {
			t.Errorf("commandName(%q) = %q, want %q", arg0, got, want)
		}
	}
}
