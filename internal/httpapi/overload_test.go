package httpapi_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/storetest"
)

// When the password hashing pool is busy and its queue full, a sign-in is
// answered 503 with Retry-After at once, for a known login or not, and
// does not count as a failed attempt; once the pool frees, it works.
func TestLoginOverloadIs503(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	pool := password.NewPool(1, 1)
	e.reg.Hashing = pool
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
	for range 11 { // more than the throttle's 10 failures
		for _, login := range []string{"adminA", "nobody"} {
			res := e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": login, "password": testPassword}, nil).
				expect(t, http.StatusServiceUnavailable)
			if ra := res.Header.Get("Retry-After"); ra != "1" {
				t.Fatalf("503 with Retry-After %q, want 1 (second)", ra)
			}
		}
	}
	close(hold)
	wg.Wait()
	e.login("adminA")
}
