package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The load command refuses any target that is not this machine, before
// sending anything.
func TestLoadRefusesNonLoopback(t *testing.T) {
	for _, target := range []string{"http://10.0.0.5:8080", "http://roster.example.org", "http://0.0.0.0:8080"} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"load", "--url", target}, strings.NewReader(""), &out, &errOut)
		if code == 0 || !strings.Contains(errOut.String(), "loopback") {
			t.Errorf("%s: exit %d, stderr %q", target, code, errOut.String())
		}
	}
}
