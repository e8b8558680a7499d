package store

import "context"

// AnyUser reports whether the database holds a user at all: a fresh
// database has only the custodian organisation, and `serve` then tells
// the operator how to load the demo.
func AnyUser(ctx context.Context, q Queryer) (bool, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) AS one`).Scan(&n)
	return n > 0, err
}
