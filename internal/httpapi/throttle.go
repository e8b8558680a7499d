package httpapi

import (
	"crypto/sha256"
	"strings"
	"sync"
	"time"
)

// loginThrottle slows password guessing: after maxFailures failed logins
// for one login name within window, further attempts for that name are
// refused until the window has passed. Names are kept only as hashes, since
// a login may be an email or phone number. The state is per process, which
// bounds guessing per replica; that is enough against online guessing
// because argon2id already makes each attempt expensive.
type loginThrottle struct {
	mu          sync.Mutex
	maxFailures int
	window      time.Duration
	now         func() time.Time
	failures    map[[32]byte][]time.Time
}

func newLoginThrottle(maxFailures int, window time.Duration) *loginThrottle {
	return &loginThrottle{maxFailures: maxFailures, window: window, now: time.Now, failures: map[[32]byte][]time.Time{}}
}

func throttleKey(login string) [32]byte {
	return sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(login))))
}

// recent drops failures older than the window and returns the rest.
func (t *loginThrottle) recent(k [32]byte) []time.Time {
	cutoff := t.now().Add(-t.window)
	list := t.failures[k]
	i := 0
	for i < len(list) && !list[i].After(cutoff) {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(t.failures, k)
	} else {
		t.failures[k] = list
	}
	return list
}

// Allowed reports whether another attempt for login may be made now, and
// if not, how long until it may.
func (t *loginThrottle) Allowed(login string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := t.recent(throttleKey(login))
	if len(list) < t.maxFailures {
		return true, 0
	}
	return false, list[0].Add(t.window).Sub(t.now())
}

// Failed records a failed attempt.
func (t *loginThrottle) Failed(login string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := throttleKey(login)
	if len(t.failures) > 100_000 {
		// A flood of distinct names: forget everything rather than grow
		// without bound.
		t.failures = map[[32]byte][]time.Time{}
	}
	t.failures[k] = append(t.recent(k), t.now())
}

// Succeeded clears the failures of login.
func (t *loginThrottle) Succeeded(login string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, throttleKey(login))
}
