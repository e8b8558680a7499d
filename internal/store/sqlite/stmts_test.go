package sqlite

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
)

func openTemp(t testing.TB) *DB {
	db, err := Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(context.Background(), "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return db
}

// Cached statements must still run inside the caller's transaction: a
// write in the transaction is visible to its later reads and gone after a
// rollback, and the cache never grows past its bound.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	for round := 0; round < 2; round++ { // the second round runs from the cache
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO kv (k, v) VALUES ($1, $2)", "a", "1"); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := tx.QueryRow(ctx, "SELECT v FROM kv WHERE k = $1", "a").Scan(&v); err != nil || v != "1" {
			t.Fatalf("round %d: read in tx = %q, %v", round, v, err)
		}
		tx.Rollback(ctx)
		if err := db.QueryRow(ctx, "SELECT v FROM kv WHERE k = $1", "a").Scan(&v); err == nil {
			t.Fatalf("round %d: rolled-back row visible outside", round)
		}
	}
	for i := 0; i < maxCachedStmts+50; i++ {
		q := "SELECT " + strconv.Itoa(i) + " FROM kv WHERE k = $1"
		rows, err := db.Query(ctx, q, "x")
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if n := len(db.stmts.m); n > maxCachedStmts {
		t.Fatalf("cache holds %d statements, bound is %d", n, maxCachedStmts)
	}
	// A statement that cannot be prepared reports its error as before.
	if err := db.QueryRow(ctx, "SELECT nope FROM kv").Scan(new(string)); err == nil {
		t.Fatal("bad statement gave no error")
	}
}

// BenchmarkPointRead puts a point read through the statement cache beside
// the same read prepared on every call (the engine's behaviour before the
// cache), in one run.
func BenchmarkPointRead(b *testing.B) {
	ctx := context.Background()
	db := openTemp(b)
	if _, err := db.Exec(ctx, "INSERT INTO kv (k, v) VALUES ('a', '1')"); err != nil {
		b.Fatal(err)
	}
	const q = "SELECT k, v FROM kv WHERE k = $1 AND v <> $2 AND length(v) < $3"
	var k, v string
	b.Run("prepared-each-time", func(b *testing.B) {
		for b.Loop() {
			if err := db.db.QueryRowContext(ctx, q, "a", "x", 10).Scan(&k, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if err := db.QueryRow(ctx, q, "a", "x", 10).Scan(&k, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
