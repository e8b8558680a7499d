package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startCommands are the shell lines of the README's Start section, in
// order, up to the section on tests.
func startCommands(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, "\n## Start\n")
	j := strings.Index(s, "\nRun the tests:")
	if i < 0 || j < i {
		t.Fatal("README has no Start section ending at \"Run the tests:\"")
	}
	var lines []string
	in := false
	for _, l := range strings.Split(s[i:j], "\n") {
		switch {
		case strings.HasPrefix(l, "```"):
			in = !in
		case in && strings.TrimSpace(l) != "":
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines
}

// A fresh clone, following the README's Start section literally: build the
// command, start serve (in the background, as the first terminal), load
// the demo (the second terminal), and sign in with the account it names.
// The only additions are a free port (--addr) and a scratch directory as
// the place where the binary is put.
func TestReadmeStartLiterally(t *testing.T) {
	cmds := startCommands(t)
	want := []string{"go build -o roster ./cmd/roster", "./roster serve", "./roster demo"}
	if strings.Join(cmds, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the README's Start commands are\n%s\nthis test runs exactly\n%s", strings.Join(cmds, "\n"), strings.Join(want, "\n"))
	}
	dir := t.TempDir()
	build := strings.Fields(cmds[0])
	build[3] = filepath.Join(dir, "roster") // -o: into the scratch directory, not the clone
	runIn(t, "../..", build...)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	serve := command(dir, append(strings.Fields(cmds[1]), "--addr", addr)...)
	out, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	serve.Stderr = &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = serve.Process.Kill()
			_ = serve.Wait()
		}
	})
	banner := readUntil(t, out, "Press Ctrl+C to stop.")
	url := "http://" + addr + "/"
	for _, w := range []string{"Roster is running: open " + url, "The database is empty", "in a second terminal", "./roster demo --addr " + addr} {
		if !strings.Contains(banner, w) {
			t.Fatalf("serve printed\n%s\nwithout %q", banner, w)
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()

	// The second terminal, while serve runs on the same data directory.
	demoOut := runIn(t, dir, append(strings.Fields(cmds[2]), "--addr", addr)...)
	for _, w := range []string{"sign in at " + url, "demo.creator", "These accounts are also in data/demo-accounts.txt"} {
		if !strings.Contains(demoOut, w) {
			t.Fatalf("demo printed\n%s\nwithout %q", demoOut, w)
		}
	}
	file := filepath.Join(dir, "data", "demo-accounts.txt")
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("accounts file: %v, mode %v; want 0600", err, fi.Mode())
	}
	pw := accountPassword(t, file, "demo.creator")
	if !strings.Contains(demoOut, pw) {
		t.Fatal("the accounts file and the output name different passwords")
	}
	signIn(t, url, "demo.creator", pw, http.StatusOK)

	page, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), "<html") {
		t.Fatalf("GET %s: %d", url, page.StatusCode)
	}

	// Running the demo again neither fails silently nor loads it twice; it
	// says what to do, and --reset gives working new passwords.
	again := command(dir, append(strings.Fields(cmds[2]), "--addr", addr)...)
	msg, err := again.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "--reset") || !strings.Contains(string(msg), "data/demo-accounts.txt") {
		t.Fatalf("a second demo: %v\n%s", err, msg)
	}
	resetOut := runIn(t, dir, append(strings.Fields(cmds[2]), "--reset", "--addr", addr)...)
	if !strings.Contains(resetOut, "reset") {
		t.Fatalf("demo --reset printed\n%s", resetOut)
	}
	next := accountPassword(t, file, "demo.creator")
	if next == pw {
		t.Fatal("--reset kept the password")
	}
	signIn(t, url, "demo.creator", pw, http.StatusUnauthorized)
	signIn(t, url, "demo.creator", next, http.StatusOK)

	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if err := serve.Wait(); err != nil {
		t.Fatalf("serve stopped with %v", err)
	}
	// Read only now: until Wait returns, exec is still copying into logs.
	if first, _, _ := strings.Cut(logs.String(), "\n"); !strings.HasPrefix(first, "{") {
		t.Errorf("serve's logs to a pipe are not JSON: %q", first)
	}
	for _, secret := range []string{pw, next} {
		if strings.Contains(logs.String(), secret) {
			t.Error("serve's logs contain a demo password")
		}
	}
}

// command runs in dir with none of the developer's ROSTER_* settings.
func command(dir string, args ...string) *exec.Cmd {
	c := exec.Command(args[0], args[1:]...)
	c.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROSTER_") {
			c.Env = append(c.Env, kv)
		}
	}
	return c
}

func runIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := command(dir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// readUntil reads lines until one equals last, or fails after a minute.
func readUntil(t *testing.T, r io.Reader, last string) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if sc.Text() == last {
				break
			}
		}
		got <- b.String()
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(time.Minute):
		t.Fatal("serve printed no address within a minute")
		return ""
	}
}

func accountPassword(t *testing.T, file, username string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(regexp.QuoteMeta(username) + `\s+password (\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s does not name %s's password", file, username)
	}
	return string(m[1])
}

// signIn signs in over HTTP and, when that works, reads who is signed in.
func signIn(t *testing.T, base, login, pw string, want int) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"login": login, "password": pw})
	res, err := http.Post(base+"api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Token string }
	_ = json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	if res.StatusCode != want {
		t.Fatalf("sign in as %s: %d, want %d", login, res.StatusCode, want)
	}
	if want != http.StatusOK {
		return
	}
	req, _ := http.NewRequest(http.MethodGet, base+"api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+out.Token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	me, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(me), fmt.Sprintf("%q", login)) {
		t.Fatalf("GET /me as %s: %d %s", login, res.StatusCode, me)
	}
}
