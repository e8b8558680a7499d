package upload

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// age moves an upload's creation back in time, as if it ran d ago.
func (f *fixture) age(t *testing.T, id string, d time.Duration) {
	t.Helper()
	if _, err := f.db.Exec(f.ctx, `UPDATE upload SET created_at = $2 WHERE id = $1`, id, roster.Now().Add(-d)); err != nil {
		t.Fatal(err)
	}
}

// Dry runs, with their rows (the file's values, sealed), are deleted once
// older than the retention; uploads that created users are kept.
func TestDryRunsExpire(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.DryRunRetention = time.Hour
		data := csvFile(header, userRows("exp", 3)...)
		var ids []string
		for range 3 {
			res, err := f.svc.DryRun(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", data)
			if err != nil {
				t.Fatal(err)
			}
			if res.Upload.ExpiresAt == nil || !res.Upload.ExpiresAt.Equal(res.Upload.CreatedAt.Add(time.Hour)) {
				t.Fatalf("expiresAt %v, created %v", res.Upload.ExpiresAt, res.Upload.CreatedAt)
			}
			ids = append(ids, res.Upload.ID)
		}
		real, err := f.svc.Submit(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", data, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Process(f.ctx, real.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.svc.Get(f.ctx, f.adminA, real.ID); got.ExpiresAt != nil {
			t.Fatal("an upload that created users has an expiry")
		}
		f.age(t, ids[0], 2*time.Hour)
		f.age(t, ids[1], 61*time.Minute)
		f.age(t, real.ID, 48*time.Hour)

		n, err := f.svc.ExpireDryRuns(f.ctx)
		if err != nil || n != 2 {
			t.Fatalf("expired %d, %v", n, err)
		}
		for _, id := range ids[:2] {
			if _, err := f.svc.Get(f.ctx, f.adminA, id); roster.ErrorCode(err) != roster.ENOTFOUND {
				t.Fatalf("expired dry run: %v", err)
			}
			if c := f.count(t, `SELECT count(*) FROM upload_row WHERE upload_id = $1`, id); c != 0 {
				t.Fatalf("%d rows of an expired dry run kept", c)
			}
		}
		for _, id := range []string{ids[2], real.ID} {
			if c := f.count(t, `SELECT count(*) FROM upload_row WHERE upload_id = $1`, id); c != 3 {
				t.Fatalf("upload %s: %d rows left", id, c)
			}
		}
		if n, err := f.svc.ExpireDryRuns(f.ctx); err != nil || n != 0 {
			t.Fatalf("second sweep expired %d, %v", n, err)
		}

		// The periodic job does the same, as soon as the workers start.
		f.age(t, ids[2], 2*time.Hour)
		workers := river.NewWorkers()
		f.svc.Register(workers)
		q, err := jobs.New(db, workers, jobs.Config{PollInterval: 50 * time.Millisecond,
			PeriodicJobs: []*river.PeriodicJob{f.svc.ExpiryJob(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(f.ctx); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = q.Stop(context.Background()) }()
		deadline := time.Now().Add(30 * time.Second)
		for f.count(t, `SELECT count(*) FROM upload WHERE dry_run`) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the periodic job did not delete the expired dry run")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// An organisation stores at most MaxStored uploads at once: unexpired dry
// runs and uploads not yet finished. The next one is refused before its
// file is even parsed; finished and expired ones free their place, and
// other organisations are not affected.
func TestStoredUploadsCapPerOrganisation(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.MaxStored = 2
		data := csvFile(header, userRows("cap", 2)...)
		org := OrgRef{ID: f.schoolA.ID}
		dry, err := f.svc.DryRun(f.ctx, f.adminA, org, "u.csv", data)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := f.svc.Submit(f.ctx, f.adminA, org, "u.csv", data, false)
		if err != nil {
			t.Fatal(err)
		}
		const full = "this organisation has reached its limit of 2 stored uploads (dry runs of the last 24h and uploads still being processed); " +
			"wait for an upload to finish or a dry run to expire"
		for _, dryRun := range []bool{true, false} {
			_, err := f.svc.Submit(f.ctx, f.adminA, org, "u.csv", []byte("not a csv\x00"), dryRun)
			if roster.ErrorCode(err) != roster.ECONFLICT || roster.ErrorMessage(err) != full {
				t.Fatalf("dry run %v at the cap: %v", dryRun, err)
			}
		}
		// Nothing was written for the refused ones.
		if n := f.count(t, `SELECT count(*) FROM upload WHERE org_id = $1`, f.schoolA.ID); n != 2 {
			t.Fatalf("%d uploads stored", n)
		}
		// Another organisation has its own allowance.
		if _, err := f.svc.DryRun(f.ctx, f.adminA, OrgRef{ID: f.stateA.ID}, "u.csv", data); err != nil {
			t.Fatal(err)
		}
		// A finished upload no longer counts.
		if err := f.svc.Process(f.ctx, pending.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.DryRun(f.ctx, f.adminA, org, "u.csv", data); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.DryRun(f.ctx, f.adminA, org, "u.csv", data); roster.ErrorCode(err) != roster.ECONFLICT {
			t.Fatalf("third stored upload: %v", err)
		}
		// Nor does an expired dry run, even before the sweep deletes it.
		f.age(t, dry.Upload.ID, 25*time.Hour)
		if _, err := f.svc.DryRun(f.ctx, f.adminA, org, "u.csv", data); err != nil {
			t.Fatal(err)
		}
	})
}

// Dry runs racing past the first check are counted again where they are
// inserted; SQLite serialises those transactions, so the cap holds exactly.
func TestStoredUploadsCapUnderConcurrency(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.Open(t, "sqlite"))
	f.svc.MaxStored = 2
	data := csvFile(header, userRows("race", 20)...)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.svc.DryRun(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", data)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case roster.ErrorCode(err) != roster.ECONFLICT:
			t.Fatal(err)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM upload`); ok != 2 || n != 2 {
		t.Fatalf("%d dry runs accepted, %d stored; want 2", ok, n)
	}
}
