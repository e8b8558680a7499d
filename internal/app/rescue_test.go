package app

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
	"github.com/roster-dev/roster/internal/upload"
)

// Config.JobRescueAfter reaches the job queue: an upload whose worker died
// a few seconds ago is taken over by the next process's workers within
// seconds, not after the five-minute default.
func TestJobRescueAfterReachesTheQueue(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			a, err := Open(ctx, Config{DataDir: t.TempDir(), DatabaseURL: storetest.URL(t, engine),
				LogOutput: io.Discard, JobRescueAfter: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if err := a.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			a.Registry.HashPassword = testkit.CheapHash
			if _, err := a.Registry.Bootstrap(ctx); err != nil {
				t.Fatal(err)
			}
			org, err := a.Registry.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "Kerala", Channel: "KL", IsTenant: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.NewQueue(false, false); err != nil {
				t.Fatal(err)
			}
			csv := "firstName,email,userName,password\nMeera,meera@example.org,meera_k,Rescue-pass-1\n"
			up, err := a.Uploads.Submit(ctx, roster.SystemPrincipal, upload.OrgRef{ID: org.ID}, "u.csv", []byte(csv), false)
			if err != nil {
				t.Fatal(err)
			}
			// As if a worker took the job 10 s ago and was killed.
			at := time.Now().Add(-10 * time.Second).UTC()
			var arg any = at
			if a.DB.Name() == "sqlite" {
				arg = at.Format("2006-01-02 15:04:05.000") // River's SQLite time layout
			}
			if _, err := a.DB.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = $1 WHERE kind = 'upload_users'`, arg); err != nil {
				t.Fatal(err)
			}

			q, err := a.NewQueue(true, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer q.Stop(context.Background())
			deadline := time.Now().Add(45 * time.Second)
			for {
				got, err := a.Uploads.Get(ctx, roster.SystemPrincipal, up.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status == roster.UploadCompleted && got.Succeeded == 1 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("upload not rescued: %+v", got)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
