// Package dbopen picks the storage engine from a database URL: PostgreSQL for
// postgres:// URLs, otherwise the embedded SQLite file. It is the one place
// that knows both engines, so the rest of the code only sees store.Engine.
package dbopen

import (
	"context"
	"fmt"
	neturl "net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/postgres"
	"github.com/roster-dev/roster/internal/store/sqlite"
)

// Open opens the database named by url:
//   - "postgres://…" or "postgresql://…" (or a libpq "host=… dbname=…"
//     string): PostgreSQL
//   - "sqlite:PATH", "file:PATH" or a plain path: SQLite
//
// Anything else with a scheme is refused (see Check).
func Open(ctx context.Context, url string) (store.Engine, error) {
	if err := Check(url); err != nil {
		return nil, err
	}
	if IsPostgres(url) {
		return postgres.Open(ctx, url)
	}
	path, opt, err := sqliteOptions(sqlitePath(url))
	if err != nil {
		return nil, err
	}
	return sqlite.OpenWith(path, opt)
}

// sqliteOptions reads SQLite's sizing from the query of a SQLite URL
// ("sqlite:data/roster.db?cache_mb=256&mmap_mb=4096"), the way pgx reads
// pool_max_conns from a PostgreSQL URL, so one setting carries both.
func sqliteOptions(path string) (string, sqlite.Options, error) {
	var opt sqlite.Options
	base, query, ok := strings.Cut(path, "?")
	if !ok {
		return path, opt, nil
	}
	values, err := neturl.ParseQuery(query)
	if err != nil {
		return "", opt, fmt.Errorf("database URL: %v", err)
	}
	for key, vs := range values {
		n, err := strconv.Atoi(vs[len(vs)-1])
		if err != nil || n < 0 || n > 1<<20 {
			return "", opt, fmt.Errorf("database URL: %s must be a whole number of MB between 0 and 1048576", key)
		}
		switch key {
		case "cache_mb":
			opt.CacheMB = n
		case "mmap_mb":
			opt.MmapMB, opt.MmapOff = n, n == 0
		default:
			return "", opt, fmt.Errorf("database URL: unknown SQLite setting %q (cache_mb, mmap_mb)", key)
		}
	}
	return base, opt, nil
}

// scheme matches a URL scheme at the start (RFC 3986: a letter, then
// letters, digits, "+", "-" or "."), which a plain file path never has
// before its first slash.
var scheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// Check refuses a database URL that names no engine Roster has. Treating
// it as a file name, as Roster once did, turned a mistyped production URL
// (mysql://…, Postgres://…) into a fresh SQLite file per replica.
func Check(url string) error {
	if IsPostgres(url) || url != sqlitePath(url) || !scheme.MatchString(url) {
		return nil
	}
	// Only the scheme is named: the rest may hold a password.
	return fmt.Errorf("database URL scheme %q is not supported; use postgres://, postgresql:// (lower case), sqlite:PATH or a plain file path",
		strings.TrimSuffix(scheme.FindString(url), ":"))
}

// sqlitePath strips the SQLite prefixes Roster accepts.
func sqlitePath(url string) string {
	for _, prefix := range []string{"sqlite://", "sqlite:", "file:"} {
		if strings.HasPrefix(url, prefix) {
			return strings.TrimPrefix(url, prefix)
		}
	}
	return url
}

// IsPostgres reports whether url names a PostgreSQL database.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") ||
		strings.Contains(url, "host=") || strings.Contains(url, "dbname=")
}
