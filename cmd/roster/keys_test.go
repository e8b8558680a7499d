package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/pii"
)

// Rotating the PII key with per-user data keys: put a new key first, run
// `roster keys rewrap`, drop the old key, and every user still opens.
func TestKeysRewrap(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	out := rosterCmd(t, "", "org", "create", "--name", "Kerala", "--channel", "KL", "--tenant")
	org := regexp.MustCompile(`organisation (\S+) created`).FindStringSubmatch(out)[1]
	rosterCmd(t, "Admin-pass-1\n", "user", "create", "--admin", "--org", org, "--username", "kladmin",
		"--email", "kl.admin@example.org", "--password-stdin")

	// The key file's key becomes the retired one, beside a new primary.
	var f struct {
		IndexKey string `json:"indexKey"`
		Keys     []struct{ ID, Key string }
	}
	data, err := os.ReadFile(filepath.Join(dir, "data", "keys.json"))
	if err != nil || json.Unmarshal(data, &f) != nil || len(f.Keys) != 1 {
		t.Fatalf("key file: %v %s", err, data)
	}
	old := f.Keys[0].ID + ":" + f.Keys[0].Key
	fresh := "k9:" + pii.GenerateKey()
	t.Setenv("ROSTER_PII_INDEX_KEY", f.IndexKey)
	t.Setenv("ROSTER_PII_KEY", fresh+","+old)

	code, out, errOut := runCmd("", "keys", "rewrap", "--batch", "1")
	if code != 0 || !strings.Contains(out, "1 data keys re-wrapped with k9") || !strings.Contains(out, "0 data keys left") {
		t.Fatalf("rewrap: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "data keys") || !strings.Contains(errOut, "users") {
		t.Errorf("no progress bars on stderr: %q", errOut)
	}
	// Again: nothing left to do, and safe to repeat.
	if out := rosterCmd(t, "", "keys", "rewrap"); !strings.Contains(out, "0 data keys re-wrapped") {
		t.Errorf("second rewrap: %s", out)
	}
	if code, _, errOut := runCmd("", "keys", "rewrap", "--batch", "0"); code == 0 || !strings.Contains(errOut, "--batch") {
		t.Errorf("--batch 0: exit %d %s", code, errOut)
	}

	// The old key retired: the admin still opens.
	a, err := app.Open(context.Background(), app.Config{DataDir: filepath.Join(dir, "data"), LogOutput: io.Discard,
		PIIKey: fresh, PIIIndexKey: f.IndexKey})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p, err := a.Registry.Authenticate(context.Background(), "kl.admin@example.org", "Admin-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.Registry.GetUser(context.Background(), roster.SystemPrincipal, p.UserID)
	if err != nil || u.Email != "kl.admin@example.org" {
		t.Fatalf("after retiring the old key: %v %+v", err, u)
	}
}
