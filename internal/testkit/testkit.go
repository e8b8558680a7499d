// Package testkit holds the small helpers many packages' tests share: a
// fixed PII key ring, cheap password hashing and a log buffer safe for
// concurrent handlers. It is imported only from tests.
package testkit

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/pii"
)

// DefaultKey is the data key Keyring uses when it is given none, so a test
// can build a rotated ring that still holds it.
var DefaultKey = pii.Key{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}

// Keyring returns a key ring with a fixed index key and the given data keys
// (DefaultKey when none; the first is primary).
func Keyring(t testing.TB, keys ...pii.Key) *pii.Keyring {
	t.Helper()
	if len(keys) == 0 {
		keys = []pii.Key{DefaultKey}
	}
	k, err := pii.NewKeyring([]byte(strings.Repeat("x", 32)), keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// CheapParams are minimal argon2id costs: fixtures create many users and
// must not spend seconds hashing.
var CheapParams = password.Params{Memory: 64, Time: 1, Threads: 1}

// CheapHash hashes with CheapParams; assign it to registry.Service.HashPassword.
func CheapHash(pw string) string { return password.HashWith(pw, CheapParams) }

// LockedBuffer collects log output written by concurrent goroutines.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
