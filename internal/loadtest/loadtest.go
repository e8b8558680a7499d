// Package loadtest runs the resource-bound scenarios of issue 9 against a
// Roster server on this machine: a burst of wrong sign-ins, upload bombs
// (a huge header, .xlsx parts that inflate to hundreds of megabytes) and a
// password upload during a sign-in burst. It measures what an operator
// would: status codes, times, /healthz latency and the server's resident
// memory read from /proc. Every scenario has a fixed size and duration, so
// a run stops by itself, and only loopback targets are accepted: this is a
// tool to check one's own server, not to load somebody else's.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Targets of the issue ("done when").
const (
	MaxSignInRSS   = 512 << 20   // server RSS during 200 concurrent wrong sign-ins
	MaxHealthz     = time.Second // /healthz latency meanwhile
	MaxBombTime    = time.Second // a bomb must be refused within this
	MaxBombExtraMB = 100         // and cost less extra memory than this (MiB)
	bombStatusA    = http.StatusRequestEntityTooLarge
	bombStatusB    = http.StatusUnprocessableEntity
	wrongPassword  = "not-the-password-1"
	sampleEvery    = 20 * time.Millisecond
)

// CheckLoopback accepts only http URLs whose host is a loopback address
// (127.0.0.0/8, ::1) or "localhost".
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http URL such as http://127.0.0.1:8080", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address: the load command only runs against this machine", host)
}

// Server is the server under test.
type Server struct {
	URL string
	// PID is the server's process id, for its memory; 0 when unknown
	// (memory is then not measured and memory targets are not judged).
	PID int
	// Restart, when set, gives each scenario a fresh server process, so
	// its peak memory (VmHWM) is the scenario's own.
	Restart func(ctx context.Context) error
}

// Options size the scenarios.
type Options struct {
	Scenarios  []string      // "signins", "bombs", "upload"; empty means all
	SignIns    int           // concurrent wrong sign-ins (200)
	Duration   time.Duration // of the sign-in burst (10s)
	Hammer     int           // concurrent wrong sign-ins during the upload (0: none, for a baseline)
	UploadRows int           // rows of the password upload (1000)
	UploadMax  time.Duration // give up on the upload after this (5m)
	BombMB     int           // inflated size of each .xlsx bomb part (300)
	HeaderMB   int           // size of the bomb header (2)
	Login      string        // an org admin of OrgID
	Password   string
	OrgID      string
	Out        io.Writer
}

func (o *Options) defaults() {
	if len(o.Scenarios) == 0 {
		o.Scenarios = []string{"signins", "bombs", "upload"}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.SignIns, 200)
	def(&o.UploadRows, 1000)
	def(&o.BombMB, 300)
	def(&o.HeaderMB, 2)
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.UploadMax <= 0 {
		o.UploadMax = 5 * time.Minute
	}
}

// Run runs the scenarios and prints each measurement with PASS or FAIL
// against the targets. It returns whether all passed.
func Run(ctx context.Context, srv *Server, o Options) (bool, error) {
	o.defaults()
	if err := CheckLoopback(srv.URL); err != nil {
		return false, err
	}
	r := &runner{srv: srv, o: o, out: o.Out, client: &http.Client{
		Timeout:   2 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1000, MaxConnsPerHost: 0},
	}}
	ok := true
	for _, sc := range o.Scenarios {
		var pass bool
		var err error
		switch sc {
		case "signins":
			pass, err = r.signIns(ctx)
		case "bombs":
			pass, err = r.bombs(ctx)
		case "upload":
			pass, err = r.upload(ctx)
		default:
			return false, fmt.Errorf("unknown scenario %q: want signins, bombs or upload", sc)
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w", sc, err)
		}
		ok = ok && pass
	}
	fmt.Fprintf(r.out, "\noverall: %s\n", verdict(ok))
	return ok, nil
}

