package upload

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster"
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
	if New(registry.New(nil, testkit.Keyring(t))).Hashers != runtime.NumCPU() {
		t.Fatalf("default Hashers is not runtime.NumCPU() = %d", runtime.NumCPU())
	}
	const hashers = 4
	hash, peak := barrierHash(hashers)
	reg := registry.New(nil, testkit.Keyring(t))
	reg.HashPassword = hash
	s := New(reg)
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
	s.hashPasswords(recs)
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
