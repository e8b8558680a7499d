package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/dbopen"
	"github.com/roster-dev/roster/internal/storetest"
)

// roster migrate brings an empty database up to date and is harmless to
// run again (deploy scripts run it before every start).
func TestMigrateTwice(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			clearEnv(t)
			dir := t.TempDir()
			t.Chdir(dir)
			data := filepath.Join(dir, "data")
			url := filepath.Join(data, "roster.db")
			args := []string{"migrate", "--data-dir", data}
			if engine == "postgres" {
				url = storetest.URL(t, engine)
				args = append(args, "--database-url", url)
			}
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			pending := func() bool {
				t.Helper()
				db, err := dbopen.Open(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if db.Name() != engine {
					t.Fatalf("opened a %s database, want %s", db.Name(), engine)
				}
				p, err := db.Pending(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			if !pending() {
				t.Fatal("an empty database reports no pending migrations")
			}
			for i := range 2 {
				out := rosterCmd(t, "", args...)
				if !strings.Contains(out, "database is up to date") {
					t.Fatalf("run %d printed %q", i+1, out)
				}
			}
			if pending() {
				t.Error("migrations still pending after roster migrate")
			}
		})
	}
}
