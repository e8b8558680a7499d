package store

import (
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// JSONText marshals v for a TEXT JSON column; nil maps and slices become
// def so readers never see "null".
func JSONText(v any, def string) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return def
	}
	return string(b)
}

// NullString maps "" to SQL NULL, for optional references.
func NullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// UTCPtr normalises a nullable timestamp read from either engine (pgx
// returns local time, SQLite whatever zone was written).
func UTCPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Placeholders returns "$1, $2, …, $n".
func Placeholders(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i))
	}
	return b.String()
}

func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
