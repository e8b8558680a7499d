package upload

import (
	"context"
	"time"

	"github.com/roster-dev/roster"
)

// WaitOptions tune SubmitAndWait.
type WaitOptions struct {
	DryRun bool
	// Mode and Confirm are as in Options.
	Mode    string
	Confirm bool
	// PollInterval is how often the status is read; default 500ms.
	PollInterval time.Duration
	// OnProgress is called with the upload after submitting and after every
	// poll, for a progress bar (Processed of Total).
	OnProgress func(roster.Upload)
}

// Report is the outcome `roster upload` prints: the final upload and every
// failed row (errors only, never row values).
type Report struct {
	Upload *roster.Upload
	Failed []roster.UploadRow
}

// OK reports whether the upload finished and every row succeeded; the
// command exits non-zero otherwise.
func (r *Report) OK() bool {
	return r.Upload != nil && r.Upload.Status == roster.UploadCompleted && r.Upload.Failed == 0
}

// SubmitAndWait submits a file (or dry-runs it), waits until the upload is
// COMPLETED or FAILED and collects the failed rows. Some process must run
// the upload workers: a `roster serve` on the same database, or a queue the
// caller started with Register. Cancelling ctx stops waiting, not the
// upload, which carries on in the background.
func (s *Service) SubmitAndWait(ctx context.Context, p *roster.Principal, org OrgRef, fileName string, data []byte, opt WaitOptions) (*Report, error) {
	if opt.PollInterval <= 0 {
		opt.PollInterval = 500 * time.Millisecond
	}
	progress := func(u *roster.Upload) {
		if opt.OnProgress != nil {
			opt.OnProgress(*u)
		}
	}
	up, err := s.SubmitWith(ctx, p, org, fileName, data, Options{DryRun: opt.DryRun, Mode: opt.Mode, Confirm: opt.Confirm})
	if err != nil {
		return nil, err
	}
	progress(up)
	tick := time.NewTicker(opt.PollInterval)
	defer tick.Stop()
	for up.Status != roster.UploadCompleted && up.Status != roster.UploadFailed {
		select {
		case <-ctx.Done():
			return &Report{Upload: up}, ctx.Err()
		case <-tick.C:
		}
		if up, err = s.Get(ctx, p, up.ID); err != nil {
			return nil, err
		}
		progress(up)
	}
	rep := &Report{Upload: up, Failed: []roster.UploadRow{}}
	for after := 0; ; {
		rows, err := s.Rows(ctx, p, up.ID, RowFilter{Status: roster.UploadRowFailed, After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		rep.Failed = append(rep.Failed, rows...)
		if len(rows) < 1000 {
			return rep, nil
		}
		after = rows[len(rows)-1].RowNumber
	}
}
