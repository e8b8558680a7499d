package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/dbopen"
)

// --report-retention and ROSTER_REPORT_RETENTION reach the reports the
// commands build; flags win over the environment.
func TestReportRetentionFlag(t *testing.T) {
	clearEnv(t)
	t.Setenv("ROSTER_REPORT_RETENTION", "")
	t.Setenv("ROSTER_REPORT_LINK_TTL", "")
	dir := t.TempDir()
	t.Chdir(dir)
	out := rosterCmd(t, "", "demo", "--learners", "3")
	course := regexp.MustCompile(`Course ".*": id (\S+)`).FindStringSubmatch(out)
	batch := regexp.MustCompile(`batch ".*": id (\S+)`).FindStringSubmatch(out)
	if course == nil || batch == nil {
		t.Fatalf("demo printed %q", out)
	}
	request := func(extra ...string) time.Duration {
		t.Helper()
		args := append([]string{"report", "request", "--course", course[1], "--batch", batch[1], "--password-stdin"}, extra...)
		out := rosterCmd(t, "Flag-test-42\n", args...)
		m := regexp.MustCompile(`report (\S+): SUCCESS`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("report request printed %q", out)
		}
		db, err := dbopen.Open(context.Background(), filepath.Join(dir, "data", "roster.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var finished, expires time.Time
		if err := db.QueryRow(context.Background(), `SELECT finished_at, expires_at FROM report_request WHERE id = $1`, m[1]).
			Scan(&finished, &expires); err != nil {
			t.Fatal(err)
		}
		return expires.Sub(finished)
	}
	if got := request(); got != 7*24*time.Hour {
		t.Errorf("default retention = %v, want 7 days", got)
	}
	t.Setenv("ROSTER_REPORT_RETENTION", "3h")
	if got := request(); got != 3*time.Hour {
		t.Errorf("retention from the environment = %v, want 3h", got)
	}
	if got := request("--report-retention", "90m"); got != 90*time.Minute {
		t.Errorf("retention from the flag = %v, want 90m", got)
	}
}

// The link lifetime flag exists on every command and defaults to the
// environment, then to 30 minutes; the app test checks it reaches the
// report service.
func TestReportLinkTTLFlag(t *testing.T) {
	for env, want := range map[string]string{"": "30m0s", "5m": "5m0s"} {
		t.Setenv("ROSTER_REPORT_LINK_TTL", env)
		root := newRootCmd()
		f := root.PersistentFlags().Lookup("report-link-ttl")
		if f == nil || f.DefValue != want {
			t.Fatalf("ROSTER_REPORT_LINK_TTL=%q: flag %+v, want default %s", env, f, want)
		}
	}
}

// --kind and --format name what to build; unknown ones are refused with
// the valid names, before anything is stored.
func TestReportKindFlag(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	out := rosterCmd(t, "", "demo", "--learners", "3")
	course := regexp.MustCompile(`Course ".*": id (\S+)`).FindStringSubmatch(out)
	if course == nil {
		t.Fatalf("demo printed %q", out)
	}
	out = rosterCmd(t, "Flag-test-42\n", "report", "request", "--course", course[1], "--kind", "user-profile-exhaust",
		"--format", "csv", "--password-stdin")
	m := regexp.MustCompile(`report (\S+): SUCCESS`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("report request printed %q", out)
	}
	code, _, errOut := runCmd("Flag-test-42\n", "report", "request", "--course", course[1], "--kind", "progress", "--password-stdin")
	if code == 0 || !strings.Contains(errOut, "kind") || !strings.Contains(errOut, "user-profile-exhaust") {
		t.Errorf("unknown kind: exit %d, %q", code, errOut)
	}
	db, err := dbopen.Open(context.Background(), filepath.Join(dir, "data", "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var kinds []string
	rows, err := db.Query(context.Background(), `SELECT kind || '/' || format FROM report_request`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, k)
	}
	rows.Close()
	if strings.Join(kinds, ",") != "user-profile-exhaust/csv" {
		t.Errorf("stored requests = %v", kinds)
	}
	_, help, _ := runCmd("", "report", "request", "--help")
	if !strings.Contains(help, "--kind") || !strings.Contains(help, "user-profile-exhaust") {
		t.Errorf("help does not name the kinds: %s", help)
	}
}
