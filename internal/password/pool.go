package password

import (
	"context"
	"errors"
	"runtime"
	"sync"
)

// Lane says who is waiting for a hash, which decides how the pool shares
// its workers.
type Lane int

const (
	// Interactive is a person waiting on a request: sign-in, a password
	// set through the API. Its queue is bounded; beyond it Do refuses with
	// ErrBusy at once, so a burst of sign-ins costs a refusal, not memory.
	Interactive Lane = iota
	// Bulk is background work (CSV uploads, demo data). It is never
	// refused: its callers are few (an upload's hashing goroutines) and
	// rather wait than fail a file.
	Bulk
)

// DefaultQueuePerWorker sizes the interactive queue: with argon2id at its
// default cost (tens of milliseconds), eight hashes per worker wait well
// under a second, after which refusing with Retry-After beats holding the
// request open.
const DefaultQueuePerWorker = 8

// ErrBusy is returned by Do when the interactive queue is full.
var ErrBusy = errors.New("password: too many hashes waiting")

// Pool bounds how many hashes run at once, and so the memory they take:
// each argon2id hash allocates its whole memory cost (19 MiB by default),
// so Workers × 19 MiB is the most hashing ever holds, however many sign-ins
// arrive.
//
// Sharing: a free worker goes to the oldest waiting Interactive caller,
// except that Bulk always keeps at least one worker while it has work
// waiting: when Bulk runs nothing, the next free worker is its. So a sign-in
// waits at most for one hash to finish (plus those queued before it), and
// an upload keeps hashing at no less than one worker's pace however many
// sign-ins queue. With a single worker the two lanes take turns.
type Pool struct {
	workers, maxQueue int

	mu      sync.Mutex
	running [2]int
	waiting [2][]*waiter
}

type waiter struct {
	lane    Lane
	ready   chan struct{}
	granted bool // set under Pool.mu when a worker is handed over
}

// NewPool returns a pool of workers running hashes at once (zero or less:
// GOMAXPROCS, since argon2id is CPU-bound and more would only queue inside
// the scheduler while holding their memory) with room for queue waiting
// Interactive callers (zero or less: DefaultQueuePerWorker per worker).
func NewPool(workers, queue int) *Pool {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if queue <= 0 {
		queue = DefaultQueuePerWorker * workers
	}
	return &Pool{workers: workers, maxQueue: queue}
}

// Workers is how many hashes run at most at once.
func (p *Pool) Workers() int { return p.workers }

// Queue is how many Interactive callers may wait.
func (p *Pool) Queue() int { return p.maxQueue }

// Do runs f on a worker of lane. It returns ErrBusy without running f when
// lane is Interactive and its queue is full, and ctx's error when ctx ends
// while waiting.
func (p *Pool) Do(ctx context.Context, lane Lane, f func()) error {
	if err := p.acquire(ctx, lane); err != nil {
		return err
	}
	defer p.release(lane)
	f()
	return nil
}

func (p *Pool) acquire(ctx context.Context, lane Lane) error {
	p.mu.Lock()
	// A worker is handed straight to a waiter when it frees, so a free
	// worker means nobody waits and the caller may take it.
	if p.running[Interactive]+p.running[Bulk] < p.workers {
		p.running[lane]++
		p.mu.Unlock()
		return nil
	}
	if lane == Interactive && len(p.waiting[Interactive]) >= p.maxQueue {
		p.mu.Unlock()
		return ErrBusy
	}
	w := &waiter{lane: lane, ready: make(chan struct{})}
	p.waiting[lane] = append(p.waiting[lane], w)
	p.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		if w.granted {
			// Handed a worker just as ctx ended: pass it on.
			p.mu.Unlock()
			p.release(lane)
			return ctx.Err()
		}
		q := p.waiting[lane]
		for i := range q {
			if q[i] == w {
				p.waiting[lane] = append(q[:i:i], q[i+1:]...)
				break
			}
		}
		p.mu.Unlock()
		return ctx.Err()
	}
}

func (p *Pool) release(lane Lane) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[lane]--
	next := p.next(lane)
	if next == nil {
		return
	}
	q := p.waiting[next.lane]
	p.waiting[next.lane] = q[1:]
	p.running[next.lane]++
	next.granted = true
	close(next.ready)
}

// next picks who gets the worker just freed by lane freed (see Pool).
func (p *Pool) next(freed Lane) *waiter {
	bulk, inter := p.waiting[Bulk], p.waiting[Interactive]
	if len(bulk) > 0 && p.running[Bulk] == 0 && (p.workers > 1 || freed == Interactive) {
		return bulk[0]
	}
	if len(inter) > 0 {
		return inter[0]
	}
	if len(bulk) > 0 {
		return bulk[0]
	}
	return nil
}

// Stats is a snapshot of the pool, for metrics and tests.
type Stats struct {
	Running, Waiting [2]int // indexed by Lane
}

// Stats returns how many hashes run and wait in each lane.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Running: p.running, Waiting: [2]int{len(p.waiting[0]), len(p.waiting[1])}}
}
