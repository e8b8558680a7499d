package testkit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/password"
)

// FullPool returns a hashing pool of one worker and a queue of one, both
// taken by sign-ins that wait, so the next interactive caller is refused.
// release lets them finish and waits for them.
func FullPool(t *testing.T) (pool *password.Pool, release func()) {
	t.Helper()
	pool = password.NewPool(1, 1)
	hold := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 { // one hashing, one queued
		wg.Go(func() { _ = pool.Do(context.Background(), password.Interactive, func() { <-hold }) })
	}
	for deadline := time.Now().Add(10 * time.Second); pool.Stats().Waiting[password.Interactive] < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pool never filled: %+v", pool.Stats())
		}
	}
	return pool, func() { close(hold); wg.Wait() }
}
