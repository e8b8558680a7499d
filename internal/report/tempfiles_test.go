package report

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/roster-dev/roster/internal/testkit"
)

// A job killed mid-file leaves its partial archive behind; the next start
// removes it at once instead of after the daily sweep, and leaves alone
// the file a job of another process sharing the directory is writing, and
// the finished reports.
func TestStartRemovesDeadJobsTempFiles(t *testing.T) {
	dir := t.TempDir()
	keys := testkit.Keyring(t)
	if _, err := New(nil, keys, Config{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	// Closing without removing is what dying does to the file and its lock.
	dead, err := createTemp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.WriteString("partial encrypted archive"); err != nil {
		t.Fatal(err)
	}
	dead.Close()
	live, err := createTemp(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	finished := filepath.Join(dir, "finished.zip")
	if err := os.WriteFile(finished, []byte("zip"), 0o600); err != nil {
		t.Fatal(err)
	}

	if _, err := New(nil, keys, Config{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead.Name()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dead job's temporary file survived the start: %v", err)
	}
	for _, p := range []string{live.Name(), finished} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed at start: %v", filepath.Base(p), err)
		}
	}
	// The running job can still finish its file.
	if _, err := live.WriteString("more"); err != nil {
		t.Fatal(err)
	}
}
