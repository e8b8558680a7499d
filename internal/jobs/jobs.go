// Package jobs runs background work (CSV uploads, reports) on River, a
// database-backed job queue: jobs survive restarts, failed attempts retry
// with backoff, and jobs stuck on a crashed replica are rescued. River's
// PostgreSQL and SQLite drivers have different transaction types; Queue hides
// that so callers enqueue with the store.Tx they already hold, which makes
// "write the upload row" and "enqueue its job" one atomic step.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/roster-dev/roster/internal/store"
)

// Queue names. Uploads and reports get separate worker pools so a burst of
// large reports cannot starve uploads an admin is watching.
const (
	QueueUploads     = "uploads"
	QueueReports     = "reports"
	QueueMaintenance = "maintenance"
)

// Config tunes the workers. Zero values get sensible defaults.
type Config struct {
	UploadWorkers int
	ReportWorkers int
	// PollInterval is how often idle workers look for jobs; SQLite has no
	// LISTEN/NOTIFY across processes, so it bounds pickup latency there.
	PollInterval time.Duration
	// RescueAfter is how long a job may run before another replica assumes
	// its worker died and retries it.
	RescueAfter  time.Duration
	Logger       *slog.Logger
	PeriodicJobs []*river.PeriodicJob
}

// Queue is a River client bound to one engine.
type Queue struct {
	insertTx func(ctx context.Context, tx store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insert   func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	start    func(ctx context.Context) error
	stop     func(ctx context.Context) error
	working  bool
}

// Migrate creates or upgrades River's own tables.
func Migrate(ctx context.Context, db store.Engine) error {
	switch pool := db.Pool().(type) {
	case *pgxpool.Pool:
		return migrate(ctx, riverpgxv5.New(pool))
	case *sql.DB:
		return migrate(ctx, riversqlite.New(pool))
	}
	return fmt.Errorf("jobs: unsupported engine %s", db.Name())
}

func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// New builds a queue. With workers == nil it can only insert jobs (for CLI
// commands that enqueue work for a running server).
func New(db store.Engine, workers *river.Workers, cfg Config) (*Queue, error) {
	switch pool := db.Pool().(type) {
	case *pgxpool.Pool:
		return newQueue[pgx.Tx](riverpgxv5.New(pool), workers, cfg)
	case *sql.DB:
		if cfg.PollInterval == 0 {
			cfg.PollInterval = 200 * time.Millisecond
		}
		return newQueue[*sql.Tx](riversqlite.New(pool), workers, cfg)
	}
	return nil, fmt.Errorf("jobs: unsupported engine %s", db.Name())
}

func newQueue[TTx any](driver riverdriver.Driver[TTx], workers *river.Workers, cfg Config) (*Queue, error) {
	rc := &river.Config{
		Logger:       cfg.Logger,
		JobTimeout:   -1, // jobs check ctx themselves; a 1M-row report may take minutes
		PeriodicJobs: cfg.PeriodicJobs,
	}
	if rc.Logger == nil {
		rc.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PollInterval > 0 {
		rc.FetchPollInterval = cfg.PollInterval
		rc.FetchCooldown = min(cfg.PollInterval, 100*time.Millisecond)
	}
	if cfg.RescueAfter > 0 {
		rc.RescueStuckJobsAfter = cfg.RescueAfter
	}
	if workers != nil {
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: 2},
			QueueUploads:       {MaxWorkers: orDefault(cfg.UploadWorkers, 2)},
			QueueReports:       {MaxWorkers: orDefault(cfg.ReportWorkers, 2)},
			QueueMaintenance:   {MaxWorkers: 1},
		}
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, err
	}
	return &Queue{
		working: workers != nil,
		insertTx: func(ctx context.Context, tx store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			native, ok := tx.Native().(TTx)
			if !ok {
				return nil, errors.New("jobs: transaction belongs to another engine")
			}
			return client.InsertTx(ctx, native, args, opts)
		},
		insert: client.Insert,
		start:  client.Start,
		stop:   client.Stop,
	}, nil
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// InsertTx enqueues a job inside tx: it becomes visible to workers only if
// tx commits.
func (q *Queue) InsertTx(ctx context.Context, tx store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return q.insertTx(ctx, tx, args, opts)
}

// Insert enqueues a job outside any transaction.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return q.insert(ctx, args, opts)
}

// Start begins working jobs; it returns at once.
func (q *Queue) Start(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.start(ctx)
}

// Stop waits for running jobs to finish (or ctx to expire); unfinished jobs
// are picked up again after restart.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.working {
		return nil
	}
	return q.stop(ctx)
}
