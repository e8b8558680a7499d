package upload

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/testkit"
)

// barrierHash returns a hash function whose calls wait until n of them run
// at once (or, all together, 5 s pass), and reports the most that ever ran
// at once.
func barrierHash(n int) (hash func(string) string, peak func() int) {
	giveUp := make(chan struct{})
	time.AfterFunc(5*time.Second, func() { close(giveUp) })
	var mu sync.Mutex
	running, most := 0, 0
	all := make(chan struct{})
	var once sync.Once
	hash = func(pw string) string {
		mu.Lock()
		running++
		most = max(most, running)
		if running == n {
			once.Do(func() { close(all) })
		}
		mu.Unlock()
		select {
		case <-all:
		case <-giveUp:
		}
		mu.Lock()
		running--
		mu.Unlock()
		return "hashed:" + pw
	}
	return hash, func() int { mu.Lock(); defer mu.Unlock(); return most }
}

// Passwords are hashed on Service.Hashers goroutines at once, one per core
// by default; rows with errors are not hashed and clear passwords are
// dropped once hashed.
func TestHashersRunInParallel(t *testing.T) {
	if New(nil, testkit.Keyring(t), registry.New(nil, testkit.Keyring(t))).Hashers != runtime.NumCPU() {
		t.Fatalf("default Hashers is not runtime.NumCPU() = %d", runtime.NumCPU())
	}
	const hashers = 4
	hash, peak := barrierHash(hashers)
	reg := registry.New(nil, testkit.Keyring(t))
	reg.HashPassword = hash
	reg.Hashing = password.NewPool(hashers, 0) // room for all of them
	s := New(nil, testkit.Keyring(t), reg)
	s.Hashers = hashers

	var recs []*Record
	for i := range 3 * hashers {
		rec := &Record{Row: Row{Number: i + 2}}
		rec.User.Password = "pw-" + string(rune('a'+i))
		if i == 1 {
			rec.Errors = []roster.FieldError{{Field: ColEmail, Message: "is not a valid email address"}}
		}
		recs = append(recs, rec)
	}
	start := time.Now()
	s.hashPasswords(t.Context(), recs)
	if p := peak(); p != hashers {
		t.Fatalf("at most %d hashes ran at once, want %d", p, hashers)
	}
	// Had fewer than Hashers run at once, the first calls would have
	// waited out the barrier's timeout.
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("hashing waited %s: the calls did not run together", d)
	}
	for i, rec := range recs {
		want, pw := "hashed:pw-"+string(rune('a'+i)), ""
		if i == 1 {
			want, pw = "", "pw-b"
		}
		if rec.User.User.PasswordHash != want || rec.User.Password != pw {
			t.Errorf("row %d: hash %q password %q", rec.Row.Number, rec.User.User.PasswordHash, rec.User.Password)
		}
	}
}

// An upload's hashing goroutines go through the registry's hashing pool:
// with more goroutines than pool workers, no more than the workers hash at
// once (the rest wait in the pool's bulk lane).
func TestUploadHashingBoundedByPool(t *testing.T) {
	const workers, hashers = 2, 5
	reg := registry.New(nil, testkit.Keyring(t))
	reg.Hashing = password.NewPool(workers, 0)
	var mu sync.Mutex
	running, most, hashed := 0, 0, 0
	released := false
	reg.HashPassword = func(pw string) string {
		mu.Lock()
		running++
		hashed++
		most = max(most, running)
		mu.Unlock()
		// Hold the first hashes until the other goroutines are either
		// queued in the pool or (without one) hashing too.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			mu.Lock()
			done := released || running > workers || reg.Hashing.Stats().Waiting[password.Bulk] == hashers-workers
			released = done
			mu.Unlock()
			if done {
				break
			}
		}
		mu.Lock()
		running--
		mu.Unlock()
		return "hashed:" + pw
	}
	s := New(nil, testkit.Keyring(t), reg)
	s.Hashers = hashers
	recs := make([]*Record, 3*hashers)
	for i := range recs {
		recs[i] = &Record{Row: Row{Number: i + 2}}
		recs[i].User.Password = "Welcome@2024"
	}
	s.hashPasswords(t.Context(), recs)
	if most != workers {
		t.Errorf("%d hashes ran at once with a pool of %d", most, workers)
	}
	if hashed != len(recs) {
		t.Errorf("%d of %d rows hashed", hashed, len(recs))
	}
}
