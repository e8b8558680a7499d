package storetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Cluster is a PostgreSQL server of one test's own, for tests that stop
// the database: the server of EnvPostgresURL is shared by every test.
type Cluster struct {
	URL string

	t        testing.TB
	bin, dir string
	port     int
}

// PrivatePostgres initdb's and starts a throwaway cluster on a free
// loopback port, removed when the test ends. Like the shared server it is
// required with CI=true and skipped otherwise when PostgreSQL is not
// installed. As root (CI) the cluster runs as the postgres user, which
// initdb insists on, the way .ci/postgres.sh does it.
func PrivatePostgres(t testing.TB) *Cluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb); CI must test outages on it")
		}
		t.Skip("PostgreSQL is not installed; skipping the outage test")
	}
	sort.Strings(bins)
	dir, err := os.MkdirTemp("", "roster-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, bin: filepath.Dir(bins[len(bins)-1]), dir: dir}
	t.Cleanup(func() {
		_ = c.pgCtl("-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user for initdb: %v", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.command(filepath.Join(c.bin, "initdb"), "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	c.Start()
	return c
}

// Start starts the server (again) on the same port and data.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off", c.port, c.dir)
	if err := c.pgCtl("-l", filepath.Join(c.dir, "log"), "-o", opts, "start"); err != nil {
		c.t.Fatalf("start PostgreSQL: %v", err)
	}
}

// Stop shuts the server down the way an operator does (fast mode):
// sessions are terminated and new connections refused.
func (c *Cluster) Stop() {
	c.t.Helper()
	if err := c.pgCtl("-m", "fast", "stop"); err != nil {
		c.t.Fatalf("stop PostgreSQL: %v", err)
	}
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) pgCtl(args ...string) error {
	args = append([]string{"-D", c.data(), "-w"}, args...)
	if out, err := c.command(filepath.Join(c.bin, "pg_ctl"), args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// command runs name as the postgres user when the test runs as root.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	if os.Geteuid() != 0 {
		return exec.Command(name, args...)
	}
	quoted := make([]string, 0, len(args)+1)
	for _, a := range append([]string{name}, args...) {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return exec.Command("su", "postgres", "-s", "/bin/sh", "-c", strings.Join(quoted, " "))
}
