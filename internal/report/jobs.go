package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/riverqueue/river"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/zipcrypt"
)

// GenerateArgs is the job that builds one requested report, of any kind.
// It carries only the request id: the sealed password stays in the request
// row, where it is wiped when the job ends, unlike job arguments which
// River keeps.
type GenerateArgs struct {
	RequestID string `json:"requestId"`
}

func (GenerateArgs) Kind() string        { return "report_generate" }
func (a GenerateArgs) requestID() string { return a.RequestID }

// exhaustArgs is the job name requests were queued under before reports
// had kinds; its worker is the same, so a job queued by an older version
// still runs after an upgrade.
type exhaustArgs GenerateArgs

func (exhaustArgs) Kind() string        { return "report_user_profile_exhaust" }
func (a exhaustArgs) requestID() string { return a.RequestID }

type generateWorker[T interface {
	river.JobArgs
	requestID() string
}] struct {
	river.WorkerDefaults[T]
	s *Service
}

func (w *generateWorker[T]) NextRetry(job *river.Job[T]) time.Time {
	if w.s.cfg.RetryDelay == nil {
		return time.Time{} // River's exponential backoff
	}
	return time.Now().Add(w.s.cfg.RetryDelay(job.Attempt))
}

// Work runs one attempt. Transient errors are returned so River retries;
// the request is marked FAILED only on the last attempt or when retrying
// cannot help, and then its password is wiped.
func (w *generateWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	s, id := w.s, job.Args.requestID()
	err := s.generate(ctx, id)
	if err == nil {
		return nil
	}
	// The error may mention file paths or SQL but never the password or
	// personal data, which are not part of any error we build.
	s.cfg.Logger.Warn("report: attempt failed", "report", id, "attempt", job.Attempt, "max", job.MaxAttempts, "err", err)
	bg := context.WithoutCancel(ctx)
	var perm *errPermanent
	if errors.As(err, &perm) || job.Attempt >= job.MaxAttempts {
		msg := failureMessage(err)
		if job.Attempt > 1 && perm == nil {
			msg = fmt.Sprintf("%s (gave up after %d attempts)", msg, job.Attempt)
		}
		if ferr := store.FailReport(bg, s.db, id, msg, s.Now()); ferr != nil {
			return errors.Join(err, ferr)
		}
		_ = store.Audit(bg, s.db, "system", "report.generate", "report", id, "failed", msg)
		if perm != nil {
			return river.JobCancel(err)
		}
		return err
	}
	_ = store.NoteReportFailure(bg, s.db, id,
		fmt.Sprintf("attempt %d of %d failed (%s); it will be retried", job.Attempt, job.MaxAttempts, failureMessage(err)))
	return err
}

// failureMessage is the plain-English reason shown to the requester.
func failureMessage(err error) string {
	var perm *errPermanent
	switch {
	case errors.As(err, &perm):
		return perm.msg
	case errors.Is(err, syscall.ENOSPC):
		return "the server ran out of disk space while writing the report"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "the server stopped while writing the report"
	case errors.Is(err, store.ErrBusy):
		return "the database was busy"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return "the report file could not be written"
	}
	return "an internal error occurred"
}

