package demo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/demo"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
	"github.com/roster-dev/roster/internal/zipcrypt"
)

// The demo loads once, refuses a second time, and its creator can get a
// report whose counts match what was loaded.
func TestLoadThenReport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		keys := testkit.Keyring(t)
		reg := registry.New(db, keys)
		reg.HashPassword = testkit.CheapHash
		courses := course.New(db)
		res, err := demo.Load(ctx, db, reg, courses, demo.Options{Learners: 40})
		if err != nil {
			t.Fatal(err)
		}
		if res.Learners != 40 || res.Consented+res.Revoked+res.NoAnswer != 40 || res.Consented == 0 || res.Revoked == 0 ||
			res.NoAnswer == 0 || res.SSO == 0 || res.NoLocation == 0 || len(res.Batches) != 2 || len(res.Accounts) != 3 {
			t.Fatalf("result = %+v", res)
		}
		if fe := report.ValidatePassword(res.Accounts[0].Password); fe != nil {
			t.Fatalf("generated password: %v", fe)
		}
		if s := res.Summary(); !strings.Contains(s, res.CourseID) || !strings.Contains(s, "demo.creator") {
			t.Fatalf("summary:\n%s", s)
		}
		_, err = demo.Load(ctx, db, reg, courses, demo.Options{Learners: 5})
		if !errors.Is(err, demo.ErrLoaded) {
			t.Fatalf("second load: %v, want ErrLoaded", err)
		}

		creator := checkBatches(t, reg, courses, res, 40)

		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		svc, err := report.New(db, keys, report.Config{Dir: t.TempDir(), PageSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		workers := river.NewWorkers()
		svc.Register(workers)
		q, err := jobs.New(db, workers, jobs.Config{PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		svc.UseQueue(q)
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(context.Background())
		req, err := svc.Request(ctx, creator, report.NewRequest{CourseID: res.CourseID, Password: "Demo1234"})
		if err != nil {
			t.Fatal(err)
		}
		var got *report.Request
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if got, err = svc.Get(ctx, creator, req.ID); err != nil {
				t.Fatal(err)
			}
			if got.Status == roster.ReportSuccess || got.Status == roster.ReportFailed {
				break
			}
		}
		if got.Status != roster.ReportSuccess || got.TotalRows != 40 || got.ConsentedRows != int64(res.Consented) {
			t.Fatalf("report = %+v", got)
		}
		rc, file, err := svc.Open(ctx, creator, got.Download.Token)
		if err != nil {
			t.Fatal(err)
		}
		tmp := t.TempDir() + "/" + file.Name
		out, _ := os.Create(tmp)
		if _, err := io.Copy(out, rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		out.Close()
		fh, _ := os.Open(tmp)
		defer fh.Close()
		zr, err := zipcrypt.OpenReader(fh, file.Size, "Demo1234")
		if err != nil {
			t.Fatal(err)
		}
		entry, err := zr.Files[0].Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(entry)
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(string(data), "\r\n"); lines != 41 {
			t.Fatalf("CSV has %d lines, want header + 40", lines)
		}
	})
}

// checkBatches signs in as the demo creator and checks that the course's
// batches count every learner and the consent given.
func checkBatches(t *testing.T, reg *registry.Service, courses *course.Service, res *demo.Result, learners int64) *roster.Principal {
	t.Helper()
	ctx := context.Background()
	creator, err := reg.Authenticate(ctx, "demo.creator", res.Accounts[0].Password)
	if err != nil {
		t.Fatal(err)
	}
	summaries, err := courses.ListBatches(ctx, creator, res.CourseID)
	if err != nil {
		t.Fatal(err)
	}
	var enrolled, consented int64
	for _, s := range summaries {
		enrolled += s.Enrolled
		consented += s.Consented
	}
	if enrolled != learners || consented != int64(res.Consented) {
		t.Fatalf("batches = %+v, want %d enrolled, %d consented", summaries, learners, res.Consented)
	}
	return creator
}

// A large load (the suite's stand-in for the million a newcomer may ask
// for) goes in chunks with progress, and every learner is there, findable
// by their own phone number and email, enrolled, with the consent mix.
func TestLoadAtScale(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		reg := registry.New(db, testkit.Keyring(t))
		reg.HashPassword = testkit.CheapHash
		courses := course.New(db)
		const n = 20_000
		var progress []int
		res, err := demo.Load(ctx, db, reg, courses, demo.Options{Learners: n, Progress: func(done, total int) {
			if total != n {
				t.Errorf("progress total %d", total)
			}
			progress = append(progress, done)
		}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Learners != n || res.Consented+res.Revoked+res.NoAnswer != n {
			t.Fatalf("result = %+v", res)
		}
		if len(progress) < 2 || progress[len(progress)-1] != n {
			t.Errorf("progress = %v", progress)
		}
		var phones, emails, users int
		for q, out := range map[string]*int{
			`SELECT COUNT(*) FROM user_lookup WHERE type = 'phone'`: &phones,
			`SELECT COUNT(*) FROM user_lookup WHERE type = 'email'`: &emails,
			`SELECT COUNT(*) FROM users`:                            &users,
		} {
			if err := db.QueryRow(ctx, q).Scan(out); err != nil {
				t.Fatal(err)
			}
		}
		// About two in three learners have a phone; the three staff have
		// an email each and no phone.
		if emails != n+3 || users != n+3 || phones < n/2 || phones > n*3/4 {
			t.Errorf("users %d, emails %d, phones %d", users, emails, phones)
		}
		sys := roster.SystemPrincipal
		found := 0
		for _, num := range []int{1, n / 2, n} {
			u, err := reg.FindUser(ctx, sys, registry.LookupQuery{Type: roster.LookupEmail, Value: fmt.Sprintf("demo.learner%07d@example.org", num)})
			if err != nil {
				t.Fatalf("learner %d by email: %v", num, err)
			}
			if u.Phone == "" {
				continue
			}
			found++
			byPhone, err := reg.FindUser(ctx, sys, registry.LookupQuery{Type: roster.LookupPhone, Value: u.Phone})
			if err != nil || byPhone.ID != u.ID {
				t.Errorf("learner %d by phone %s: %v, %v", num, u.Phone, byPhone, err)
			}
		}
		if found == 0 {
			t.Error("none of the sampled learners has a phone; the phone check checked nothing")
		}
		checkBatches(t, reg, courses, res, n)
	})
}

// Past the maximum the numbering would no longer be distinct: refused
// before anything is created.
func TestLoadRefusesTooManyLearners(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	reg := registry.New(db, testkit.Keyring(t))
	_, err := demo.Load(context.Background(), db, reg, course.New(db), demo.Options{Learners: demo.MaxLearners + 1})
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Fatalf("%d learners: %v, want invalid", demo.MaxLearners+1, err)
	}
	var orgs int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM organisation`).Scan(&orgs); err != nil || orgs != 0 {
		t.Errorf("organisations after the refusal: %d, %v", orgs, err)
	}
}
