package dbopen

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{
		"postgres://roster@db/roster", "postgresql://roster@db/roster", "host=db dbname=roster",
		"sqlite:data/roster.db", "sqlite:///var/lib/roster/roster.db", "file:roster.db",
		"data/roster.db", "/var/lib/roster/roster.db", "roster.db", "./odd:name.db",
	} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v, want accepted", ok, err)
		}
	}
	for _, bad := range []string{
		"mysql://roster:s3cret@db/roster", "Postgres://roster:s3cret@db/roster", "POSTGRESQL://db/roster",
		"postgres:/db/roster", "sqlite3:roster.db", "https://db.example/roster",
	} {
		err := Check(bad)
		if err == nil {
			t.Errorf("Check(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Check(%q) = %v: the message carries the password", bad, err)
		}
	}
}

// A mistyped URL opens nothing: before, it became a local SQLite file (and
// directories) named after the URL.
func TestOpenRefusesUnknownScheme(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, bad := range []string{"mysql://roster:s3cret@db/roster", "Postgres://roster@db/roster"} {
		db, err := Open(context.Background(), bad)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) opened a %s database", bad, db.Name())
		} else if !strings.Contains(err.Error(), "is not supported") {
			t.Errorf("Open(%q) = %v", bad, err)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("refused URLs left files behind: %v", entries)
	}
}

func TestSQLiteOptions(t *testing.T) {
	path, opt, err := sqliteOptions("data/roster.db?cache_mb=256&mmap_mb=0")
	if err != nil || path != "data/roster.db" || opt.CacheMB != 256 || !opt.MmapOff {
		t.Fatalf("got %q %+v %v", path, opt, err)
	}
	for _, bad := range []string{"x.db?cache_mb=-1", "x.db?cache_mb=lots", "x.db?journal=off"} {
		if _, _, err := sqliteOptions(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	db, err := Open(context.Background(), "sqlite:"+t.TempDir()+"/r.db?cache_mb=8")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var kib int
	if err := db.QueryRow(context.Background(), "PRAGMA cache_size").Scan(&kib); err != nil || kib != -8*1024 {
		t.Fatalf("cache_size = %d, %v; want -8192", kib, err)
	}
}
