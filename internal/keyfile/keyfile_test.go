package keyfile

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Many concurrent starters must all end with the same, complete content.
func TestConcurrentCreatorsAgree(t *testing.T) {
	for round := 0; round < 20; round++ {
		path := filepath.Join(t.TempDir(), "sub", "key")
		const n = 16
		got := make([][]byte, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = ReadOrCreate(path, func() ([]byte, error) {
					b := make([]byte, 64)
					_, err := rand.Read(b)
					return b, err
				})
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if len(got[i]) != 64 || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("round %d: creator %d saw different or partial content", round, i)
			}
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v %v", fi.Mode(), err)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 {
			t.Fatalf("temporary files left behind: %d entries", len(entries))
		}
	}
}
