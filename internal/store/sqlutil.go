package store

import (
	"context"
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

// insertSQL is the INSERT of one row into table with the given column
// list, its placeholders counted from the list so the two cannot drift.
func insertSQL(table, columns string) string {
	return `INSERT INTO ` + table + ` (` + columns + `) VALUES (` + Placeholders(columnCount(columns)) + `)`
}

// columnCount is the number of columns in a comma-separated list.
func columnCount(columns string) int { return strings.Count(columns, ",") + 1 }

// Placeholders returns "$1, $2, …, $n".
func Placeholders(n int) string { return placeholdersFrom(1, n) }

// placeholdersFrom returns n placeholders starting at $first, for one row
// of a multi-row VALUES list.
func placeholdersFrom(first, n int) string {
	var b strings.Builder
	for i := first; i < first+n; i++ {
		if i > first {
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

// queryAll runs query and scans every row with scan: the one loop all the
// list functions share (including the Close and the final Err check that
// are easy to forget).
func queryAll[T any](ctx context.Context, q Queryer, scan func(Row) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}
