package upload

import (
	"bytes"
	"context"
	"fmt"
	"github.com/roster-dev/roster"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/roster-dev/roster/internal/dbopen"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// The environment TestKilledWorkerResumes hands its worker process.
const (
	envKillDatabase = "ROSTER_TEST_KILLED_WORKER_DB"
	envKillUpload   = "ROSTER_TEST_KILLED_WORKER_UPLOAD"
)

// TestKilledWorkerHelper is the worker process TestKilledWorkerResumes
// starts and kills: the real upload worker under River, on the parent's
// database, with hashing slowed down so the upload takes seconds.
func TestKilledWorkerHelper(t *testing.T) {
	url, uploadID := os.Getenv(envKillDatabase), os.Getenv(envKillUpload)
	if url == "" || uploadID == "" {
		t.Skip("the worker process of TestKilledWorkerResumes")
	}
	ctx := context.Background()
	db, err := dbopen.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The same fixed key ring as the parent's registry, so the sealed file
	// opens here.
	reg := registry.New(db, testkit.Keyring(t))
	reg.HashPassword = func(pw string) string {
		time.Sleep(40 * time.Millisecond)
		return testkit.CheapHash(pw)
	}
	svc := New(db, testkit.Keyring(t), reg)
	svc.ChunkSize, svc.Hashers = 10, 2
	workers := river.NewWorkers()
	svc.Register(workers)
	q, err := jobs.New(db, workers, jobs.Config{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Wait to be killed. Should the parent miss its moment, stop once the
	// upload is done (it then fails), and never outlive it by much.
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if up, err := store.GetUpload(ctx, db, uploadID); err == nil && up.Status == roster.UploadCompleted {
			break
		}
	}
	_ = q.Stop(ctx)
}

// A worker process killed with SIGKILL in the middle of an upload leaves
// its job "running" and the upload IN_PROGRESS; another process's workers
// rescue the job and finish the file with every row recorded once and
// every user created once.
func TestKilledWorkerResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a worker process and waits for River's rescuer and leader failover (about 20 s)")
	}
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := storetest.URL(t, engine)
			db, err := dbopen.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, db)
			const n = 200
			rows := userRows("k", n)
			rows[57][2] = "not-an-email" // row 59 fails validation
			up, err := f.svc.Submit(ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", csvFile(header, rows...), false)
			if err != nil {
				t.Fatal(err)
			}

			child := exec.Command(os.Args[0], "-test.run=^TestKilledWorkerHelper$", "-test.count=1", "-test.timeout=3m")
			child.Env = append(os.Environ(), envKillDatabase+"="+url, envKillUpload+"="+up.ID)
			var out bytes.Buffer
			child.Stdout, child.Stderr = &out, &out
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			t.Cleanup(func() {
				if !killed {
					_ = child.Process.Kill()
					_ = child.Wait()
				}
			})
			get := func() *roster.Upload {
				t.Helper()
				u, err := f.svc.Get(ctx, f.adminA, up.ID)
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				u := get()
				if u.Processed > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the worker process made no progress: %+v", u)
				}
			}
			if err := child.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = child.Wait()
			killed = true
			mid := get()
			if mid.Status != roster.UploadInProgress || mid.Processed == 0 || mid.Processed >= n {
				t.Fatalf("after the kill: %+v\nworker output:\n%s", mid, out.String())
			}
			if s := f.count(t, `SELECT count(*) FROM river_job WHERE kind = 'upload_users' AND CAST(state AS TEXT) = 'running'`); s != 1 {
				t.Fatalf("%d running upload jobs after the kill, want 1 (the dead worker's)", s)
			}
			t.Logf("killed the worker after %d of %d rows", mid.Processed, n)

			// This process's workers take over once River's rescuer runs on
			// the new leader.
			workers := river.NewWorkers()
			f.svc.Register(workers)
			q, err := jobs.New(db, workers, jobs.Config{PollInterval: 50 * time.Millisecond, RescueAfter: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = q.Stop(context.Background()) })
			start := time.Now()
			end := get()
			for deadline := start.Add(90 * time.Second); end.Status != roster.UploadCompleted; end = get() {
				if end.Status == roster.UploadFailed || time.Now().After(deadline) {
					t.Fatalf("not resumed: %+v", end)
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("resumed and completed %s after the takeover began", time.Since(start).Round(100*time.Millisecond))

			if end.Processed != n || end.Succeeded != n-1 || end.Failed != 1 {
				t.Fatalf("counts: %+v", end)
			}
			if c := f.count(t, `SELECT count(DISTINCT row_number) FROM upload_row WHERE upload_id = $1`, up.ID); c != n {
				t.Fatalf("%d rows with an outcome, want %d", c, n)
			}
			if c := f.count(t, `SELECT count(*) FROM upload_row WHERE upload_id = $1`, up.ID); c != n {
				t.Fatalf("%d outcomes, want one for each of %d rows", c, n)
			}
			if c := f.count(t, `SELECT count(*) FROM users WHERE created_by = $1`, f.adminA.UserID); c != n-1 {
				t.Fatalf("%d users created, want %d", c, n-1)
			}
			if c := f.count(t, `SELECT count(DISTINCT username) FROM users WHERE created_by = $1`, f.adminA.UserID); c != n-1 {
				t.Fatalf("%d distinct usernames, want %d", c, n-1)
			}
			if m := f.members(t, f.schoolA.ID); m != n-1 {
				t.Fatalf("%d members of the school, want %d", m, n-1)
			}
			// Every created row points at its own user: the email and
			// username of that row, each held by exactly one user.
			results, err := f.svc.Rows(ctx, f.adminA, up.ID, RowFilter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			emails := map[string]bool{}
			for _, r := range results {
				i := r.RowNumber - 2
				if i == 57 {
					if r.Status != roster.UploadRowFailed || JoinErrors(r.Errors) != "email: is not a valid email address" {
						t.Fatalf("row %d: %+v", r.RowNumber, r)
					}
					continue
				}
				if r.Status != roster.UploadRowCreated {
					t.Fatalf("row %d: %+v", r.RowNumber, r)
				}
				v, err := f.reg.GetUser(ctx, f.adminA, r.UserID)
				if err != nil {
					t.Fatal(err)
				}
				if v.Email != fmt.Sprintf("k%d@example.org", i) || v.Username != fmt.Sprintf("k_%d", i) || emails[v.Email] {
					t.Fatalf("row %d created %s / %s", r.RowNumber, v.Username, v.Email)
				}
				emails[v.Email] = true
			}
			if len(emails) != n-1 {
				t.Fatalf("%d distinct emails, want %d", len(emails), n-1)
			}
		})
	}
}
