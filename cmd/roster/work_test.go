package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/zipcrypt"
)

// runCmd runs a command and returns its exit code, stdout and stderr.
func runCmd(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDemoReportAndUploadCommands(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)

	out := rosterCmd(t, "", "demo", "--learners", "12")
	course := regexp.MustCompile(`Course ".*": id (\S+)`).FindStringSubmatch(out)
	batch := regexp.MustCompile(`batch ".*": id (\S+)`).FindStringSubmatch(out)
	if course == nil || batch == nil {
		t.Fatalf("demo printed %q", out)
	}
	if code, _, errOut := runCmd("", "demo"); code == 0 || !strings.Contains(errOut, "already loaded") {
		t.Errorf("second demo: exit %d, %s", code, errOut)
	}

	const zipPassword = "Demo-zip-42"
	out = rosterCmd(t, zipPassword+"\n", "report", "request", "--course", course[1], "--batch", batch[1], "--password-stdin")
	m := regexp.MustCompile(`report (\S+): SUCCESS`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("report request printed %q", out)
	}
	if strings.Contains(out, zipPassword) {
		t.Error("the zip password was printed")
	}
	rosterCmd(t, "", "report", "download", m[1], "-o", "exhaust.zip")
	data, err := os.ReadFile(filepath.Join(dir, "exhaust.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zipcrypt.OpenReader(bytes.NewReader(data), int64(len(data)), zipPassword)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Files[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(rc)
	rc.Close()
	if lines := strings.Count(string(csv), "\n"); !strings.Contains(string(csv), "Collection Id") || lines < 2 {
		t.Errorf("report has %d lines: %q", lines, csv)
	}
	if code, _, _ := runCmd("", "report", "download", m[1], "-o", "exhaust.zip"); code == 0 {
		t.Error("download overwrote an existing file without --force")
	}
	if code, _, errOut := runCmd("", "report", "request", "--course", course[1]); code == 0 || !strings.Contains(errOut, "password") {
		t.Errorf("request without a password source: exit %d %s", code, errOut)
	}

	out = rosterCmd(t, "", "org", "create", "--name", "Kerala", "--channel", "KL", "--tenant")
	org := regexp.MustCompile(`organisation (\S+) created`).FindStringSubmatch(out)[1]
	csvFile := filepath.Join(dir, "users.csv")
	good := "firstName,email,userName,password\nMeera,meera.cli@example.org,meera_cli,Cli-pass-001\nJohn,john.cli@example.org,john_cli,Cli-pass-002\n"
	if err := os.WriteFile(csvFile, []byte(good+"Bad1,not-an-email,bad_cli,Cli-pass-003\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd("", "upload", csvFile, "--org", org, "--dry-run")
	if code != rowsFailed || !strings.Contains(out, "dry run") || !regexp.MustCompile(`(?m)^4\s+email\s+`).MatchString(out) {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "(3/3)") {
		t.Errorf("dry run progress bar:\n%s", errOut)
	}
	if err := os.WriteFile(csvFile, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd("", "upload", csvFile, "--org", org, "--job-rescue-after", "2m")
	if code != 0 || !strings.Contains(out, "COMPLETED") || !regexp.MustCompile(`(?m)^2\s+2\s+0\s*$`).MatchString(out) {
		t.Fatalf("upload: exit %d\n%s%s", code, out, errOut)
	}
	// The progress bar on stderr ends full, counting every row.
	if !regexp.MustCompile(`rows 100% \|█+\| \(2/2\)`).MatchString(errOut) {
		t.Errorf("no finished progress bar on stderr:\n%s", errOut)
	}
	for _, secret := range []string{"Cli-pass", "meera.cli@example.org"} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("upload output contains %q", secret)
		}
	}
	// Uploading the same users again fails every row: they exist.
	if code, out, _ = runCmd("", "upload", csvFile, "--org", org); code != rowsFailed || !strings.Contains(out, "already") {
		t.Errorf("re-upload: exit %d\n%s", code, out)
	}

	// The same file as an update: past the change threshold (1 of the 2
	// members) it is refused until --confirm, then it changes the user.
	if err := os.WriteFile(csvFile, []byte("userName,lastName\nmeera_cli,Nair\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut = runCmd("", "upload", csvFile, "--org", org, "--mode", "update"); code == 0 || !strings.Contains(errOut, "1 of the organisation's 2 users (50%)") {
		t.Errorf("update past the threshold: exit %d\n%s", code, errOut)
	}
	if code, out, errOut = runCmd("", "upload", csvFile, "--org", org, "--mode", "update", "--confirm"); code != 0 || !strings.Contains(out, "COMPLETED") {
		t.Fatalf("confirmed update: exit %d\n%s%s", code, out, errOut)
	}
	if err := os.WriteFile(csvFile, []byte("userName,lastName\nmeera_cli,Menon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut = runCmd("", "upload", csvFile, "--org", org, "--mode", "update", "--upload-change-threshold", "50"); code != 0 {
		t.Errorf("update within a raised threshold: exit %d\n%s", code, errOut)
	}

	// The organisation by the tenant's channel and its own external id.
	out = rosterCmd(t, "", "org", "create", "--name", "GHS Kochi", "--root-org", org, "--external-id", "SCH-9")
	school := regexp.MustCompile(`organisation (\S+) created`).FindStringSubmatch(out)[1]
	if err := os.WriteFile(csvFile, []byte("firstName,phone,userName,password\nAnu,9876511111,anu_cli,Cli-pass-004\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd("", "upload", csvFile, "--provider", "KL", "--external-id", "SCH-9")
	if code != 0 || !strings.Contains(out, "COMPLETED") {
		t.Fatalf("upload by external id: exit %d\n%s%s", code, out, errOut)
	}
	a, err := app.Open(context.Background(), app.Config{DataDir: filepath.Join(dir, "data"), LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ups, err := a.Uploads.List(context.Background(), roster.SystemPrincipal, school, "", 0)
	if err != nil || len(ups) != 1 || ups[0].Succeeded != 1 {
		t.Fatalf("the school's uploads: %+v %v", ups, err)
	}
	if code, _, errOut = runCmd("", "upload", csvFile, "--provider", "KL", "--external-id", "SCH-404"); code == 0 || code == rowsFailed ||
		!strings.Contains(errOut, "not found") {
		t.Errorf("unknown external id: exit %d\n%s", code, errOut)
	}
}

// --job-rescue-after takes its default from ROSTER_JOB_RESCUE_AFTER, else
// the queue's own default, on every command (serve and the commands that
// run workers in-process).
func TestJobRescueAfterFlag(t *testing.T) {
	t.Setenv("ROSTER_JOB_RESCUE_AFTER", "")
	f := newRootCmd().PersistentFlags().Lookup("job-rescue-after")
	if f == nil || f.DefValue != jobs.DefaultRescueAfter.String() {
		t.Fatalf("flag %+v", f)
	}
	t.Setenv("ROSTER_JOB_RESCUE_AFTER", "90s")
	if f := newRootCmd().PersistentFlags().Lookup("job-rescue-after"); f.DefValue != "1m30s" {
		t.Fatalf("default from the environment = %s", f.DefValue)
	}
}

// --upload-max-stored and --dry-run-retention (and their variables) reach
// the upload command: at the cap a dry run is refused, and a dry run past
// the retention no longer counts.
func TestUploadStoredCapFlags(t *testing.T) {
	clearEnv(t)
	t.Setenv("ROSTER_UPLOAD_MAX_STORED", "")
	t.Setenv("ROSTER_DRY_RUN_RETENTION", "")
	dir := t.TempDir()
	t.Chdir(dir)
	out := rosterCmd(t, "", "org", "create", "--name", "Kerala", "--channel", "KL", "--tenant")
	org := regexp.MustCompile(`organisation (\S+) created`).FindStringSubmatch(out)[1]
	csvFile := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(csvFile, []byte("firstName,email,userName,password\nMeera,meera.cap@example.org,meera_cap,Cli-pass-001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rosterCmd(t, "", "upload", csvFile, "--org", org, "--dry-run", "--upload-max-stored", "1")
	code, _, errOut := runCmd("", "upload", csvFile, "--org", org, "--dry-run", "--upload-max-stored", "1")
	if code == 0 || !strings.Contains(errOut, "reached its limit of 1 stored uploads (dry runs of the last 24h") {
		t.Fatalf("at the cap: exit %d %s", code, errOut)
	}
	t.Setenv("ROSTER_UPLOAD_MAX_STORED", "1")
	if code, _, errOut := runCmd("", "upload", csvFile, "--org", org, "--dry-run"); code == 0 || !strings.Contains(errOut, "limit of 1 stored") {
		t.Fatalf("cap from the environment: exit %d %s", code, errOut)
	}
	t.Setenv("ROSTER_DRY_RUN_RETENTION", "1ms")
	rosterCmd(t, "", "upload", csvFile, "--org", org, "--dry-run")
}
