package password

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// gate makes hashes the test steps through one by one: each job reports
// its lane on started, then waits for one token on step. close(step) lets
// everything run.
type gate struct {
	started chan Lane
	step    chan struct{}
}

func newGate() *gate { return &gate{started: make(chan Lane, 1000), step: make(chan struct{})} }

func (g *gate) job(lane Lane) func() {
	return func() {
		g.started <- lane
		<-g.step
	}
}

// next is the lane of the next hash to start; a pool that hands the freed
// worker to nobody fails it after 10 s.
func (g *gate) next(t *testing.T) Lane {
	t.Helper()
	select {
	case lane := <-g.started:
		return lane
	case <-time.After(10 * time.Second):
		t.Fatal("no hash started")
		return 0
	}
}

// waitFor polls the pool until cond holds; a wrong pool fails it after 10 s.
func waitFor(t *testing.T, p *Pool, what string, cond func(Stats) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(p.Stats()); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: pool is %+v", what, p.Stats())
		}
	}
}

// However many callers on both lanes, no more than Workers hashes run at
// once, and every caller's hash runs.
func TestPoolNeverRunsMoreThanWorkers(t *testing.T) {
	const workers, callers = 3, 60
	p := NewPool(workers, callers)
	var mu sync.Mutex
	running, most, ran := 0, 0, 0
	all := make(chan struct{})
	var once sync.Once
	f := func() {
		mu.Lock()
		running++
		ran++
		most = max(most, running)
		if running == workers {
			once.Do(func() { close(all) })
		}
		mu.Unlock()
		// The first hashes wait for each other, so reaching Workers at
		// once does not depend on scheduling; a pool without a bound
		// would let all callers in meanwhile.
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range callers {
		lane := Interactive
		if i%3 == 0 {
			lane = Bulk
		}
		wg.Go(func() {
			if err := p.Do(context.Background(), lane, f); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if most != workers {
		t.Errorf("at most %d hashes ran at once, want exactly %d", most, workers)
	}
	if ran != callers {
		t.Errorf("%d of %d hashes ran", ran, callers)
	}
	if s := p.Stats(); s != (Stats{}) {
		t.Errorf("pool not empty afterwards: %+v", s)
	}
}

// A full interactive queue refuses at once with ErrBusy; bulk work queues
// instead; a caller whose context ends leaves the queue.
func TestPoolRefusesWhenQueueFull(t *testing.T) {
	p := NewPool(1, 2)
	g := newGate()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	wg.Go(func() { errs <- p.Do(ctx, Interactive, g.job(Interactive)) })
	<-g.started
	for range 2 {
		wg.Go(func() { errs <- p.Do(ctx, Interactive, g.job(Interactive)) })
	}
	waitFor(t, p, "two queued sign-ins", func(s Stats) bool { return s.Waiting[Interactive] == 2 })

	ran := false
	if err := p.Do(ctx, Interactive, func() { ran = true }); !errors.Is(err, ErrBusy) || ran {
		t.Fatalf("third queued sign-in: err %v, ran %v; want ErrBusy without running", err, ran)
	}
	wg.Go(func() { errs <- p.Do(ctx, Bulk, g.job(Bulk)) })
	waitFor(t, p, "queued bulk hash", func(s Stats) bool { return s.Waiting[Bulk] == 1 })

	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { gone <- p.Do(cctx, Bulk, func() { t.Error("cancelled caller ran") }) }()
	waitFor(t, p, "second queued bulk hash", func(s Stats) bool { return s.Waiting[Bulk] == 2 })
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	if s := p.Stats(); s.Waiting[Bulk] != 1 {
		t.Fatalf("cancelled caller still queued: %+v", s)
	}

	close(g.step)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(g.started); n != 3 {
		t.Errorf("%d queued hashes ran after the first, want 3", n)
	}
}

// An upload hashing while sign-ins keep the interactive queue full still
// makes progress, and sign-ins are still served meanwhile. The test hands
// out one worker at a time and counts who gets it.
func TestPoolBulkProgressesUnderSignIns(t *testing.T) {
	for _, workers := range []int{1, 2} {
		p := NewPool(workers, 100)
		g := newGate()
		ctx := context.Background()
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() { _ = p.Do(ctx, Interactive, g.job(Interactive)) })
			<-g.started
		}
		const queued, bulkJobs = 10, 3
		for range queued {
			wg.Go(func() { _ = p.Do(ctx, Interactive, g.job(Interactive)) })
		}
		waitFor(t, p, "queued sign-ins", func(s Stats) bool { return s.Waiting[Interactive] == queued })
		bulkDone := 0
		var mu sync.Mutex
		wg.Go(func() { // one upload hashing its rows one after another
			for range bulkJobs {
				_ = p.Do(ctx, Bulk, g.job(Bulk))
				mu.Lock()
				bulkDone++
				mu.Unlock()
			}
		})
		bulkRan, signIns := 0, 0
		for steps := 0; bulkRan < bulkJobs; steps++ {
			if steps > queued+bulkJobs {
				t.Fatalf("%d workers: upload hashed %d of %d rows in %d steps", workers, bulkRan, bulkJobs, steps)
			}
			// Step only once the upload is waiting again (or hashing), so
			// the count does not depend on goroutine scheduling.
			waitFor(t, p, "upload queued", func(s Stats) bool {
				mu.Lock()
				defer mu.Unlock()
				return s.Running[Bulk] > 0 || s.Waiting[Bulk] == 1 || bulkDone == bulkJobs
			})
			g.step <- struct{}{}
			if g.next(t) == Bulk {
				bulkRan++
			} else {
				signIns++
			}
		}
		if s := p.Stats(); s.Waiting[Interactive] == 0 {
			t.Errorf("%d workers: the upload finished only after the sign-in queue drained", workers)
		}
		if signIns == 0 {
			t.Errorf("%d workers: no sign-in was served while the upload hashed", workers)
		}
		close(g.step)
		wg.Wait()
	}
}

// An upload keeping every worker busy with more rows waiting does not
// delay a sign-in beyond the next free worker.
func TestPoolSignInNotStarvedByBulk(t *testing.T) {
	p := NewPool(2, 10)
	g := newGate()
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 4 { // an upload's hashing goroutines, more than workers
		wg.Go(func() {
			for range 5 {
				_ = p.Do(ctx, Bulk, g.job(Bulk))
			}
		})
	}
	<-g.started
	<-g.started
	waitFor(t, p, "upload saturating", func(s Stats) bool { return s.Waiting[Bulk] == 2 })
	wg.Go(func() { _ = p.Do(ctx, Interactive, g.job(Interactive)) })
	waitFor(t, p, "sign-in queued", func(s Stats) bool { return s.Waiting[Interactive] == 1 })
	g.step <- struct{}{}
	if lane := g.next(t); lane != Interactive {
		t.Fatalf("the freed worker went to the upload while a sign-in waited")
	}
	close(g.step)
	wg.Wait()
	if n := len(g.started); n != 4*5-2 {
		t.Errorf("%d more hashes ran, want %d", n, 4*5-2)
	}
}
