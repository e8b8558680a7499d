// Package storetest runs storage-dependent tests against every engine:
// SQLite always, and PostgreSQL when ROSTER_TEST_POSTGRES_URL is set. With
// CI=true a missing PostgreSQL URL fails the test instead of skipping it, so
// CI can never pass by silently testing one engine.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/roster-dev/roster/internal/dbopen"
	"github.com/roster-dev/roster/internal/store"
)

// EnvPostgresURL names the variable holding an admin URL of a PostgreSQL
// server tests may create schemas in.
const EnvPostgresURL = "ROSTER_TEST_POSTGRES_URL"

// Engines lists the engine names a test should cover.
func Engines() []string { return []string{"sqlite", "postgres"} }

// Run calls fn once per engine, each in its own subtest with a fresh,
// migrated database.
func Run(t *testing.T, fn func(t *testing.T, db store.Engine)) {
	t.Helper()
	for _, name := range Engines() {
		t.Run(name, func(t *testing.T) {
			fn(t, Open(t, name))
		})
	}
}

// Open returns a fresh, migrated database of the named engine, removed when
// the test ends.
func Open(t testing.TB, engine string) store.Engine {
	t.Helper()
	url := URL(t, engine)
	db, err := dbopen.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open %s: %v", engine, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", engine, err)
	}
	return db
}

// URL returns a database URL for a fresh, empty database of the engine
// (without migrating it), for tests that start the whole service.
func URL(t testing.TB, engine string) string {
	t.Helper()
	switch engine {
	case "sqlite":
		return filepath.Join(t.TempDir(), "roster.db")
	case "postgres":
		return postgresSchema(t)
	}
	t.Fatalf("unknown engine %q", engine)
	return ""
}

// postgresSchema creates a throwaway schema and returns a URL whose
// search_path points at it, so tests run in parallel without sharing tables.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must test the PostgreSQL engine", EnvPostgresURL)
		}
		t.Skipf("%s not set; skipping PostgreSQL", EnvPostgresURL)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvPostgresURL, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	return WithSearchPath(base, schema)
}

// WithSearchPath adds a search_path runtime parameter to a PostgreSQL URL.
func WithSearchPath(url, schema string) string {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		return url + sep + "search_path=" + schema
	}
	return url + " search_path=" + schema
}
