package httpapi

import (
	"net"
	"sync"
	"time"
)

// loginThrottle slows password guessing with delays that grow with each
// failure instead of a lockout: a lockout lets anyone who knows a login shut
// its owner out. Failures are counted twice:
//
//   - per account, under every key the login may name (the registry's
//     blind indexes, so one phone written fifty ways is one account): after
//     accountPolicy.free failures each attempt must wait 1 s, 2 s, 4 s … up
//     to 30 s after the previous failure. The cap is short because anyone can
//     trigger it: the owner signing in from elsewhere waits at most that.
//   - per client address: after clientPolicy.free failures, 1 s doubling up
//     to 15 minutes. Only the guesser's own address pays this, so it can be
//     long.
//
// A count is forgotten once its delay has passed and a quarter hour more
// has gone by without a failure. The state is per process and bounded (see
// maxEntries); argon2id already makes each attempt expensive.
type loginThrottle struct {
	mu      sync.Mutex
	now     func() time.Time
	account backoff
	client  backoff
	forget  time.Duration
	max     int
	strikes map[string]strike
}

// backoff is a delay schedule: none for the first free failures, then
// base doubling up to max.
type backoff struct {
	free      int
	base, max time.Duration
}

func (b backoff) delay(failures int) time.Duration {
	if failures < b.free {
		return 0
	}
	d := b.base
	for range failures - b.free {
		if d *= 2; d >= b.max {
			return b.max
		}
	}
	return min(d, b.max)
}

type strike struct {
	failures int
	last     time.Time
	policy   *backoff
}

// until is when the next attempt under this key may be made.
func (s strike) until() time.Time { return s.last.Add(s.policy.delay(s.failures)) }

const (
	accountKeyPrefix = "account:"
	clientKeyPrefix  = "client:"
	// maxEntries bounds memory (about 100 bytes an entry).
	maxEntries = 100_000
)

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{
		now:     time.Now,
		account: backoff{free: 5, base: time.Second, max: 30 * time.Second},
		client:  backoff{free: 10, base: time.Second, max: 15 * time.Minute},
		forget:  15 * time.Minute,
		max:     maxEntries,
		strikes: map[string]strike{},
	}
}

func (t *loginThrottle) keys(accounts []string, client string) []string {
	out := make([]string, 0, len(accounts)+1)
	for _, a := range accounts {
		out = append(out, accountKeyPrefix+a)
	}
	if client != "" {
		out = append(out, clientKeyPrefix+client)
	}
	return out
}

func (t *loginThrottle) policy(key string) *backoff {
	if len(key) >= len(clientKeyPrefix) && key[:len(clientKeyPrefix)] == clientKeyPrefix {
		return &t.client
	}
	return &t.account
}

// live returns the strike of key unless it has been forgotten.
func (t *loginThrottle) live(key string, now time.Time) (strike, bool) {
	s, ok := t.strikes[key]
	if ok && now.After(s.until().Add(t.forget)) {
		delete(t.strikes, key)
		return strike{}, false
	}
	return s, ok
}

// Allowed reports whether a sign-in to any of accounts from client may be
// tried now, and if not, how long until it may.
func (t *loginThrottle) Allowed(accounts []string, client string) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range t.keys(accounts, client) {
		if s, ok := t.live(k, now); ok {
			wait = max(wait, s.until().Sub(now))
		}
	}
	return wait <= 0, wait
}

// Failed records a failed attempt.
func (t *loginThrottle) Failed(accounts []string, client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	keys := t.keys(accounts, client)
	if len(t.strikes)+len(keys) > t.max {
		t.evict(now)
	}
	for _, k := range keys {
		s, _ := t.live(k, now)
		s.failures++
		s.last, s.policy = now, t.policy(k)
		t.strikes[k] = s
	}
}

// evict makes room: first the forgotten counts, then arbitrary ones (map
// order is random, so a flood of new keys cannot pick whom it evicts).
// Clearing everything instead would let a flood wipe a victim's count.
func (t *loginThrottle) evict(now time.Time) {
	for k := range t.strikes {
		t.live(k, now)
	}
	for k := range t.strikes {
		if len(t.strikes) <= t.max*9/10 {
			return
		}
		delete(t.strikes, k)
	}
}

// Succeeded clears the account counts. The client's count stays: signing
// in to one's own account between guesses must not reset the guesser.
func (t *loginThrottle) Succeeded(accounts []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.keys(accounts, "") {
		delete(t.strikes, k)
	}
}

// clientAddress is who the client address throttle counts: the host of
// the connection's remote address, with IPv6 cut to its /64, the block one
// subscriber usually holds. Behind a reverse proxy every client shares the
// proxy's address; the account throttle still holds there.
func clientAddress(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
