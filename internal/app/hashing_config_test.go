package app

import (
	"context"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/password"
)

// The hashing settings size the registry's pool; zero means GOMAXPROCS
// workers and DefaultQueuePerWorker waiting per worker; negative is refused.
func TestHashPoolConfig(t *testing.T) {
	open := func(cfg Config) (*App, error) {
		cfg.DataDir, cfg.LogOutput = t.TempDir(), io.Discard
		a, err := Open(context.Background(), cfg)
		if err == nil {
			t.Cleanup(func() { a.Close() })
		}
		return a, err
	}
	a, err := open(Config{HashWorkers: 3, HashQueue: 5})
	if err != nil {
		t.Fatal(err)
	}
	if p := a.Registry.Hashing; p.Workers() != 3 || p.Queue() != 5 {
		t.Fatalf("pool of %d workers, queue %d; want 3, 5", p.Workers(), p.Queue())
	}
	a, err = open(Config{})
	if err != nil {
		t.Fatal(err)
	}
	n := runtime.GOMAXPROCS(0)
	if p := a.Registry.Hashing; p.Workers() != n || p.Queue() != n*password.DefaultQueuePerWorker {
		t.Fatalf("default pool of %d workers, queue %d; want %d, %d", p.Workers(), p.Queue(), n, n*password.DefaultQueuePerWorker)
	}
	for _, cfg := range []Config{{HashWorkers: -1}, {HashQueue: -2}} {
		if _, err := open(cfg); err == nil || !strings.Contains(err.Error(), "--hash-workers and --hash-queue") {
			t.Fatalf("%+v: %v", cfg, err)
		}
	}
}
