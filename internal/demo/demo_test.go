package demo_test

import (
	"context"
	"errors"
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
		res, err := demo.Load(ctx, reg, courses, demo.Options{Learners: 40})
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
		_, err = demo.Load(ctx, reg, courses, demo.Options{Learners: 5})
		if !errors.Is(err, demo.ErrLoaded) {
			t.Fatalf("second load: %v, want ErrLoaded", err)
		}

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
		if enrolled != 40 || consented != int64(res.Consented) {
			t.Fatalf("batches = %+v", summaries)
		}

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
