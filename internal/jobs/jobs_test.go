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
