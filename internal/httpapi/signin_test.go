package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/httpapi"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// fakeClock is the throttle's time, moved only by the test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (e *env) throttleClock() *fakeClock {
	c := &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	httpapi.SetThrottleClock(e.api, c.Now)
	return c
}

// loginFrom signs in as if from the client address addr (host:port).
func (e *env) loginFrom(addr, login, password string) *httptest.ResponseRecorder {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"login": login, "password": password})
	req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	return rec
}

func retryAfter(t *testing.T, rec *httptest.ResponseRecorder) time.Duration {
	t.Helper()
	n, err := strconv.Atoi(rec.Header().Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("429 with Retry-After %q", rec.Header().Get("Retry-After"))
	}
	return time.Duration(n) * time.Second
}

// phoneWritings are ways to write +91 98765 43210 that sign-in accepts.
var phoneWritings = []string{"9876543210", "+919876543210", "+91 98765 43210", "+91-98765-43210",
	"09876543210", "919876543210", " 9876543210 ", "98765 43210", "98765-43210", "(98765) 43210"}

// The reproduction: one phone number written many ways gave ten
// guesses per writing. Now every writing counts against one account, and
// the guesser's address slows down too.
func TestSignInThrottleCountsOneAccountHoweverWritten(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		if _, err := e.reg.CreateUser(context.Background(), roster.SystemPrincipal, registry.NewUser{
			User: roster.User{FirstName: "Priya", Phone: "9876543210"}, Password: testPassword, OrgID: e.stateA.ID,
		}); err != nil {
			t.Fatal(err)
		}
		for _, w := range phoneWritings {
			if keys := e.reg.LoginKeys(w); len(keys) < 2 || keys[len(keys)-1] != e.reg.LoginKeys("9876543210")[1] {
				t.Fatalf("%q does not name the phone's account", w)
			}
		}
		clock := e.throttleClock()
		const attacker = "198.51.100.7:4000"
		guesses := 0
		for i := range 500 {
			rec := e.loginFrom(attacker, phoneWritings[i%len(phoneWritings)], "guess-"+strconv.Itoa(i))
			switch rec.Code {
			case http.StatusUnauthorized:
				guesses++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("attempt %d: status %d", i, rec.Code)
			}
		}
		if guesses != 5 {
			t.Fatalf("500 attempts at once made %d guesses, want the 5 free ones", guesses)
		}

		// A patient guesser who waits out every delay for an hour.
		end := clock.Now().Add(time.Hour)
		for i := 0; clock.Now().Before(end); i++ {
			rec := e.loginFrom(attacker, phoneWritings[i%len(phoneWritings)], "patient-"+strconv.Itoa(i))
			switch rec.Code {
			case http.StatusUnauthorized:
				guesses++
			case http.StatusTooManyRequests:
				clock.Add(retryAfter(t, rec))
			default:
				t.Fatalf("status %d", rec.Code)
			}
		}
		// 5 free, 5 more within half a minute, then the address's delay
		// doubles to 15 minutes: about two dozen, where 500 were made in 39 s.
		if guesses > 25 {
			t.Fatalf("%d guesses in an hour", guesses)
		}

		// The owner, elsewhere, is slowed (the account is under attack) but
		// not locked out: at most the account's 30 s cap.
		rec := e.loginFrom(attacker, "9876543210", "patient-last")
		const owner = "203.0.113.20:5000"
		rec = e.loginFrom(owner, "+91 98765 43210", testPassword)
		if rec.Code == http.StatusTooManyRequests {
			wait := retryAfter(t, rec)
			if wait > 30*time.Second {
				t.Fatalf("owner told to wait %v", wait)
			}
			clock.Add(wait)
			rec = e.loginFrom(owner, "+91 98765 43210", testPassword)
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("owner's sign-in: status %d, body %s", rec.Code, rec.Body)
		}
		// The attacker's address is still slowed; a success elsewhere
		// cleared only the account.
		if rec := e.loginFrom(attacker, "9876543210", "again"); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("attacker after the owner's sign-in: status %d", rec.Code)
		}
	})
}

// Ten wrong passwords used to lock the owner out for 15 minutes.
func TestSignInThrottleIsNoLockout(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		clock := e.throttleClock()
		const stranger, owner = "198.51.100.8:1", "[2001:db8:1::5]:2"
		for i := range 10 {
			if rec := e.loginFrom(stranger, "adminA", "guess-"+strconv.Itoa(i)); rec.Code == http.StatusTooManyRequests {
				clock.Add(retryAfter(t, rec))
			}
		}
		rec := e.loginFrom(owner, "ADMINA", testPassword)
		if rec.Code == http.StatusTooManyRequests {
			wait := retryAfter(t, rec)
			if wait > 30*time.Second {
				t.Fatalf("owner told to wait %v", wait)
			}
			clock.Add(wait)
			rec = e.loginFrom(owner, "ADMINA", testPassword)
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("owner locked out: status %d", rec.Code)
		}
		// Other accounts from other addresses never wait.
		if rec := e.loginFrom("192.0.2.1:3", "adminB", testPassword); rec.Code != http.StatusOK {
			t.Fatalf("other account: status %d", rec.Code)
		}
	})
}