// generate builds the report file of a pending request.
func (s *Service) generate(ctx context.Context, id string) error {
	req, err := store.GetReportRequest(ctx, s.db, id)
	if errors.Is(err, store.ErrNoRows) {
		return permanent("the report request no longer exists")
	} else if err != nil {
		return err
	}
	if req.Status != roster.ReportSubmitted && req.Status != roster.ReportProcessing {
		return nil // finished by an earlier run of a duplicated job
	}
	kind, okKind := kindOf(req.Kind)
	format, okFormat := formatOf(req.Format)
	if !okKind || !okFormat { // asked of a newer version, or the row was edited
		return permanent("this server cannot build %q reports as %q", req.Kind, req.Format)
	}
	sealed, err := store.ReportPassword(ctx, s.db, id)
	if err != nil {
		return err
	}
	if len(sealed) == 0 {
		return permanent("the archive password is no longer available; request the report again")
	}
	password, err := s.keys.Open(sealed, pii.ReportPassword(id))
	if err != nil {
		return permanent("the archive password could not be decrypted; check the PII keys")
	}
	snapshot := s.Now()
	if ok, err := store.StartReport(ctx, s.db, id, snapshot); err != nil {
		return err
	} else if !ok {
		return nil
	}
	if s.beforeGenerate != nil {
		if err := s.beforeGenerate(ctx, req); err != nil {
			return err
		}
	}
	c, err := store.GetCourse(ctx, s.db, req.CourseID)
	if err != nil {
		return err
	}
	var batches []roster.Batch
	if req.BatchID != "" {
		b, err := store.GetBatch(ctx, s.db, req.BatchID)
		if err != nil {
			return err
		}
		batches = []roster.Batch{*b}
	} else if batches, err = store.ListBatches(ctx, s.db, c.ID); err != nil {
		return err
	}
	final := filepath.Join(s.cfg.Dir, id+".zip")
	src := &Source{Request: req, Course: c, Batches: batches, Snapshot: snapshot, s: s}
	size, stats, err := s.writeArchive(ctx, final, password, kind, format, src)
	if err != nil {
		return err
	}
	if final, err = s.store(ctx, final, id+".zip", size); err != nil {
		return err
	}
	now := s.Now()
	exp := now.Add(s.cfg.Retention)
	done := &roster.ReportRequest{ID: id, TotalRows: stats.Rows, ConsentedRows: stats.Consented, FilePath: final,
		FileSize: size, FinishedAt: &now, ExpiresAt: &exp}
	if err := store.FinishReport(ctx, s.db, done); err != nil {
		s.removeFile(ctx, final)
		return err
	}
	_ = store.Audit(ctx, s.db, "system", "report.generate", "report", id, "ok",
		fmt.Sprintf("rows=%d consented=%d", stats.Rows, stats.Consented))
	return nil
}

