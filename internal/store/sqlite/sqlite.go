// Package sqlite is the embedded storage engine: a single SQLite file in WAL
// mode through the pure-Go modernc driver, so `roster serve` needs no
// database server and no cgo.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/roster-dev/roster/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open SQLite database.
type DB struct {
	db    *sql.DB
	path  string
	stmts *stmtCache
	queryer
}

// Options size SQLite's memory for the registry it holds. The library's
// default page cache is 2 MB, which at a million users makes every lookup
// read the disk: upload CPU per row rose 1.6-1.8x from 10k to 1M users.
type Options struct {
	CacheMB int  // page cache per connection; default 32
	MmapMB  int  // memory-mapped I/O window; default 1024 (address space, not RAM)
	MmapOff bool // no memory map (mmap_mb=0)
}

func (o Options) withDefaults() Options {
	if o.CacheMB <= 0 {
		o.CacheMB = 32
	}
	if o.MmapMB <= 0 {
		o.MmapMB = 1024
	}
	if o.MmapOff {
		o.MmapMB = 0
	}
	return o
}

// Open opens (creating if needed) the SQLite file at path with the default
// Options.
func Open(path string) (*DB, error) { return OpenWith(path, Options{}) }

// OpenWith opens (creating if needed) the SQLite file at path. Writers take the
// lock at BEGIN (_txlock=immediate) so two writers queue on the busy timeout
// instead of deadlocking on lock upgrade.
func OpenWith(path string, opt Options) (*DB, error) {
	opt = opt.withDefaults()
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create data directory: %w", err)
		}
	}
	// The driver would create the file 0644 (less the umask), readable by
	// every local user when the directory is not private. Created here
	// first, it is 0600, and SQLite gives the -wal and -shm files the mode
	// of the database file.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	q := url.Values{}
	// busy_timeout first: switching a new file to WAL takes a lock, and
	// replicas opening it together must wait for each other, not fail.
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-"+strconv.Itoa(opt.CacheMB*1024)+")") // negative: KiB
	q.Add("_pragma", "mmap_size("+strconv.FormatInt(int64(opt.MmapMB)<<20, 10)+")")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	// Switching a new file to WAL can fail with SQLITE_BUSY without waiting
	// on busy_timeout when another process is doing the same; retry briefly.
	for attempt := 0; attempt < 50; attempt++ {
		if err = mapErr(db.Ping()); !errors.Is(err, store.ErrBusy) {
			break
		}
		time.Sleep(time.Duration(20+attempt*10) * time.Millisecond)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	stmts := newStmtCache(db)
	return &DB{db: db, path: path, stmts: stmts, queryer: queryer{stmtQueryer{cache: stmts}}}, nil
}

func (d *DB) Name() string { return "sqlite" }
func (d *DB) Pool() any    { return d.db }
func (d *DB) Close() error { d.stmts.close(); return d.db.Close() }
func (d *DB) SQL() *sql.DB { return d.db }

func (d *DB) Begin(ctx context.Context) (store.Tx, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr(err)
	}
	return &Tx{tx: tx, queryer: queryer{stmtQueryer{cache: d.stmts, tx: tx}}}, nil
}

// Migrate applies the embedded goose migrations.
func (d *DB) Migrate(ctx context.Context) error {
	provider, err := goose.NewProvider(goose.DialectSQLite3, d.db, mustSub(migrations, "migrations"))
	if err != nil {
		return err
	}
	_, err = provider.Up(ctx)
	return err
}

// MigrateDownTo rolls migrations back to version; tests use it to load
// rows in an older schema and migrate them forward.
func (d *DB) MigrateDownTo(ctx context.Context, version int64) error {
	provider, err := goose.NewProvider(goose.DialectSQLite3, d.db, mustSub(migrations, "migrations"))
	if err != nil {
		return err
	}
	_, err = provider.DownTo(ctx, version)
	return err
}

// MigrationLock holds an exclusive flock on a file next to the database for
// the duration of fn: SQLite has no advisory locks, and processes sharing
// the file share the directory.
func (d *DB) MigrationLock(ctx context.Context, fn func() error) error {
	f, err := os.OpenFile(d.path+".migrate-lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: migration lock: %w", err)
	}
	defer f.Close()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		} else if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("sqlite: migration lock: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}

// Pending reports whether embedded migrations are not applied yet.
func (d *DB) Pending(ctx context.Context) (bool, error) {
	provider, err := goose.NewProvider(goose.DialectSQLite3, d.db, mustSub(migrations, "migrations"))
	if err != nil {
		return false, err
	}
	return provider.HasPending(ctx)
}

// Tx is an open SQLite transaction.
type Tx struct {
	tx *sql.Tx
	queryer
}

func (t *Tx) Commit(ctx context.Context) error   { return mapErr(t.tx.Commit()) }
func (t *Tx) Rollback(ctx context.Context) error { return t.tx.Rollback() }
func (t *Tx) Native() any                        { return t.tx }

type sqlQueryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type queryer struct{ q sqlQueryer }

func (q queryer) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.q.ExecContext(ctx, positional(query), args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

func (q queryer) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	rows, err := q.q.QueryContext(ctx, positional(query), args...)
	if err != nil {
		return nil, mapErr(err)
	}
	return rowsAdapter{rows}, nil
}

func (q queryer) QueryRow(ctx context.Context, query string, args ...any) store.Row {
	return rowAdapter{q.q.QueryRowContext(ctx, query, args...)}
}

// positional turns "$1, $2, … $n", when each appears once and in order
// outside quotes, into plain "?" parameters. SQLite looks "$n" names up by
// a linear scan, so a multi-row INSERT with thousands of them costs the
// square of their number; "?" costs nothing. Anything else is left as is.
func positional(query string) string {
	if len(query) < 2000 {
		return query // short statements gain nothing
	}
	var b strings.Builder
	b.Grow(len(query))
	next := 1
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '$':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			if n, err := strconv.Atoi(query[i+1 : j]); err != nil || n != next {
				return query
			}
			next++
			b.WriteByte('?')
			i = j - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

type rowsAdapter struct{ *sql.Rows }

func (r rowsAdapter) Close()     { _ = r.Rows.Close() }
func (r rowsAdapter) Err() error { return mapErr(r.Rows.Err()) }

type rowAdapter struct{ row *sql.Row }

func (r rowAdapter) Scan(dest ...any) error { return mapErr(r.row.Scan(dest...)) }

func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNoRows
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// "UNIQUE constraint failed: user_lookup.type, user_lookup.value"
			msg := se.Error()
			constraint := msg
			if i := strings.LastIndex(msg, "failed: "); i >= 0 {
				constraint = strings.TrimSuffix(msg[i+len("failed: "):], ")")
			}
			return &store.UniqueError{Constraint: constraint, Err: err}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_BUSY_SNAPSHOT:
			return fmt.Errorf("%w: %v", store.ErrBusy, err)
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL:
			// The file or its disk failed, not the statement: retrying
			// later is all a caller can do.
			return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
		}
	}
	return err
}
