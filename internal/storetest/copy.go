package storetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/dbopen"
	"github.com/roster-dev/roster/internal/store"
)

// Copy takes a copy of db the way an operator backs one up, and returns
// the copy opened as a database of its own: for SQLite a copy of the
// database file (after a checkpoint, so the file holds every commit); for
// PostgreSQL a pg_dump of db's schema restored, with psql, into a fresh
// schema. Tests of what a backup still reveals (erasure) read the copy.
func Copy(t testing.TB, db store.Engine) store.Engine {
	t.Helper()
	ctx := context.Background()
	var url string
	switch db.Name() {
	case "sqlite":
		url = copySQLite(t, ctx, db)
	case "postgres":
		url = copyPostgres(t, ctx, db)
	default:
		t.Fatalf("cannot copy a %s database", db.Name())
	}
	cp, err := dbopen.Open(ctx, url)
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	t.Cleanup(func() { cp.Close() })
	return cp
}

func copySQLite(t testing.TB, ctx context.Context, db store.Engine) string {
	var path string
	if err := db.QueryRow(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatalf("find the SQLite file: %v", err)
	}
	if _, err := db.Exec(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyPostgres(t testing.TB, ctx context.Context, db store.Engine) string {
	var schema string
	if err := db.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatalf("current schema: %v", err)
	}
	base := os.Getenv(EnvPostgresURL)
	dump := runTool(t, nil, postgresTool(t, "pg_dump"), "--no-owner", "--no-privileges", "--schema", schema, base)
	target := postgresSchema(t)
	fresh := target[strings.LastIndex(target, "search_path=")+len("search_path="):]
	// The dump names its schema everywhere; the fresh schema exists already.
	restored := regexp.MustCompile(`(?m)^CREATE SCHEMA .*$`).ReplaceAllString(strings.ReplaceAll(dump, schema, fresh), "")
	runTool(t, strings.NewReader(restored), postgresTool(t, "psql"), "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-f", "-", base)
	return target
}

// postgresTool finds a client program of the installed PostgreSQL the way
// PrivatePostgres finds initdb: required with CI=true, skipped otherwise.
func postgresTool(t testing.TB, name string) string {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(bins) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL's %s is not installed (/usr/lib/postgresql/*/bin); CI must test backups with it", name)
		}
		t.Skipf("PostgreSQL's %s is not installed; skipping", name)
	}
	sort.Strings(bins)
	return bins[len(bins)-1]
}

func runTool(t testing.TB, stdin *strings.Reader, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(bin), err, errOut.String())
	}
	return out.String()
}
