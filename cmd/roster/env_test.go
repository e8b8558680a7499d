package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A malformed ROSTER_* number or duration stops the command with the
// variable named, instead of quietly using the default.
func TestMalformedEnvironmentIsAnError(t *testing.T) {
	clearEnv(t)
	t.Chdir(t.TempDir())
	t.Setenv("ROSTER_REPORT_RETENTION", "7d")
	t.Setenv("ROSTER_UPLOAD_MAX_ROWS", "lots")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"migrate"}, strings.NewReader(""), &out, &errOut)
	msg := errOut.String()
	if code == 0 || !strings.Contains(msg, "ROSTER_REPORT_RETENTION=7d is not a duration") ||
		!strings.Contains(msg, "ROSTER_UPLOAD_MAX_ROWS=lots is not a whole number") {
		t.Fatalf("exit %d, stderr %q", code, msg)
	}
	t.Setenv("ROSTER_REPORT_RETENTION", "168h")
	t.Setenv("ROSTER_UPLOAD_MAX_ROWS", "500")
	rosterCmd(t, "", "migrate")
}
