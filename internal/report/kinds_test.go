package report

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// rollCall is a second kind, as a new report would be added: the batch id
// and user id of every learner enrolled in the request's batches.
var rollCall = Kind{
	Name:   "roll-call",
	Title:  "Roll call",
	Header: []string{"Batch Id", "User UUID"},
	Rows: func(ctx context.Context, src *Source, write func([]string) error) (Stats, error) {
		var st Stats
		for _, b := range src.Batches {
			page, err := store.ReportPage(ctx, src.s.db, src.Course.ID, src.Course.RootOrgID, b.ID, src.Snapshot, "", 1000, nil)
			if err != nil {
				return st, err
			}
			for _, u := range page {
				if err := write([]string{b.ID, u.UserID}); err != nil {
					return st, err
				}
				st.Rows++
			}
		}
		return st, nil
	},
}

// withKind adds k to the service's kinds for the test.
func withKind(t *testing.T, k *Kind) {
	saved := kinds
	kinds = append(append([]*Kind{}, kinds...), k)
	t.Cleanup(func() { kinds = saved })
}

// A second kind goes through the same request, pending rule, job,
// archive, download and retention code as the exhaust, and only its
// header and rows differ.
func TestReportKindIsASeam(t *testing.T) {
	withKind(t, &rollCall)
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		f := newFixture(t, db, Config{})
		startWorkers(t, f)
		exhaust, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		if exhaust.Kind != roster.ReportUserProfileExhaust || exhaust.Format != roster.ReportCSV {
			t.Fatalf("default kind/format = %q/%q", exhaust.Kind, exhaust.Format)
		}
		roll, err := f.svc.Request(ctx, f.creator, NewRequest{Kind: "roll-call", CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil || roll.Existing || roll.ID == exhaust.ID || roll.Kind != "roll-call" || roll.Format != roster.ReportCSV {
			t.Fatalf("roll call beside a pending exhaust = %+v, %v; want a request of its own", roll, err)
		}
		again, err := f.svc.Request(ctx, f.creator, NewRequest{Kind: "roll-call", Format: "csv", CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
		if err != nil || !again.Existing || again.ID != roll.ID {
			t.Fatalf("second roll call = %+v, %v; want the pending one back", again, err)
		}

		for _, id := range []string{exhaust.ID, roll.ID} {
			if r := waitFinished(t, db, id); r.Status != roster.ReportSuccess {
				t.Fatalf("%s: %s (%s)", id, r.Status, r.Failure)
			}
		}
		got, err := f.svc.Get(ctx, f.creator, roll.ID)
		if err != nil || got.Kind != "roll-call" || got.Format != roster.ReportCSV || got.TotalRows == 0 || got.Download == nil {
			t.Fatalf("get = %+v, %v", got, err)
		}
		rc, file, err := f.svc.Open(ctx, f.creator, got.Download.Token)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		wantName := "roll-call_" + f.course.ID + "_" + f.b1.ID + "_" + got.RequestedAt.UTC().Format("20060102") + ".zip"
		if file.Name != wantName {
			t.Fatalf("download name = %q, want %q", file.Name, wantName)
		}
		r, _ := store.GetReportRequest(ctx, db, roll.ID)
		data := readArchive(t, r.FilePath, testPassword)
		lines := strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n")
		if lines[0] != "\xEF\xBB\xBFBatch Id,User UUID" || int64(len(lines)-1) != got.TotalRows {
			t.Fatalf("roll call file = %q (%d rows recorded)", data, got.TotalRows)
		}
		for _, l := range lines[1:] {
			if !strings.HasPrefix(l, f.b1.ID+",") {
				t.Fatalf("row %q is not of batch 1", l)
			}
		}
		// The exhaust is untouched by the other kind.
		ex, _ := store.GetReportRequest(ctx, db, exhaust.ID)
		if recs := parseCSV(t, readArchive(t, ex.FilePath, testPassword)); len(recs) == 0 {
			t.Fatal("exhaust has no rows")
		}

		f.svc.Now = func() time.Time { return r.ExpiresAt.Add(time.Second) }
		if n, err := f.svc.Expire(ctx); err != nil || n != 2 {
			t.Fatalf("expire = %d, %v; want both kinds expired", n, err)
		}
		if _, err := os.Stat(r.FilePath); !os.IsNotExist(err) {
			t.Fatalf("roll call file kept after retention: %v", err)
		}
	})
}

func TestRequestRefusesUnknownKindAndFormat(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	ctx := context.Background()
	f := newFixture(t, db, Config{})
	for _, c := range []struct{ kind, format, field string }{
		{"sunbird-exhaust", "", "kind"},
		{"", "pdf", "format"},
		{"User-Profile-Exhaust", "csv", "kind"},
	} {
		_, err := f.svc.Request(ctx, f.creator, NewRequest{Kind: c.kind, Format: c.format, CourseID: f.course.ID, Password: testPassword})
		e, ok := err.(*roster.Error)
		if !ok || e.Code != roster.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != c.field ||
			!strings.Contains(e.Fields[0].Message, "must be one of: ") {
			t.Errorf("kind %q format %q: err = %v; want a field error on %s", c.kind, c.format, err, c.field)
		}
	}
	if list, _ := store.ListReportRequests(ctx, db, f.creator.UserID, "", 10); len(list) != 0 {
		t.Fatalf("refused requests were stored: %+v", list)
	}
}

// A job queued by a version before kinds (under the old job name) is
// still built after an upgrade.
func TestJobQueuedBeforeKindsStillRuns(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	ctx := context.Background()
	f := newFixture(t, db, Config{})
	req, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, BatchID: f.b1.ID, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM river_job`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.queue.Insert(ctx, exhaustArgs{RequestID: req.ID}, nil); err != nil {
		t.Fatal(err)
	}
	var kind string
	if err := db.QueryRow(ctx, `SELECT kind FROM river_job`).Scan(&kind); err != nil || kind != "report_user_profile_exhaust" {
		t.Fatalf("queued job kind = %q, %v", kind, err)
	}
	startWorkers(t, f)
	if r := waitFinished(t, db, req.ID); r.Status != roster.ReportSuccess {
		t.Fatalf("old job: %s (%s)", r.Status, r.Failure)
	}
}

// A request of a kind this server does not build (asked of a newer
// version) fails at once with a reason, rather than being retried.
func TestJobRefusesAKindItCannotBuild(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	ctx := context.Background()
	f := newFixture(t, db, Config{})
	req, err := f.svc.Request(ctx, f.creator, NewRequest{CourseID: f.course.ID, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE report_request SET kind = 'progress' WHERE id = $1`, req.ID); err != nil {
		t.Fatal(err)
	}
	err = f.svc.generate(ctx, req.ID)
	var perm *errPermanent
	if !errors.As(err, &perm) || !strings.Contains(perm.msg, `"progress"`) {
		t.Fatalf("generate = %v; want a permanent failure naming the kind", err)
	}
}
