package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// When the password hashing pool is busy and its queue full, a sign-in is
// answered 503 with Retry-After at once, for a known login or not, and
// does not count as a failed attempt; once the pool frees, it works.
func TestLoginOverloadIs503(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	pool, release := testkit.FullPool(t)
	e.reg.Hashing = pool
	for range 11 { // more than the throttle's 10 failures
		for _, login := range []string{"adminA", "nobody"} {
			res := e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": login, "password": testPassword}, nil).
				expect(t, http.StatusServiceUnavailable)
			if ra := res.Header.Get("Retry-After"); ra != "1" {
				t.Fatalf("503 with Retry-After %q, want 1 (second)", ra)
			}
		}
	}
	release()
	e.login("adminA")
}