// writeArchive streams the kind's rows in the format into an encrypted zip
// in a temporary file and renames it into place, so a crash never leaves a
// truncated report where a download could find it.
func (s *Service) writeArchive(ctx context.Context, final, password string, kind *Kind, format *Format, src *Source) (size int64, stats Stats, err error) {
	tmp, err := createTemp(s.cfg.Dir)
	if err != nil {
		return 0, stats, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	buf := bufio.NewWriterSize(tmp, 256<<10)
	zw, err := zipcrypt.NewWriter(buf, password)
	if err != nil {
		return 0, stats, permanent("the archive password cannot be used: %v", err)
	}
	entry, err := zw.Create(fileBase(src.Request)+format.Ext, src.Snapshot)
	if err != nil {
		return 0, stats, err
	}
	pipe := newPipeWriter(entry)
	defer pipe.Close()
	rw, err := format.New(pipe, kind.Header)
	if err != nil {
		return 0, stats, err
	}
	if stats, err = kind.Rows(ctx, src, rw.Write); err != nil {
		return 0, stats, err
	}
	if err := rw.Flush(); err != nil {
		return 0, stats, err
	}
	if err := pipe.Close(); err != nil {
		return 0, stats, err
	}
	if err := zw.Close(); err != nil {
		return 0, stats, err
	}
	if err := buf.Flush(); err != nil {
		return 0, stats, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, stats, err
	}
	info, err := tmp.Stat()
	if err != nil {
		return 0, stats, err
	}
	if err := tmp.Close(); err != nil {
		return 0, stats, err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return 0, stats, err
	}
	return info.Size(), stats, nil
}

// store moves a finished archive at path into the object store when there
// is one, and returns what FinishReport records: the local path, or the
// object's key marked as such. The archive is built on local disk first so
// that a job killed mid-report leaves no object behind, only a temporary
// file the next start removes.
func (s *Service) store(ctx context.Context, path, name string, size int64) (string, error) {
	if s.cfg.Objects == nil {
		return path, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer os.Remove(path)
	defer f.Close()
	key, err := s.cfg.Objects.Put(ctx, name, f, size)
	if err != nil {
		return "", err
	}
	return objectRef + key, nil
}

// openFile opens a finished archive wherever store put it; a missing one
// is os.ErrNotExist.
func (s *Service) openFile(ctx context.Context, ref string) (io.ReadCloser, int64, time.Time, error) {
	if key, ok := strings.CutPrefix(ref, objectRef); ok {
		if s.cfg.Objects == nil {
			return nil, 0, time.Time{}, fmt.Errorf("report %s is in object storage, and this replica has no --report-store", ref)
		}
		return s.cfg.Objects.Get(ctx, key)
	}
	f, err := os.Open(ref)
	if err != nil {
		return nil, 0, time.Time{}, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, time.Time{}, err
	}
	return f, info.Size(), info.ModTime(), nil
}

func (s *Service) removeFile(ctx context.Context, ref string) error {
	if key, ok := strings.CutPrefix(ref, objectRef); ok {
		if s.cfg.Objects == nil {
			return fmt.Errorf("report %s is in object storage, and this replica has no --report-store", ref)
		}
		return s.cfg.Objects.Remove(ctx, key)
	}
	return os.Remove(ref)
}

// createTemp creates the temporary file a report is written to (mode 0600)
// and holds an exclusive flock on it while it is open. The kernel drops the
// lock when the process dies, which is how the next start tells a killed
// job's partial file from one that another replica sharing the directory
// is still writing.
func createTemp(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, ".report-*.tmp")
	if err != nil {
		return nil, err
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	if err == nil {
		// A starting replica may have taken the file for dead and removed
		// it between its creation and the lock.
		var held, named os.FileInfo
		if held, err = f.Stat(); err == nil {
			if named, err = os.Stat(f.Name()); err == nil && !os.SameFile(held, named) {
				err = errors.New("temporary report file replaced")
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock temporary report file: %w", err)
	}
	return f, nil
}

// isTemp reports whether name is a temporary report file.
func isTemp(name string) bool {
	return strings.HasPrefix(name, ".report-") && strings.HasSuffix(name, ".tmp")
}

// removeDeadTemp removes the temporary report files in dir that no process
// holds locked: their job was killed mid-file and no retry reuses them.
func removeDeadTemp(dir string) (removed int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	for _, e := range entries {
		if !isTemp(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil && os.Remove(path) == nil {
			removed++
		}
		f.Close()
	}
	return removed
}

// RetentionArgs is the periodic job that deletes expired report files.
type RetentionArgs struct{}

func (RetentionArgs) Kind() string { return "report_retention" }

// RetentionJob returns the periodic job for the lead to pass in
// jobs.Config.PeriodicJobs: every interval (e.g. an hour) it deletes
// report files past their retention, marks them EXPIRED, fails requests
// whose job was lost (wiping their passwords) and removes temporary files
// left by crashed attempts.
func (s *Service) RetentionJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return RetentionArgs{}, &river.InsertOpts{Queue: jobs.QueueMaintenance}
		},
		&river.PeriodicJobOpts{ID: "report_retention", RunOnStart: true})
}

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	s *Service
}

func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	_, err := w.s.Expire(ctx)
	return err
}

// staleAfter is how long a request may stay pending before its job is
// presumed lost. River's retries of a report take minutes, not a day.
const staleAfter = 24 * time.Hour

// Expire deletes expired report files and marks their requests EXPIRED,
// fails lost requests and removes stale temporary files. It returns the
// number of reports expired.
func (s *Service) Expire(ctx context.Context) (int, error) {
	now := s.Now()
	n := 0
	for {
		expired, err := store.ExpiredReports(ctx, s.db, now, 100)
		if err != nil {
			return n, err
		}
		for _, r := range expired {
			if r.FilePath != "" {
				if err := s.removeFile(ctx, r.FilePath); err != nil && !errors.Is(err, os.ErrNotExist) {
					return n, err
				}
			}
			if err := store.ExpireReport(ctx, s.db, r.ID); err != nil {
				return n, err
			}
			n++
		}
		if len(expired) < 100 {
			break
		}
	}
	if _, err := store.FailStaleReports(ctx, s.db, now.Add(-staleAfter),
		"the report job was lost before it finished; request the report again", now); err != nil {
		return n, err
	}
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return n, err
	}
	for _, e := range entries {
		if !isTemp(e.Name()) {
			continue
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleAfter {
			os.Remove(filepath.Join(s.cfg.Dir, e.Name()))
		}
	}
	return n, nil
}
