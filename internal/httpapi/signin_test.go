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

// meStatus is GET /me with token: 200 while its session lives.
func (e *env) meStatus(token string) int {
	e.t.Helper()
	return e.do(http.MethodGet, "/api/v1/me", token, nil, nil).StatusCode
}

type tokenBody struct {
	Token string `json:"token"`
}

func TestChangeOwnPasswordNeedsTheCurrentOneAndEndsOtherSessions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		u := e.createUser(e.stateA.ID, "learner", "learner@example.org")
		laptop, phone := e.login("learner"), e.login("learner")
		const newPassword = "N3w-passphrase"

		// The reproduction: a session alone changed the password.
		res := e.do(http.MethodPatch, "/api/v1/users/"+u.ID, laptop, map[string]any{"password": newPassword}, nil).
			expect(t, http.StatusUnprocessableEntity)
		if p := res.problem(t); len(p.Errors) != 1 || p.Errors[0].Location != "body.password" {
			t.Fatalf("self PATCH of password: %s", res.body)
		}

		res = e.do(http.MethodPost, "/api/v1/me/password", laptop,
			map[string]string{"currentPassword": "not-it-at-all", "newPassword": newPassword}, nil).
			expect(t, http.StatusUnprocessableEntity)
		if p := res.problem(t); len(p.Errors) != 1 || p.Errors[0].Location != "body.currentPassword" {
			t.Fatalf("wrong current password: %s", res.body)
		}
		if e.meStatus(laptop) != http.StatusOK {
			t.Fatal("a refused change ended the session")
		}

		var out tokenBody
		res = e.do(http.MethodPost, "/api/v1/me/password", laptop,
			map[string]string{"currentPassword": testPassword, "newPassword": newPassword}, &out).
			expect(t, http.StatusOK)
		var cookie *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == httpapi.SessionCookie {
				cookie = c
			}
		}
		if out.Token == "" || cookie == nil || cookie.Value != out.Token || !cookie.HttpOnly {
			t.Fatalf("no fresh token and cookie: %s, cookie %v", res.body, cookie)
		}
		// Within the same second as the change: the old tokens are dead,
		// the new one lives.
		if e.meStatus(laptop) != http.StatusUnauthorized || e.meStatus(phone) != http.StatusUnauthorized {
			t.Fatal("tokens issued before the change still work")
		}
		if e.meStatus(out.Token) != http.StatusOK {
			t.Fatal("the fresh token does not work")
		}
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "learner", "password": testPassword}, nil).
			expect(t, http.StatusUnauthorized)
		if e.meStatus(e.loginWith("learner", newPassword)) != http.StatusOK {
			t.Fatal("a sign-in right after the change does not work")
		}
	})
}

func TestAdminPasswordResetEndsTheUsersSessions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		u := e.createUser(e.stateA.ID, "learner", "learner@example.org")
		stolen := e.login("learner")
		admin := e.login("adminA")
		if e.meStatus(stolen) != http.StatusOK {
			t.Fatal("setup")
		}
		e.do(http.MethodPatch, "/api/v1/users/"+u.ID, admin, map[string]any{"password": "Reset-by-admin1"}, nil).
			expect(t, http.StatusOK)
		if e.meStatus(stolen) != http.StatusUnauthorized {
			t.Fatal("a token issued before the reset still works")
		}
		if e.meStatus(admin) != http.StatusOK {
			t.Fatal("the admin's own session ended")
		}
		if e.meStatus(e.loginWith("learner", "Reset-by-admin1")) != http.StatusOK {
			t.Fatal("a sign-in after the reset does not work")
		}
		// A change of other fields leaves sessions alone.
		fresh := e.loginWith("learner", "Reset-by-admin1")
		e.do(http.MethodPatch, "/api/v1/users/"+u.ID, admin, map[string]any{"lastName": "Renamed"}, nil).expect(t, http.StatusOK)
		if e.meStatus(fresh) != http.StatusOK {
			t.Fatal("a name change ended the session")
		}
	})
}

// Guessing the current password through a stolen session is slowed like
// sign-in.
func TestChangeOwnPasswordGuessesAreThrottled(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.throttleClock()
	e.createUser(e.stateA.ID, "learner", "learner@example.org")
	tok := e.login("learner")
	codes := map[int]int{}
	for i := range 20 {
		res := e.do(http.MethodPost, "/api/v1/me/password", tok,
			map[string]string{"currentPassword": "guess-" + strconv.Itoa(i), "newPassword": "N3w-passphrase"}, nil)
		codes[res.StatusCode]++
	}
	if codes[http.StatusUnprocessableEntity] != 5 || codes[http.StatusTooManyRequests] != 15 {
		t.Fatalf("answers: %v", codes)
	}
}
