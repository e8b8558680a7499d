package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/dbopen"
	"github.com/roster-dev/roster/internal/objectstore/objecttest"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/zipcrypt"
)

// envReplicaArgs carries the arguments of a replica process: the test
// binary re-executed, running `roster` itself (see TestReplicaProcess).
const envReplicaArgs = "ROSTER_TEST_REPLICA_ARGS"

// TestReplicaProcess is a `roster serve` replica that
// TestReplicasShareWorkAndFiles starts and kills.
func TestReplicaProcess(t *testing.T) {
	raw := os.Getenv(envReplicaArgs)
	if raw == "" {
		t.Skip("a replica process of TestReplicasShareWorkAndFiles")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(run(context.Background(), args, strings.NewReader(""), os.Stdout, os.Stderr))
}

type replica struct {
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
}

func startReplica(t *testing.T, args ...string) *replica {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	raw, _ := json.Marshal(append([]string{"serve", "--addr", addr}, args...))
	cmd := exec.Command(os.Args[0], "-test.run=^TestReplicaProcess$")
	cmd.Env = append(os.Environ(), envReplicaArgs+"="+string(raw))
	r := &replica{cmd: cmd, base: "http://" + addr, logs: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); ; {
		if res, err := http.Get(r.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica on %s did not become ready", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *replica) call(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// Two replicas on one PostgreSQL with reports in S3-compatible storage
// (SeaweedFS): a report job whose replica is killed mid-report is finished
// by the other, and the file it wrote opens through a link on any replica,
// none of which has it on local disk.
func TestReplicasShareWorkAndFiles(t *testing.T) {
	clearEnv(t)
	store := objecttest.URL(t)
	dbURL := storetest.URL(t, "postgres")
	shared := t.TempDir() // keys.json and jwt.key: what replicas get from the environment in production
	env := []string{"ROSTER_DATABASE_URL=" + dbURL, "ROSTER_DATA_DIR=" + shared, "ROSTER_REPORT_STORE=" + store}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	out := rosterCmd(t, "", "demo", "--learners", "10000")
	course := regexp.MustCompile(`Course "[^"]*": id (\S+)`).FindStringSubmatch(out)
	account := regexp.MustCompile(`(?m)^\s+\S+\s+(\S+)\s+password (\S+)$`).FindStringSubmatch(out)
	if course == nil || account == nil {
		t.Fatalf("demo printed:\n%s", out)
	}
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	// The limit also cancels an attempt that runs longer, so it must exceed
	// the report on a loaded machine.
	rescue := []string{"--job-rescue-after", "45s"}
	a := startReplica(t, append(rescue, "--report-dir", dirs[0])...)

	code, body := a.call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": account[1], "password": account[2]})
	var login struct{ Token string }
	if json.Unmarshal(body, &login); code != http.StatusOK || login.Token == "" {
		t.Fatalf("login: %d %s", code, body)
	}
	const password = "Replica-2026"
	code, body = a.call(t, http.MethodPost, "/api/v1/reports", login.Token, map[string]string{"courseId": course[1], "password": password})
	var req struct{ ID string }
	if json.Unmarshal(body, &req); code/100 != 2 || req.ID == "" {
		t.Fatalf("request report: %d %s", code, body)
	}

	// Kill A while its worker is inside the report.
	db, err := dbopen.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	status := func() (job, report string) {
		_ = db.QueryRow(context.Background(), `SELECT CAST(state AS TEXT) FROM river_job WHERE kind = 'report_generate' ORDER BY id DESC LIMIT 1`).Scan(&job)
		_ = db.QueryRow(context.Background(), `SELECT status FROM report_request WHERE id = $1`, req.ID).Scan(&report)
		return job, report
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if job, _ := status(); job == "running" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the report job never ran on replica A (job state %q):\n%s", job, a.logs)
		}
	}
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	if _, rep := status(); rep == "SUCCESS" {
		t.Fatal("replica A finished the report before it was killed; give the demo more learners")
	}

	b := startReplica(t, append(rescue, "--report-dir", dirs[1])...)
	var got struct {
		Status    string
		TotalRows int64
		Download  *struct{ URL string }
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		code, body = b.call(t, http.MethodGet, "/api/v1/reports/"+req.ID, login.Token, nil)
		if code != http.StatusOK {
			t.Fatalf("report on B: %d %s", code, body)
		}
		_ = json.Unmarshal(body, &got)
		if got.Status == "SUCCESS" || got.Status == "FAILED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica B did not finish the report (status %s):\n%s", got.Status, b.logs)
		}
	}
	if got.Status != "SUCCESS" || got.Download == nil {
		t.Fatalf("report: %+v", got)
	}
	var attempts int
	_ = db.QueryRow(context.Background(), `SELECT attempt FROM river_job WHERE kind = 'report_generate' ORDER BY id DESC LIMIT 1`).Scan(&attempts)
	if attempts < 2 {
		t.Fatalf("the job ran %d time(s); the killed attempt should have been retried", attempts)
	}

	// The link B issued works on a third replica, which never saw the file.
	c := startReplica(t, "--report-dir", dirs[2])
	req2, _ := http.NewRequest(http.MethodGet, c.base+got.Download.URL, nil)
	req2.Header.Set("Authorization", "Bearer "+login.Token)
	res, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("download on C: %d %s", res.StatusCode, zipped)
	}
	zr, err := zipcrypt.OpenReader(bytes.NewReader(zipped), int64(len(zipped)), password)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Files[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	csv, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if lines := int64(bytes.Count(csv, []byte("\r\n"))) - 1; lines != got.TotalRows || lines == 0 {
		t.Fatalf("the CSV has %d rows, the request says %d", lines, got.TotalRows)
	}
	for _, dir := range dirs {
		if zips, _ := filepath.Glob(filepath.Join(dir, "*.zip")); len(zips) > 0 {
			t.Fatalf("report files on a replica's local disk: %v", zips)
		}
	}
}