type runner struct {
	srv    *Server
	o      Options
	out    io.Writer
	client *http.Client
	token  string
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// fresh restarts the server when it can, so a scenario starts from a new
// process; the admin token survives (tokens are stateless).
func (r *runner) fresh(ctx context.Context) error {
	if r.srv.Restart == nil {
		return nil
	}
	return r.srv.Restart(ctx)
}

// memory reads the server's VmRSS and VmHWM (bytes) from /proc.
func (r *runner) memory() (rss, hwm int64, ok bool) {
	if r.srv.PID == 0 {
		return 0, 0, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.srv.PID))
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm, rss > 0
}

// sampler records the most memory the server held between start and stop:
// the larger of VmRSS sampled every 20 ms and, when the process is fresh,
// VmHWM (which catches peaks between samples).
type sampler struct {
	r        *runner
	before   int64
	peak     atomic.Int64
	stop     chan struct{}
	done     chan struct{}
	freshHWM bool
}

func (r *runner) sample(freshProcess bool) *sampler {
	s := &sampler{r: r, stop: make(chan struct{}), done: make(chan struct{}), freshHWM: freshProcess}
	s.before, _, _ = r.memory()
	go func() {
		defer close(s.done)
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			if rss, _, ok := r.memory(); ok && rss > s.peak.Load() {
				s.peak.Store(rss)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// end returns the memory before and the peak.
func (s *sampler) end() (before, peak int64) {
	close(s.stop)
	<-s.done
	peak = s.peak.Load()
	if _, hwm, ok := s.r.memory(); ok && s.freshHWM && hwm > peak {
		peak = hwm
	}
	return s.before, peak
}

func (r *runner) post(ctx context.Context, path, contentType string, body []byte, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return r.do(req)
}

func (r *runner) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	return r.do(req)
}

func (r *runner) do(req *http.Request) (int, []byte, error) { return r.doWith(r.client, req) }

// clientFrom is the client of burst goroutine i. Against an IPv4 loopback
// server each goroutine connects from its own address of 127.0.0.0/8, so
// the burst looks like one spread over many clients, as a real one would
// be, and the per-client sign-in throttle does not answer it all alone.
func (r *runner) clientFrom(i int) *http.Client {
	u, _ := url.Parse(r.srv.URL)
	if ip := net.ParseIP(u.Hostname()); ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return r.client
	}
	local := &net.TCPAddr{IP: net.IPv4(127, byte(1+i/250%250), byte(i%250), 2)}
	d := &net.Dialer{LocalAddr: local, Timeout: 10 * time.Second}
	return &http.Client{Timeout: r.client.Timeout, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 1}}
}

func (r *runner) doWith(c *http.Client, req *http.Request) (int, []byte, error) {
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	// Responses are read to the end (connections are reused) but only the
	// first MiB is kept: a bomb's answer may be huge.
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, b, nil
}

func signInBody(login, password string) []byte {
	b, _ := json.Marshal(map[string]string{"login": login, "password": password})
	return b
}

// signIn gets the admin's token for the upload scenarios.
func (r *runner) signIn(ctx context.Context) error {
	if r.token != "" {
		return nil
	}
	if r.o.Login == "" || r.o.OrgID == "" {
		return errors.New("the upload scenarios need an org admin (--as, --org and the password on standard input)")
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		status, body, err := r.post(ctx, "/api/v1/auth/login", "application/json", signInBody(r.o.Login, r.o.Password), "")
		if err != nil {
			return err
		}
		if status == http.StatusOK {
			var out struct{ Token string }
			if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
				return fmt.Errorf("sign-in answered without a token")
			}
			r.token = out.Token
			return nil
		}
		// 503/429 may linger from a previous burst; anything else is final.
		if (status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests) || time.Now().After(deadline) {
			return fmt.Errorf("sign-in as %s answered %d", r.o.Login, status)
		}
	}
}

