package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// --hash-workers and --hash-queue take their defaults from the
// environment; zero (the pool's own defaults) when unset, and a malformed
// value stops the command.
func TestHashPoolFlags(t *testing.T) {
	for _, name := range []string{"hash-workers", "hash-queue"} {
		env := "ROSTER_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		t.Setenv(env, "")
		if f := newRootCmd().PersistentFlags().Lookup(name); f == nil || f.DefValue != "0" {
			t.Fatalf("%s: flag %+v", name, f)
		}
		t.Setenv(env, "7")
		root := newRootCmd()
		if f := root.PersistentFlags().Lookup(name); f.DefValue != "7" {
			t.Fatalf("%s default from %s = %s", name, env, f.DefValue)
		}
		if err := root.PersistentFlags().Parse([]string{"--" + name, "3"}); err != nil {
			t.Fatal(err)
		}
		if f := root.PersistentFlags().Lookup(name); f.Value.String() != "3" {
			t.Fatalf("%s after --%s 3 = %s", name, name, f.Value)
		}
		t.Setenv(env, "")
	}

	clearEnv(t)
	t.Chdir(t.TempDir())
	t.Setenv("ROSTER_HASH_WORKERS", "four")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, strings.NewReader(""), &out, &errOut); code == 0 ||
		!strings.Contains(errOut.String(), "ROSTER_HASH_WORKERS=four is not a whole number") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	t.Setenv("ROSTER_HASH_WORKERS", "")
	errOut.Reset()
	if code := run(context.Background(), []string{"migrate", "--hash-queue", "-1"}, strings.NewReader(""), &out, &errOut); code == 0 ||
		!strings.Contains(errOut.String(), "must not be negative") {
		t.Fatalf("negative queue: exit %d, stderr %q", code, errOut.String())
	}
}
