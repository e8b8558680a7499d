package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/loadtest"
	"github.com/roster-dev/roster/internal/registry"
)

func newLoadCmd(g *globals) *cobra.Command {
	var (
		o           loadtest.Options
		target      string
		pid         int
		pwStdin     bool
		serverFlags []string
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Check the server's resource bounds under a short, fixed load (loopback only)",
		Long: "Runs the scenarios of the resource-bounds issue and prints each figure with PASS or FAIL against its target:\n" +
			"  signins  concurrent wrong sign-ins while /healthz is polled: server RSS < 512 MiB, /healthz < 1 s\n" +
			"  bombs    a 2 MB header and .xlsx parts inflating to 300 MB: refused 413/422 within 1 s using < 100 MiB extra\n" +
			"  upload   a 1000-row upload with passwords while sign-ins hammer: it finishes\n" +
			"Without --url it starts its own `roster serve` (this binary, a fresh SQLite database in a temporary directory,\n" +
			"a new process per scenario so each peak is its own) and removes it afterwards. With --url it targets a\n" +
			"running server on this machine; give --pid for memory figures and an org admin (--as, --org,\n" +
			"--password-stdin) for the upload scenarios. Exits 3 when a target is missed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			o.Out = cmd.OutOrStdout()
			var srv *loadtest.Server
			if target != "" {
				if err := loadtest.CheckLoopback(target); err != nil {
					return err
				}
				if o.Login != "" {
					pw, err := readPassword(cmd, pwStdin, "Password for "+o.Login+": ")
					if err != nil {
						return err
					}
					o.Password = pw
				}
				srv = &loadtest.Server{URL: strings.TrimRight(target, "/"), PID: pid}
			} else {
				s, err := startLoadServer(ctx, serverFlags, &o)
				if err != nil {
					return err
				}
				defer s.remove()
				srv = s.srv
				fmt.Fprintf(o.Out, "server: %s (roster serve %s), pid %d\n", srv.URL, strings.Join(serverFlags, " "), srv.PID)
			}
			ok, err := loadtest.Run(ctx, srv, o)
			if err != nil {
				return err
			}
			if !ok {
				return &exitError{code: 3, msg: "some targets were missed"}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "url", "", "a running server on this machine, e.g. http://127.0.0.1:8080; default: start one")
	f.IntVar(&pid, "pid", 0, "with --url: the server's process id, to read its memory from /proc")
	f.StringVar(&o.Login, "as", "", "with --url: an org admin of --org, for the upload scenarios")
	f.StringVar(&o.OrgID, "org", "", "with --url: the organisation to upload into")
	f.BoolVar(&pwStdin, "password-stdin", false, "read the --as password from standard input")
	f.StringArrayVar(&serverFlags, "server-flag", nil, "without --url: a flag for the started server, e.g. --server-flag=--hash-workers=64 (repeatable)")
	f.StringSliceVar(&o.Scenarios, "scenario", nil, "signins, bombs, upload (default all)")
	f.IntVar(&o.SignIns, "signins", 200, "concurrent wrong sign-ins in the signins scenario")
	f.DurationVar(&o.Duration, "duration", 10*time.Second, "length of the sign-in burst")
	f.IntVar(&o.Hammer, "hammer", 50, "concurrent wrong sign-ins during the upload scenario")
	f.IntVar(&o.UploadRows, "rows", 1000, "rows of the password upload")
	f.DurationVar(&o.UploadMax, "upload-timeout", 5*time.Minute, "give up waiting for the upload after this")
	f.IntVar(&o.BombMB, "bomb-mb", 300, "inflated size of each .xlsx bomb part, MB")
	f.IntVar(&o.HeaderMB, "header-mb", 2, "size of the bomb header, MB")
	return cmd
}

// loadServer is a `roster serve` child process over a throwaway data
// directory holding a tenant and its admin.
type loadServer struct {
	dir, addr string
	flags     []string
	proc      *exec.Cmd
	exited    chan struct{}
	srv       *loadtest.Server
}

func startLoadServer(ctx context.Context, flags []string, o *loadtest.Options) (*loadServer, error) {
	dir, err := os.MkdirTemp("", "roster-load-")
	if err != nil {
		return nil, err
	}
	s := &loadServer{dir: dir, flags: flags}
	if err := s.setup(ctx, o); err != nil {
		s.remove()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.remove()
		return nil, err
	}
	s.addr = ln.Addr().String()
	ln.Close()
	s.srv = &loadtest.Server{URL: "http://" + s.addr, Restart: s.restart}
	if err := s.start(ctx); err != nil {
		s.remove()
		return nil, err
	}
	return s, nil
}

// setup creates the tenant and an admin with a random password, in-process,
// before the server starts.
func (s *loadServer) setup(ctx context.Context, o *loadtest.Options) error {
	a, err := app.Open(ctx, app.Config{DataDir: s.dir, LogOutput: io.Discard})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Migrate(ctx); err != nil {
		return err
	}
	if _, err := a.Registry.Bootstrap(ctx); err != nil {
		return err
	}
	tenant, err := a.Registry.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "Load Test", Channel: "LOADTEST", IsTenant: true})
	if err != nil {
		return err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	o.Login, o.Password, o.OrgID = "load_admin", hex.EncodeToString(b), tenant.ID
	_, err = a.Registry.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
		User:  roster.User{FirstName: "Load", Username: o.Login, Email: "load.admin@load.example.org"},
		OrgID: tenant.ID, Roles: []string{roster.RoleOrgAdmin}, Password: o.Password,
	})
	return err
}

// serverEnv is this process's environment without what would point the
// child at another database, keys or address.
func serverEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "ROSTER_DATA_DIR", name == "ROSTER_DATABASE_URL", name == "ROSTER_ADDR", name == "ROSTER_REPORT_DIR",
			strings.HasPrefix(name, "ROSTER_PII_"), name == "ROSTER_JWT_KEY", strings.HasPrefix(name, "ROSTER_OIDC_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, "ROSTER_DATA_DIR="+dir)
}

func (s *loadServer) start(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	args := append([]string{"serve", "--addr", s.addr, "--log-level", "warn"}, s.flags...)
	s.proc = exec.Command(exe, args...)
	s.proc.Env, s.proc.Stdout, s.proc.Stderr = serverEnv(s.dir), logFile, logFile
	if err := s.proc.Start(); err != nil {
		logFile.Close()
		return err
	}
	s.exited = make(chan struct{})
	go func() { _ = s.proc.Wait(); logFile.Close(); close(s.exited) }()
	s.srv.PID = s.proc.Process.Pid
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			return fmt.Errorf("roster serve exited: %.2000s", log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if res, err := c.Get(s.srv.URL + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("roster serve did not become ready within 60 s")
}

// stop ends the child gracefully, and kills it if it does not stop.
func (s *loadServer) stop() {
	if s.proc == nil || s.proc.Process == nil {
		return
	}
	_ = s.proc.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.proc.Process.Kill()
		<-s.exited
	}
	s.proc = nil
}

func (s *loadServer) restart(ctx context.Context) error {
	s.stop()
	return s.start(ctx)
}

func (s *loadServer) remove() {
	s.stop()
	_ = os.RemoveAll(s.dir)
}
