// Package dbopen picks the storage engine from a database URL: PostgreSQL for
// postgres:// URLs, otherwise the embedded SQLite file. It is the one place
// that knows both engines, so the rest of the code only sees store.Engine.
package dbopen

import (
	"context"
	"strings"

	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/postgres"
	"github.com/roster-dev/roster/internal/store/sqlite"
)

// Open opens the database named by url:
//   - "postgres://…" or "postgresql://…": PostgreSQL
//   - "sqlite:PATH", "file:PATH" or a plain path: SQLite
func Open(ctx context.Context, url string) (store.Engine, error) {
	if IsPostgres(url) {
		return postgres.Open(ctx, url)
	}
	path := url
	for _, prefix := range []string{"sqlite://", "sqlite:", "file:"} {
		path = strings.TrimPrefix(path, prefix)
	}
	return sqlite.Open(path)
}

// IsPostgres reports whether url names a PostgreSQL database.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") ||
		strings.Contains(url, "host=") || strings.Contains(url, "dbname=")
}
