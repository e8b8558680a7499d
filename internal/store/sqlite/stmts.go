package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statement cache. Roster's statements are a
// fixed set plus the chunked multi-row forms (one per chunk size), far fewer
// than this; the bound only keeps a caller that builds statements from data
// from growing the cache without limit.
const maxCachedStmts = 512

// stmtCache keeps one prepared statement per query text. Preparing was 40 %
// of the server's CPU for a GET /users/{id} and most of the exhaust's IN
// queries' cost; database/sql prepares a cached *sql.Stmt once per
// connection and reuses it, and Tx.StmtContext reuses that preparation on
// the transaction's connection.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

// get returns the cached statement for query, preparing it on first use,
// or nil when the cache is full and query is not in it.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	stmt, ok := c.m[query]
	full := len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if ok || full {
		return stmt, nil
	}
	stmt, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok { // another goroutine won the race
		stmt.Close()
		return prev, nil
	}
	c.m[query] = stmt
	return stmt, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.m {
		s.Close()
		delete(c.m, q)
	}
}

// stmtQueryer runs every statement through the cache, on the pool or, when
// tx is set, on the transaction's connection.
type stmtQueryer struct {
	cache *stmtCache
	tx    *sql.Tx
}

// direct is where a statement runs when it is not cached.
func (q stmtQueryer) direct() sqlQueryer {
	if q.tx != nil {
		return q.tx
	}
	return q.cache.db
}

// prepared returns the cached statement for query, bound to the
// transaction when there is one (released with it), or nil.
func (q stmtQueryer) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	stmt, err := q.cache.get(ctx, query)
	if err != nil || stmt == nil || q.tx == nil {
		return stmt, err
	}
	return q.tx.StmtContext(ctx, stmt), nil
}

func (q stmtQueryer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := q.prepared(ctx, query)
	if err != nil || stmt == nil {
		return q.direct().ExecContext(ctx, query, args...)
	}
	return stmt.ExecContext(ctx, args...)
}

func (q stmtQueryer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := q.prepared(ctx, query)
	if err != nil || stmt == nil {
		return q.direct().QueryContext(ctx, query, args...)
	}
	return stmt.QueryContext(ctx, args...)
}

// A statement that fails to prepare runs directly, so its error reaches
// the caller exactly as it did before the cache.
func (q stmtQueryer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := q.prepared(ctx, query)
	if err != nil || stmt == nil {
		return q.direct().QueryRowContext(ctx, query, args...)
	}
	return stmt.QueryRowContext(ctx, args...)
}
