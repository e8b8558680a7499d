// Package postgres is the production storage engine: PostgreSQL through a
// pgx connection pool, shared by several `roster serve` replicas.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/roster-dev/roster/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open PostgreSQL pool.
type DB struct {
	pool *pgxpool.Pool
	queryer
}

// Open connects to url (postgres://… or a libpq key=value string).
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database url: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Without one, a server that stopped answering (rather than
		// refusing) holds every request until the client gives up; with
		// it they fail fast as unavailable and the pool retries later.
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default, max(4, cores), left requests queueing for a
		// connection while the server had cores to spare: every request
		// holds one only for a few statements, River's workers hold a few
		// more. pool_max_conns in the URL overrides.
		cfg.MaxConns = int32(max(16, 4*runtime.NumCPU()))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return &DB{pool: pool, queryer: queryer{pool}}, nil
}

func (d *DB) Name() string       { return "postgres" }
func (d *DB) Pool() any          { return d.pool }
func (d *DB) PGX() *pgxpool.Pool { return d.pool }
func (d *DB) Close() error       { d.pool.Close(); return nil }

func (d *DB) Begin(ctx context.Context) (store.Tx, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	return &Tx{tx: tx, queryer: queryer{tx}}, nil
}

// Migrate applies the embedded goose migrations. A session advisory lock
// (goose's default for Postgres) keeps replicas that start together from
// migrating at the same time.
func (d *DB) Migrate(ctx context.Context) error {
	return d.withProvider(func(p *goose.Provider) error {
		_, err := p.Up(ctx)
		return err
	})
}

// MigrateDownTo rolls migrations back to version; tests use it to load
// rows in an older schema and migrate them forward.
func (d *DB) MigrateDownTo(ctx context.Context, version int64) error {
	return d.withProvider(func(p *goose.Provider) error {
		_, err := p.DownTo(ctx, version)
		return err
	})
}

// migrationLockKey is an arbitrary constant naming Roster's advisory lock.
const migrationLockKey = 0x526f73746572 // "Roster"

// MigrationLock holds a session advisory lock on one pooled connection for
// the duration of fn; other replicas wait in pg_advisory_lock. The lock is
// per database, so tests in separate schemas of one server take turns too.
func (d *DB) MigrationLock(ctx context.Context, fn func() error) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return mapErr(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLockKey)); err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLockKey))
	return fn()
}

// Pending reports whether embedded migrations are not applied yet.
func (d *DB) Pending(ctx context.Context) (pending bool, err error) {
	err = d.withProvider(func(p *goose.Provider) error {
		pending, err = p.HasPending(ctx)
		return err
	})
	return pending, err
}

// withProvider gives goose a database/sql view of the pool for one call.
func (d *DB) withProvider(fn func(*goose.Provider) error) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(d.pool)
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		return err
	}
	return fn(provider)
}

// Tx is an open PostgreSQL transaction.
type Tx struct {
	tx pgx.Tx
	queryer
}

func (t *Tx) Commit(ctx context.Context) error   { return mapErr(t.tx.Commit(ctx)) }
func (t *Tx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }
func (t *Tx) Native() any                        { return t.tx }

type pgxQueryer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type queryer struct{ q pgxQueryer }

func (q queryer) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return tag.RowsAffected(), nil
}

func (q queryer) Query(ctx context.Context, sql string, args ...any) (store.Rows, error) {
	rows, err := q.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	return rowsAdapter{rows}, nil
}

func (q queryer) QueryRow(ctx context.Context, sql string, args ...any) store.Row {
	return rowAdapter{q.q.QueryRow(ctx, sql, args...)}
}

type rowsAdapter struct{ pgx.Rows }

func (r rowsAdapter) Err() error             { return mapErr(r.Rows.Err()) }
func (r rowsAdapter) Scan(dest ...any) error { return mapErr(r.Rows.Scan(dest...)) }

type rowAdapter struct{ row pgx.Row }

func (r rowAdapter) Scan(dest ...any) error { return mapErr(r.row.Scan(dest...)) }

func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNoRows
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return &store.UniqueError{Constraint: pe.ConstraintName, Err: err}
		case "40001", "40P01", "55P03":
			return fmt.Errorf("%w: %v", store.ErrBusy, err)
		}
	}
	if unreachable(err) {
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	return err
}

// unreachable reports whether err means the server could not be talked to,
// as opposed to a statement it refused: pgxpool reconnects by itself, so
// the same request works once the server is back.
func unreachable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08 is connection exceptions; 57P01-03 a server shutting
		// down, crashed or starting; 53300 too many connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" ||
			pe.Code == "57P03" || pe.Code == "53300"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		// Waiting for a pooled connection while the server does not answer.
		errors.Is(err, context.DeadlineExceeded)
}
