package report

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/course/coursetest"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// BenchmarkUserProfileExhaust measures generating the report of one batch:
// reading, decrypting, CSV, deflate, AES and writing, end to end. The 1M
// case needs ROSTER_BENCH_1M=1 (its setup takes minutes); run with
// -benchtime 1x. Results go to docs/BENCHMARKS.md.
func BenchmarkUserProfileExhaust(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		for _, engine := range storetest.Engines() {
			b.Run(fmt.Sprintf("%s/%d", engine, n), func(b *testing.B) {
				if n > 100_000 && os.Getenv("ROSTER_BENCH_1M") == "" {
					b.Skip("set ROSTER_BENCH_1M=1 to run the 1,000,000-enrolment case")
				}
				benchReport(b, storetest.Open(b, engine), n)
			})
		}
	}
}

func benchReport(b *testing.B, db store.Engine, n int) {
	ctx := context.Background()
	if err := jobs.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	w := coursetest.NewWorld(b, db)
	svc, err := New(db, w.Keys, Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	q, err := jobs.New(db, nil, jobs.Config{})
	if err != nil {
		b.Fatal(err)
	}
	svc.UseQueue(q)
	creator := w.Principal(b, w.User(b, registry.NewUser{OrgID: w.State.ID, Roles: []string{roster.RoleContentCreator}}))
	c, err := w.Courses.CreateCourse(ctx, creator, course.NewCourse{Name: "Benchmark course", RootOrgID: w.State.ID})
	if err != nil {
		b.Fatal(err)
	}
	batch, err := w.Courses.CreateBatch(ctx, creator, course.NewBatch{CourseID: c.ID, Name: "Big batch", StartDate: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	school, err := w.Reg.CreateOrg(ctx, roster.SystemPrincipal, roster.Organisation{Name: "School", RootOrgID: w.State.ID,
		ExternalID: "B-1", LocationIDs: []string{w.Locations["330201"].ID}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	seedEnrolments(b, db, w, c, batch, school.ID, n)
	// Statistics as autovacuum (PostgreSQL) or PRAGMA optimize (SQLite)
	// keep them on a live database after enrolments accumulate.
	if _, err := db.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: %d enrolments in %s", n, time.Since(start).Round(time.Second))

	for b.Loop() {
		req, err := svc.Request(ctx, creator, NewRequest{CourseID: c.ID, BatchID: batch.ID, Password: "Bench1234"})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		resetPeakRSS()
		sampler := startPeakSampler()
		t0 := time.Now()
		if err := svc.generate(ctx, req.ID); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(t0)
		peakHeap := sampler.stop()
		r, err := store.GetReportRequest(ctx, db, req.ID)
		if err != nil || r.Status != roster.ReportSuccess || r.TotalRows != int64(n) {
			b.Fatalf("report = %+v, %v", r, err)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(peakHeap-min(peakHeap, base.HeapInuse))/(1<<20), "heap-growth-MiB")
		if hwm := peakRSS(); hwm > 0 {
			b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
		}
		b.ReportMetric(float64(r.FileSize)/(1<<20), "file-MiB")
		os.Remove(r.FilePath)
	}
}

// seedEnrolments writes n users enrolled in batch with multi-row inserts
// (the services would take far longer than the report): half consented,
// one in ten revoked after granting, 40% state-validated with a teacher
// id, half of those in a school, one in five without a location.
func seedEnrolments(b *testing.B, db store.Engine, w *coursetest.World, c *roster.Course, batch *roster.Batch, schoolID string, n int) {
	ctx := context.Background()
	const perTx = 10_000
	// SQLite resolves each $n by a linear search of the statement's
	// parameters, so long statements cost quadratic time there.
	perStmt := 500
	if db.Name() == "sqlite" {
		perStmt = 40
	}
	now := roster.Now()
	located := `[{"code":"33","type":"state"},{"code":"3302","type":"district"}]`
	for lo := 0; lo < n; lo += perTx {
		hi := min(lo+perTx, n)
		var users, userKeys, enrols, consents, extIDs, members [][]any
		for i := lo; i < hi; i++ {
			id := roster.NewID()
			sso := i%5 < 2
			root, flags, loc := w.Custodian.ID, 0, located
			if sso {
				root, flags = w.State.ID, roster.FlagTenantVerified
			}
			if i%5 == 4 {
				loc = "[]"
			}
			email := fmt.Sprintf("learner%07d@example.org", i)
			phone := fmt.Sprintf("+9170%08d", i)
			// Every learner has a data key of their own, as users created
			// since per-user keys do: the report unwraps one per learner.
			keys, wrapped, keyID := w.Keys.NewUserKey(id)
			users = append(users, []any{id, "u" + strconv.Itoa(i), "Learner", strconv.Itoa(i),
				keys.Seal(email, pii.UserField(id, pii.FieldEmail)), keys.Seal(phone, pii.UserField(id, pii.FieldPhone)),
				root, flags, loc, now})
			userKeys = append(userKeys, []any{id, keyID, wrapped, now})
			enrols = append(enrols, []any{batch.ID, id, c.ID, now, true})
			if i%2 == 0 {
				consents = append(consents, []any{roster.NewID(), id, c.RootOrgID, c.ID, roster.ConsentCollection, roster.ConsentActive, now.Add(-time.Hour)})
			}
			if i%10 == 1 {
				consents = append(consents, []any{roster.NewID(), id, c.RootOrgID, c.ID, roster.ConsentCollection, roster.ConsentActive, now.Add(-2 * time.Hour)},
					[]any{roster.NewID(), id, c.RootOrgID, c.ID, roster.ConsentCollection, roster.ConsentRevoked, now.Add(-time.Hour)})
			}
			if sso {
				tid := fmt.Sprintf("TCH-%07d", i)
				extIDs = append(extIDs, []any{"tn", "tn", "h" + strconv.Itoa(i), keys.Seal(tid, pii.ExternalID("tn", "tn", id)), id, now})
				if i%2 == 0 {
					members = append(members, []any{id, schoolID, now})
				}
			}
		}
		err := store.InTx(ctx, db, func(tx store.Tx) error {
			for _, t := range []struct {
				table string
				cols  []string
				rows  [][]any
			}{
				{"users", []string{"id", "username", "first_name", "last_name", "email_enc", "phone_enc", "root_org_id", "flags_value", "profile_location", "created_date"}, users},
				{"user_key", []string{"user_id", "key_id", "wrapped_enc", "created"}, userKeys},
				{"enrolment", []string{"batch_id", "user_id", "course_id", "enrolled_date", "active"}, enrols},
				{"consent", []string{"id", "user_id", "consumer_id", "object_id", "object_type", "status", "at"}, consents},
				{"usr_external_identity", []string{"provider", "id_type", "external_id_hash", "external_id_enc", "user_id", "created_on"}, extIDs},
				{"user_organisation", []string{"user_id", "organisation_id", "org_join_date"}, members},
			} {
				if err := bulkInsert(ctx, tx, perStmt, t.table, t.cols, t.rows); err != nil {
					return fmt.Errorf("%s: %w", t.table, err)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func bulkInsert(ctx context.Context, tx store.Tx, perStmt int, table string, cols []string, rows [][]any) error {
	for lo := 0; lo < len(rows); lo += perStmt {
		chunk := rows[lo:min(lo+perStmt, len(rows))]
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, len(chunk)*len(cols))
		for i, r := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteByte('(')
			for j := range r {
				if j > 0 {
					sb.WriteString(", ")
				}
				args = append(args, r[j])
				sb.WriteString("$" + strconv.Itoa(len(args)))
			}
			sb.WriteByte(')')
		}
		if _, err := tx.Exec(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

type peakSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	max  uint64
}

// startPeakSampler samples the Go heap every 10ms; ReadMemStats stops the
// world briefly, so sampling faster would distort the timing.
func startPeakSampler() *peakSampler {
	s := &peakSampler{done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			s.max = max(s.max, m.HeapInuse)
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *peakSampler) stop() uint64 {
	close(s.done)
	s.wg.Wait()
	return s.max
}

// resetPeakRSS resets VmHWM (Linux 4.0+), so peakRSS measures the report
// alone rather than the data set-up before it.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns VmHWM in bytes, or 0 where /proc is unavailable.
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