// burst keeps n goroutines signing in with wrong passwords for names that
// do not exist (each a new name, as an attacker spraying would, so the
// per-login throttle does not answer for the server) until ctx ends, and
// counts the answers by status.
type burst struct {
	mu     sync.Mutex
	counts map[int]int
	errs   int
	wg     sync.WaitGroup
}

func (r *runner) burst(ctx context.Context, n int) *burst {
	b := &burst{counts: map[int]int{}}
	var seq atomic.Int64
	for i := range n {
		c := r.clientFrom(i)
		b.wg.Go(func() {
			for ctx.Err() == nil {
				login := fmt.Sprintf("load-%d-%d-%d", os.Getpid(), i, seq.Add(1))
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.srv.URL+"/api/v1/auth/login", bytes.NewReader(signInBody(login, wrongPassword)))
				req.Header.Set("Content-Type", "application/json")
				status, _, err := r.doWith(c, req)
				b.mu.Lock()
				if err != nil {
					if ctx.Err() == nil {
						b.errs++
					}
				} else {
					b.counts[status]++
				}
				b.mu.Unlock()
				if err != nil && ctx.Err() == nil {
					time.Sleep(50 * time.Millisecond) // connection refused etc.: do not spin
				}
			}
		})
	}
	return b
}

func (b *burst) wait() string {
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	var parts []string
	for _, st := range []int{200, 401, 429, 503, 500} {
		if c := b.counts[st]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d×%d", c, st))
			delete(b.counts, st)
		}
	}
	for st, c := range b.counts {
		parts = append(parts, fmt.Sprintf("%d×%d", c, st))
	}
	if b.errs > 0 {
		parts = append(parts, fmt.Sprintf("%d transport errors", b.errs))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// poller asks /healthz every 100 ms and keeps the slowest answer (a
// failure counts as the whole client timeout).
type poller struct {
	worst    atomic.Int64
	failures atomic.Int64
	polls    atomic.Int64
	done     chan struct{}
}

func (r *runner) pollHealth(ctx context.Context) *poller {
	p := &poller{done: make(chan struct{})}
	c := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			start := time.Now()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL+"/healthz", nil)
			res, err := c.Do(req)
			d := time.Since(start)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			if err != nil || res.StatusCode != http.StatusOK {
				p.failures.Add(1)
			}
			p.polls.Add(1)
			if int64(d) > p.worst.Load() {
				p.worst.Store(int64(d))
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return p
}

func (r *runner) signIns(ctx context.Context) (bool, error) {
	if err := r.fresh(ctx); err != nil {
		return false, err
	}
	fmt.Fprintf(r.out, "\n== scenario 1: %d concurrent wrong sign-ins for %s, /healthz polled every 100 ms\n", r.o.SignIns, r.o.Duration)
	mem := r.sample(r.srv.Restart != nil)
	bctx, cancel := context.WithTimeout(ctx, r.o.Duration)
	defer cancel()
	health := r.pollHealth(bctx)
	b := r.burst(bctx, r.o.SignIns)
	answers := b.wait()
	<-health.done
	before, peak := mem.end()
	worst := time.Duration(health.worst.Load())
	fmt.Fprintf(r.out, "sign-in answers: %s\n", answers)
	healthOK := worst < MaxHealthz && health.failures.Load() == 0 && health.polls.Load() > 0
	fmt.Fprintf(r.out, "/healthz: %d polls, %d failed, slowest %s (target < %s): %s\n",
		health.polls.Load(), health.failures.Load(), worst.Round(time.Millisecond), MaxHealthz, verdict(healthOK))
	if _, _, known := r.memory(); !known && peak == 0 {
		fmt.Fprintln(r.out, "server memory: unknown (no --pid); not judged")
		return healthOK, nil
	}
	memOK := peak < MaxSignInRSS
	fmt.Fprintf(r.out, "server RSS: %s before, peak %s (target < %s): %s\n", mib(before), mib(peak), mib(MaxSignInRSS), verdict(memOK))
	return healthOK && memOK, nil
}
