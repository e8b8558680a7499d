package app

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/roster-dev/roster"
)

// Every file the server creates in an existing, world-readable data
// directory is 0600: the database with its WAL and shared-memory files,
// the generated keys and the migration lock. (Report files are checked by
// the report package's tests.)
func TestCreatedFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticator(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Registry.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Registry.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "Tamil Nadu", Channel: "TN", IsTenant: true}); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"roster.db": false, "roster.db-wal": false, "roster.db-shm": false, "keys.json": false, "jwt.key": false}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", d.Name(), info.Mode().Perm())
		}
		if _, ok := want[d.Name()]; ok {
			want[d.Name()] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("%s was not created; the test checks nothing for it", name)
		}
	}
}
