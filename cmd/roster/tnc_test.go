package main

import (
	"strings"
	"testing"
)

// An operator publishes terms from the command line; a second publish of
// the same version and a bad kind are refused with the field named.
func TestTncPublishCommand(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	if out := rosterCmd(t, "", "tnc", "list"); !strings.Contains(out, "no terms published") {
		t.Errorf("list before publishing: %q", out)
	}
	out := rosterCmd(t, "", "tnc", "publish", "--kind", "orgAdminTnc", "--version", "3.6.0", "--url", "https://example.org/t/3.6.0")
	if !strings.Contains(out, "orgAdminTnc 3.6.0 is now the current version") {
		t.Errorf("publish printed %q", out)
	}
	if out := rosterCmd(t, "", "tnc", "list"); !strings.Contains(out, "orgAdminTnc\t3.6.0\t") {
		t.Errorf("list: %q", out)
	}
	if code, _, errOut := runCmd("", "tnc", "publish", "--kind", "orgAdminTnc", "--version", "3.6.0", "--url", "https://example.org/t"); code == 0 || !strings.Contains(errOut, "already published") {
		t.Errorf("republish: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCmd("", "tnc", "publish", "--kind", "groups", "--version", "1", "--url", "ftp://x"); code == 0 ||
		!strings.Contains(errOut, "kind") || !strings.Contains(errOut, "url") {
		t.Errorf("bad kind and url: exit %d, %s", code, errOut)
	}
}
