package jobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

type pingArgs struct{ N int }

func (pingArgs) Kind() string { return "test_ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	attempts *atomic.Int32
	done     chan int
}

// Fails the first attempt so the test proves retries happen.
func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	if w.attempts.Add(1) == 1 {
		return errors.New("transient")
	}
	w.done <- job.Args.N
	return nil
}

func (w *pingWorker) NextRetry(*river.Job[pingArgs]) time.Time { return time.Now() }

// A job enqueued in a transaction runs only if the transaction commits, and
// a failed attempt is retried: on both engines.
func TestQueueTransactionalInsertAndRetry(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		w := &pingWorker{attempts: new(atomic.Int32), done: make(chan int, 4)}
		workers := river.NewWorkers()
		river.AddWorker(workers, w)
		q, err := jobs.New(db, workers, jobs.Config{PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Stop(context.Background()) })

		rolledBack := errors.New("roll back")
		err = store.InTx(ctx, db, func(tx store.Tx) error {
			if _, err := q.InsertTx(ctx, tx, pingArgs{N: 1}, nil); err != nil {
				return err
			}
			return rolledBack
		})
		if !errors.Is(err, rolledBack) {
			t.Fatal(err)
		}
		err = store.InTx(ctx, db, func(tx store.Tx) error {
			_, err := q.InsertTx(ctx, tx, pingArgs{N: 2}, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-w.done:
			if n != 2 {
				t.Fatalf("worked job %d; the rolled-back job must never run", n)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("job was not worked")
		}
		if got := w.attempts.Load(); got != 2 {
			t.Fatalf("attempts = %d, want 2 (one failure, one retry)", got)
		}
	})
}

type blockArgs struct{ Name string }

func (blockArgs) Kind() string { return "test_block" }

// blockWorker runs until its context ends (or, when quick is set, returns
// at once) and reports how its context ended.
type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started chan string
	ended   chan error
	quick   bool
}

func (w *blockWorker) Work(ctx context.Context, job *river.Job[blockArgs]) error {
	w.started <- job.Args.Name
	if w.quick {
		return nil
	}
	// A bounded wait, so that a broken cancellation fails the test
	// instead of hanging it.
	select {
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
	}
	w.ended <- ctx.Err()
	return errors.New("stopped")
}

func (w *blockWorker) NextRetry(*river.Job[blockArgs]) time.Time { return time.Now() }

func newBlockWorker(quick bool) (*blockWorker, *river.Workers) {
	w := &blockWorker{started: make(chan string, 8), ended: make(chan error, 8), quick: quick}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	return w, workers
}

func startQueue(t *testing.T, db store.Engine, workers *river.Workers, cfg jobs.Config) *jobs.Queue {
	t.Helper()
	cfg.PollInterval = 50 * time.Millisecond
	q, err := jobs.New(db, workers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	return q
}

func jobState(t *testing.T, db store.Engine, id int64) string {
	t.Helper()
	var state string
	if err := db.QueryRow(context.Background(), `SELECT CAST(state AS TEXT) FROM river_job WHERE id = $1`, id).Scan(&state); err != nil {
		t.Fatal(err)
	}
	return state
}

// markRunning makes a job look like a worker took it up `ago` and then
// died: state running, attempt 1, nobody finishing it.
func markRunning(t *testing.T, db store.Engine, id int64, ago time.Duration) {
	t.Helper()
	at := time.Now().Add(-ago).UTC()
	var arg any = at
	if db.Name() == "sqlite" {
		// River compares SQLite times as text in exactly this layout.
		arg = at.Format("2006-01-02 15:04:05.000")
	}
	if _, err := db.Exec(context.Background(), `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = $2 WHERE id = $1`, id, arg); err != nil {
		t.Fatal(err)
	}
}

// With the default configuration a job whose worker died more than
// DefaultRescueAfter ago is run again; one that started recently is left
// alone. River's own default (an hour, and never with an infinite job
// timeout) would leave both.
func TestDefaultRescueRunsDeadWorkersJobs(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		inserter, err := jobs.New(db, nil, jobs.Config{})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]int64{}
		for name, ago := range map[string]time.Duration{"dead": jobs.DefaultRescueAfter + time.Minute, "young": time.Minute} {
			res, err := inserter.Insert(ctx, blockArgs{Name: name}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids[name] = res.Job.ID
			markRunning(t, db, res.Job.ID, ago)
		}
		w, workers := newBlockWorker(true)
		startQueue(t, db, workers, jobs.Config{})
		select {
		case name := <-w.started:
			if name != "dead" {
				t.Fatalf("rescued %q", name)
			}
		case <-time.After(45 * time.Second):
			t.Fatalf("the dead worker's job was not rescued (state %s)", jobState(t, db, ids["dead"]))
		}
		// The rescuer handles both jobs in one pass, which is over by now.
		if s := jobState(t, db, ids["young"]); s != "running" {
			t.Fatalf("a job started a minute ago was rescued: %s", s)
		}
	})
}

// An attempt may not run longer than RescueAfter: past it the attempt is
// presumed dead and will be run again, so its context is cancelled.
func TestAttemptCancelledAtRescueAfter(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		w, workers := newBlockWorker(false)
		q := startQueue(t, db, workers, jobs.Config{RescueAfter: 300 * time.Millisecond})
		if _, err := q.Insert(ctx, blockArgs{Name: "long"}, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-w.ended:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("attempt ended with %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a long attempt was never cancelled")
		}
	})
}

// A stop whose grace period runs out cancels the running jobs, so they
// record a failed attempt and are retried soon, instead of staying
// "running" until the rescuer presumes them dead.
func TestStopCancelsJobsWhenGraceRunsOut(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		w, workers := newBlockWorker(false)
		q := startQueue(t, db, workers, jobs.Config{})
		res, err := q.Insert(ctx, blockArgs{Name: "busy"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.started:
		case <-time.After(20 * time.Second):
			t.Fatal("job not started")
		}
		sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if err := q.Stop(sctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop = %v, want the grace period's deadline", err)
		}
		select {
		case err := <-w.ended:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("job ended with %v", err)
			}
		default:
			t.Fatal("the running job's context was not cancelled")
		}
		if s := jobState(t, db, res.Job.ID); s != "retryable" && s != "available" {
			t.Fatalf("job state after stop: %s", s)
		}
	})
}
