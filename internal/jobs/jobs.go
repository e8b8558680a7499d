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

// DefaultRescueAfter is how long one attempt of a job may run. Past it the
// attempt's context is cancelled, and a job still marked running (its
// worker was killed, or a shutdown outlived its grace period) is run again
// by whichever process leads the queue. River's own default is an hour, and
// with the infinite job timeout Roster used before it never rescued at all,
// leaving a killed upload IN_PROGRESS forever.
//
// Five minutes is far above any attempt's run time (1000 upload rows take
// about 15 s, a 1M-row report about 25 s on 2 cores), and a job run twice,
// or rescued while it still runs, is harmless for both kinds:
//   - uploads skip rows that already have an outcome and lock the upload
//     per chunk, so two runs never create a user or record a row twice;
//   - reports (internal/report/jobs.go) write to a private temporary file
//     and rename it into place, and only a request still SUBMITTED or
//     PROCESSING is started or finished (store.StartReport, FinishReport),
//     so a second run either stops at once or finishes a request that is
//     already SUCCESS without changing its record; its archive, complete
//     and under the same password, at most replaces the first one's file.
//
// River's rescuer itself runs only every 30 s (not configurable), so a dead
// worker's job resumes between RescueAfter and RescueAfter + 30 s after its
// attempt started, plus up to 20 s of leader failover when the dead process
// led the queue.
const DefaultRescueAfter = 5 * time.Minute

// Config tunes the workers. Zero values get sensible defaults.
type Config struct {
	UploadWorkers int
	ReportWorkers int
	// PollInterval is how often idle workers look for jobs; SQLite has no
	// LISTEN/NOTIFY across processes, so it bounds pickup latency there.
	PollInterval time.Duration
	// RescueAfter is how long a job attempt may run before it is cancelled
	// and, if its worker died, run again; default DefaultRescueAfter.
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
	// stopAndCancel cancels running jobs' contexts, then waits like stop.
	stopAndCancel func(ctx context.Context) error
	working       bool
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
	rescueAfter := DefaultRescueAfter
	if cfg.RescueAfter > 0 {
		rescueAfter = cfg.RescueAfter
	}
	rc := &river.Config{
		Logger: cfg.Logger,
		// River's rescuer never rescues a job whose timeout is infinite,
		// so attempts get one: an attempt still running at RescueAfter is
		// presumed dead anyway and is about to be run again, so its
		// context is cancelled rather than left to race the new run.
		JobTimeout:           rescueAfter,
		RescueStuckJobsAfter: rescueAfter,
		PeriodicJobs:         cfg.PeriodicJobs,
	}
	if rc.Logger == nil {
		rc.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PollInterval > 0 {
		rc.FetchPollInterval = cfg.PollInterval
		rc.FetchCooldown = min(cfg.PollInterval, 100*time.Millisecond)
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
		insert:        client.Insert,
		start:         client.Start,
		stop:          client.Stop,
		stopAndCancel: client.StopAndCancel,
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

// cancelGrace is how long Stop waits, once ctx has expired, for cancelled
// jobs to return and their attempts to be recorded.
const cancelGrace = 5 * time.Second

// Stop waits for running jobs to finish. If ctx expires first, it cancels
// the jobs' contexts and waits a few seconds more: a cancelled job records
// its attempt as failed and is retried within seconds, here after a
// restart or on another replica, instead of staying "running" until the
// rescuer presumes it dead (RescueAfter).
func (q *Queue) Stop(ctx context.Context) error {
	if !q.working {
		return nil
	}
	err := q.stop(ctx)
	if err != nil && ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelGrace)
		defer cancel()
		if cerr := q.stopAndCancel(cctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return err
}
