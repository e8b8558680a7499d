// Package store is Roster's persistence layer. Its SQL is written once, in the
// subset that SQLite and PostgreSQL both speak ($n placeholders, ON CONFLICT,
// RETURNING, savepoints), and runs through the small Queryer interface that
// each engine package (store/sqlite, store/postgres) adapts its native driver
// to. The engines stay at the edge; this package never imports them.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roster-dev/roster"
)

// Queryer is the part of a connection pool or transaction the SQL needs.
type Queryer interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) Row
}

// Rows is satisfied by both *sql.Rows and pgx.Rows (through the adapters).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result; Scan returns ErrNoRows when there was none.
type Row interface {
	Scan(dest ...any) error
}

// Tx is an open transaction. Native exposes the driver's own transaction
// (*sql.Tx or pgx.Tx) so the job queue can enqueue inside it.
type Tx interface {
	Queryer
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
	Native() any
}

// Engine is a database: one of store/sqlite or store/postgres.
type Engine interface {
	Queryer
	Name() string // "sqlite" or "postgres"
	Begin(ctx context.Context) (Tx, error)
	// Pool is the native pool (*sql.DB or *pgxpool.Pool) for the job queue.
	Pool() any
	Migrate(ctx context.Context) error
	// MigrationLock runs fn while holding a lock that every process using
	// this database shares, so replicas starting together migrate one at a
	// time (goose and River would otherwise race on CREATE TABLE).
	MigrationLock(ctx context.Context, fn func() error) error
	// Pending reports whether this binary has migrations the database has
	// not applied yet (readiness: never serve on an older schema).
	Pending(ctx context.Context) (bool, error)
	Close() error
}

// ErrNoRows is returned by Row.Scan when the query matched nothing; engine
// adapters translate their driver's own sentinel into it.
var ErrNoRows = errors.New("store: no rows")

// ErrUnique is wrapped by engine adapters around unique-constraint
// violations so callers can turn them into "already exists" errors.
var ErrUnique = errors.New("store: unique constraint violated")

// ErrBusy is wrapped around serialization failures and lock timeouts that
// are worth retrying. When retries run out the caller is told to come back
// later (503), as for an outage: the request itself was fine.
var ErrBusy = &roster.Error{Code: roster.EUNAVAILABLE, Message: "the database is busy; try again shortly"}

// ErrUnavailable is wrapped by engine adapters around errors that mean the
// database cannot be reached (refused or dropped connections, a server
// shutting down, a connect timeout, an unreadable file), so callers answer
// 503 and the same request succeeds once the database is back.
var ErrUnavailable = &roster.Error{Code: roster.EUNAVAILABLE, Message: "the database is unavailable; try again shortly"}

// UniqueError says which constraint was violated, as far as the engine tells.
type UniqueError struct {
	Constraint string
	Err        error
}

func (e *UniqueError) Error() string {
	return fmt.Sprintf("unique violation (%s): %v", e.Constraint, e.Err)
}
func (e *UniqueError) Unwrap() []error { return []error{ErrUnique, e.Err} }

// InTx runs fn in a transaction, committing when it returns nil. Busy and
// serialization errors are retried a few times with backoff, because both
// engines report them for perfectly valid concurrent work.
func InTx(ctx context.Context, db Engine, fn func(tx Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
			}
		}
		err = inTxOnce(ctx, db, fn)
		if !errors.Is(err, ErrBusy) {
			return err
		}
	}
	return err
}

func inTxOnce(ctx context.Context, db Engine, fn func(tx Tx) error) (err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Savepoint runs fn inside a savepoint of tx: if fn fails, only its own
// writes are undone and the transaction stays usable. Bulk writers use it to
// fail one row without losing the rest of the chunk.
func Savepoint(ctx context.Context, tx Tx, name string, fn func() error) error {
	if _, err := tx.Exec(ctx, "SAVEPOINT "+name); err != nil {
		return err
	}
	if err := fn(); err != nil {
		if _, rbErr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+name); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		_, _ = tx.Exec(ctx, "RELEASE SAVEPOINT "+name)
		return err
	}
	_, err := tx.Exec(ctx, "RELEASE SAVEPOINT "+name)
	return err
}
