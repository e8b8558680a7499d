// Package upload registers users in bulk from a CSV or .xlsx file (seed
// 002). An org admin submits a file for one organisation; the file is
// checked as a whole at once (encoding, header, limits), stored sealed, and
// a River job creates the users in chunks, recording every row's outcome in
// the same transaction as the users it created. Because outcomes and users
// commit together, a worker that dies mid-file resumes exactly where it
// stopped.
//
// Row numbers everywhere are the ones a spreadsheet shows: the header is
// row 1, the first data row is row 2, and blank rows keep their number.
package upload

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/riverqueue/river"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
)

// Defaults of Service.DryRunRetention and Service.MaxStored. A day is long
// enough to read a dry run's results and fix the file; twenty files of the
// 10 MB limit bound what one organisation can make the database hold.
const (
	DefaultDryRunRetention = 24 * time.Hour
	DefaultMaxStored       = 20
)

// DefaultChunkSize rows are written per transaction: large enough that
// commit overhead is negligible, small enough that SQLite's single writer
// lock is never held for long and progress moves visibly.
const DefaultChunkSize = 100

// OrgRef names the organisation of an upload: by id, or as seed 002 allows,
// by provider (the tenant's channel) and the organisation's external id.
type OrgRef struct {
	ID         string `json:"orgId,omitempty"`
	Provider   string `json:"provider,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
}

// Service runs uploads.
type Service struct {
	// Activation, when set, lets a create file leave passwords out: each
	// user created without one is sent a code to set it (--upload-activation).
	Activation Activator
	reg        *registry.Service
	db         store.Engine
	keys       *pii.Keyring
	queue      *jobs.Queue

	// Limits apply to submitted files.
	Limits Limits
	// DryRunRetention is how long a dry run and its rows (the file's values,
	// sealed) are kept; default DefaultDryRunRetention.
	DryRunRetention time.Duration
	// MaxStored caps what one organisation stores at once: its unexpired
	// dry runs plus its uploads not finished yet; default DefaultMaxStored.
	MaxStored int
	// ChunkSize is the number of rows per transaction.
	ChunkSize int
	// Hashers is the number of goroutines feeding password hashes to the
	// registry's hashing pool, which decides how many run at once; one per
	// core keeps every worker the pool gives uploads busy.
	Hashers int
	// ChangeThreshold is the percentage of an organisation's members an
	// update or upsert upload may change or block without confirmation;
	// default DefaultChangeThreshold.
	ChangeThreshold int
	// Now is the clock (DOB must be in the past); tests pin it.
	Now func() time.Time

	// afterChunk, when set, runs after each committed chunk; tests use it
	// to make the worker die mid-file.
	afterChunk func(uploadID string, chunk int) error
}

// New returns a service keeping uploads in db, sealed with keys, and
// creating their users through reg (which must use the same db: a chunk's
// users and outcomes commit in one transaction). Call UseQueue before
// Submit, and Register on the workers of the queue that should run
// uploads.
func New(db store.Engine, keys *pii.Keyring, reg *registry.Service) *Service {
	return &Service{
		reg: reg, db: db, keys: keys,
		ChunkSize: DefaultChunkSize,
		Hashers:   runtime.NumCPU(),
		Now:       roster.Now,
	}
}

// UseQueue sets the queue Submit enqueues on. The queue is built after the
// service because its workers need the service.
func (s *Service) UseQueue(q *jobs.Queue) { s.queue = q }

// JobArgs is the River job that processes one upload.
type JobArgs struct {
	UploadID string `json:"uploadId"`
}

func (JobArgs) Kind() string { return "upload_users" }

// InsertOpts puts uploads on their own queue so long reports never delay
// them. Attempts are generous because a retry only resumes the file.
func (JobArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueUploads, MaxAttempts: 10}
}

// Register adds the upload worker and the dry-run expiry worker to w.
func (s *Service) Register(w *river.Workers) {
	river.AddWorker(w, &worker{s: s})
	river.AddWorker(w, &expiryWorker{s: s})
}

type worker struct {
	river.WorkerDefaults[JobArgs]
	s *Service
}

func (w *worker) Work(ctx context.Context, job *river.Job[JobArgs]) error {
	err := w.s.Process(ctx, job.Args.UploadID)
	if err != nil && job.Attempt >= job.MaxAttempts {
		// No retry is coming: say so instead of leaving the upload
		// IN_PROGRESS forever. Rows already done keep their outcome.
		_ = store.FinishUpload(context.WithoutCancel(ctx), w.s.db, job.Args.UploadID, roster.UploadFailed,
			"processing failed repeatedly; rows already processed keep their outcome", roster.Now())
	}
	return err
}

// resolveOrg finds the upload's organisation and checks that p
// administers its tenant.
func (s *Service) resolveOrg(ctx context.Context, p *roster.Principal, ref OrgRef) (*roster.Organisation, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	var org *roster.Organisation
	var err error
	switch {
	case ref.ID != "":
		org, err = s.reg.GetOrg(ctx, p, strings.TrimSpace(ref.ID))
	case ref.Provider != "" && ref.ExternalID != "":
		org, err = s.reg.FindOrg(ctx, ref.Provider, ref.ExternalID)
	default:
		return nil, roster.Invalid(roster.FieldError{Field: "orgId",
			Message: "give the organisation id, or provider and externalId of the organisation"})
	}
	if err != nil {
		return nil, err
	}
	if err := authz.Decide(p, authz.ManageOrg, authz.Resource{Tenant: org.RootOrgID, Org: org.ID}); err != nil {
		return nil, err
	}
	return org, nil
}

// newUpload parses the file and builds its upload record. Nothing is
// written yet, so a bad file leaves no trace.
func (s *Service) newUpload(ctx context.Context, p *roster.Principal, ref OrgRef, fileName string, data []byte, opt Options) (*roster.Upload, *File, error) {
	mode, err := checkMode(opt.Mode)
	if err != nil {
		return nil, nil, err
	}
	org, err := s.resolveOrg(ctx, p, ref)
	if err != nil {
		return nil, nil, err
	}
	// Checked before the file is parsed, and again where the upload is
	// inserted.
	if err := s.checkStored(ctx, s.db, org.ID, 0); err != nil {
		return nil, nil, err
	}
	lim := s.Limits
	lim.mode, lim.activation = mode, s.Activation != nil
	f, err := Parse(fileName, data, lim)
	if err != nil {
		return nil, nil, err
	}
	now := roster.Now()
	up := &roster.Upload{
		ID: roster.NewID(), OrgID: org.ID, RootOrgID: org.RootOrgID, UploadedBy: p.UserID,
		FileName: cleanFileName(fileName), FileSize: int64(len(data)), Format: f.Format, Columns: f.Columns,
		Status: roster.UploadNew, Total: len(f.Rows), CreatedAt: now, UpdatedAt: now,
		Mode: mode, Confirmed: opt.Confirm,
	}
	return up, f, nil
}

// Submit accepts a file for processing and returns at once with the
// upload's process ID (Upload.ID) and status NEW. The upload row and its
// job are written in one transaction, so a job never points at a missing
// upload and an upload is never left without a job. With dryRun it
// behaves as DryRun and returns the finished dry-run upload.
func (s *Service) Submit(ctx context.Context, p *roster.Principal, ref OrgRef, fileName string, data []byte, dryRun bool) (*roster.Upload, error) {
	return s.SubmitWith(ctx, p, ref, fileName, data, Options{DryRun: dryRun})
}

// SubmitWith is Submit with a mode. An update or upsert file is worked out
// row by row first (and rolled back): one that would change or block more
// of the organisation's members than ChangeThreshold allows is refused,
// saying how many, unless opt.Confirm is set.
func (s *Service) SubmitWith(ctx context.Context, p *roster.Principal, ref OrgRef, fileName string, data []byte, opt Options) (*roster.Upload, error) {
	if opt.DryRun {
		res, err := s.DryRunWith(ctx, p, ref, fileName, data, opt)
		if err != nil {
			return nil, err
		}
		return res.Upload, nil
	}
	if s.queue == nil {
		return nil, errors.New("upload: no job queue configured")
	}
	up, f, err := s.newUpload(ctx, p, ref, fileName, data, opt)
	if err != nil {
		return nil, err
	}
	if up.Mode != roster.UploadModeCreate {
		if err := s.checkThreshold(ctx, p, up, f, opt.Confirm); err != nil {
			return nil, err
		}
	}
	// The file holds clear passwords and PII: it is stored only sealed,
	// and dropped as soon as the upload finishes.
	up.FileEnc = s.keys.Seal(string(data), pii.UploadFile(up.ID))
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		if err := store.InsertUpload(ctx, tx, up); err != nil {
			return err
		}
		if err := s.checkStored(ctx, tx, up.OrgID, 1); err != nil {
			return err
		}
		if _, err := s.queue.InsertTx(ctx, tx, JobArgs{UploadID: up.ID}, nil); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "upload.submit", "upload", up.ID, "ok",
			fmt.Sprintf("org=%s mode=%s rows=%d", up.OrgID, up.Mode, up.Total))
	})
	if err != nil {
		return nil, err
	}
	up.FileEnc = nil
	return up, nil
}

// DryRunResult is a dry run's upload record and every row's result.
type DryRunResult struct {
	Upload *roster.Upload
	Rows   []roster.UploadRow
}

// DryRun validates a file exactly as an upload would, including whether
// emails, phones, usernames and external ids are already taken, and returns
// every row's result (VALID or FAILED) without creating users. It is
// recorded as a finished upload with DryRun set and no stored file, so its
// results and result CSV are served like any upload's and the admin can
// find it in the list.
func (s *Service) DryRun(ctx context.Context, p *roster.Principal, ref OrgRef, fileName string, data []byte) (*DryRunResult, error) {
	return s.DryRunWith(ctx, p, ref, fileName, data, Options{})
}

// DryRunWith is DryRun with a mode. An update or upsert dry run says for
// every row whether it would create or update its user and which fields
// would change, old and new, personal values masked; and whether the file
// goes past the change threshold.
func (s *Service) DryRunWith(ctx context.Context, p *roster.Principal, ref OrgRef, fileName string, data []byte, opt Options) (*DryRunResult, error) {
	up, f, err := s.newUpload(ctx, p, ref, fileName, data, opt)
	if err != nil {
		return nil, err
	}
	if up.Mode != roster.UploadModeCreate {
		return s.dryRunChanges(ctx, p, up, f)
	}
	recs := ValidateRows(f.Rows, s.Now())
	nus := make([]registry.NewUser, len(recs))
	for i := range recs {
		nus[i] = recs[i].User
		nus[i].OrgID = up.OrgID
	}
	// One lookup for the whole file's values, not one per value.
	check, err := s.reg.NewConflictCheck(ctx, s.db, p, up.OrgID, nus)
	if err != nil {
		return nil, err
	}
	budget := dryRunBudget{s: s, p: p}
	grants := map[string]*roster.FieldError{} // files repeat a few role sets
	rows := make([]roster.UploadRow, len(recs))
	for i := range recs {
		rec := &recs[i]
		r := roster.UploadRow{UploadID: up.ID, RowNumber: rec.Row.Number, Status: roster.UploadRowValid, CreatedAt: up.CreatedAt,
			OriginalEnc: s.sealOriginal(up.ID, f.Columns, rec.Row)}
		conflicts, err := budget.conflicts(ctx, check, rec, nus[i])
		if err != nil {
			return nil, err
		}
		rec.Errors = append(rec.Errors, conflicts...)
		roles := strings.Join(rec.User.Roles, "\x00")
		fe, seen := grants[roles]
		if !seen {
			fe = s.reg.MayGrant(ctx, p, up.OrgID, rec.User.Roles)
			grants[roles] = fe
		}
		if fe != nil {
			rec.Errors = append(rec.Errors, *fe)
		}
		r.Action = roster.RowActionCreate
		if !rec.OK() {
			r.Status, r.Errors = roster.UploadRowFailed, capErrors(rec.Errors, up.Failed, s.Limits)
			up.Failed++
		} else {
			up.Succeeded++
		}
		rows[i] = r
	}
	return s.recordDryRun(ctx, p, up, rows, nil)
}

// recordDryRun stores a finished dry run and its rows; in update and
// upsert mode the rows of the transaction that worked them out, tx.
func (s *Service) recordDryRun(ctx context.Context, p *roster.Principal, up *roster.Upload, rows []roster.UploadRow, tx store.Tx) (*DryRunResult, error) {
	now := roster.Now()
	up.DryRun, up.Status, up.Processed = true, roster.UploadCompleted, up.Total
	up.StartedAt, up.FinishedAt, up.UpdatedAt = &up.CreatedAt, &now, now
	record := func(tx store.Tx) error {
		if err := store.InsertUpload(ctx, tx, up); err != nil {
			return err
		}
		if err := s.checkStored(ctx, tx, up.OrgID, 1); err != nil {
			return err
		}
		if err := store.InsertUploadRows(ctx, tx, rows); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "upload.dry_run", "upload", up.ID, "ok",
			fmt.Sprintf("org=%s mode=%s rows=%d valid=%d failed=%d", up.OrgID, up.Mode, up.Total, up.Succeeded, up.Failed))
	}
	var err error
	if tx != nil {
		err = record(tx)
	} else {
		err = store.InTx(ctx, s.db, record)
	}
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].OriginalEnc = nil
	}
	s.setExpiry(up)
	return &DryRunResult{Upload: up, Rows: rows}, nil
}

func (s *Service) retention() time.Duration {
	if s.DryRunRetention > 0 {
		return s.DryRunRetention
	}
	return DefaultDryRunRetention
}

// checkStored refuses an upload when the organisation already stores
// MaxStored uploads (unexpired dry runs and unfinished uploads), not
// counting the own uploads the caller has just inserted. Two uploads
// racing past the check on PostgreSQL can exceed the cap by the number of
// requests in flight, never more: the next one sees them committed.
func (s *Service) checkStored(ctx context.Context, q store.Queryer, orgID string, own int) error {
	limit := s.MaxStored
	if limit <= 0 {
		limit = DefaultMaxStored
	}
	n, err := store.CountStoredUploads(ctx, q, orgID, roster.Now().Add(-s.retention()))
	if err != nil {
		return err
	}
	if n-own >= limit {
		return roster.Errorf(roster.ECONFLICT, "this organisation has reached its limit of %d stored uploads (dry runs of the last %s and uploads still being processed); "+
			"wait for an upload to finish or a dry run to expire", limit, formatDuration(s.retention()))
	}
	return nil
}

// formatDuration writes whole hours as "24h" rather than "24h0m0s".
func formatDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return d.String()
}

// ExpiryArgs is the periodic job that deletes expired dry runs.
type ExpiryArgs struct{}

func (ExpiryArgs) Kind() string { return "upload_dry_run_expiry" }

// ExpiryJob returns the periodic job, for the process that runs
// maintenance, that deletes expired dry runs every interval.
func (s *Service) ExpiryJob(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return ExpiryArgs{}, &river.InsertOpts{Queue: jobs.QueueMaintenance}
		},
		&river.PeriodicJobOpts{ID: "upload_dry_run_expiry", RunOnStart: true})
}

type expiryWorker struct {
	river.WorkerDefaults[ExpiryArgs]
	s *Service
}

func (w *expiryWorker) Work(ctx context.Context, _ *river.Job[ExpiryArgs]) error {
	_, err := w.s.ExpireDryRuns(ctx)
	return err
}

// ExpireDryRuns deletes dry runs older than DryRunRetention with their
// rows, in batches so no transaction holds SQLite's write lock for long,
// and returns how many it deleted.
func (s *Service) ExpireDryRuns(ctx context.Context) (int, error) {
	const batch = 50
	cutoff := roster.Now().Add(-s.retention())
	total := 0
	for {
		var n int
		err := store.InTx(ctx, s.db, func(tx store.Tx) error {
			var err error
			n, err = store.DeleteDryRuns(ctx, tx, cutoff, batch)
			return err
		})
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// conflicts returns the errors for the row's unique values (email, phone,
// userName, external ids) that existing users already hold. It is asked for
// rows with other errors too, so an admin sees all of a row's problems in
// one go rather than one more after each fix.
//
// The answers count against p's budget of conflicts with other tenants'
// users, as an API create's do; a row met after the budget is used up is
// not checked and says why.
func (s *Service) conflicts(ctx context.Context, q store.Queryer, p *roster.Principal, orgID string, rec *Record) ([]roster.FieldError, error) {
	if fe, err := s.overBudget(ctx, q, p); fe != nil || err != nil {
		return fe, err
	}
	nu := rec.User
	nu.OrgID = orgID
	conflicts, err := s.reg.Conflicts(ctx, q, p, nu)
	if err != nil {
		return nil, err
	}
	return rec.columnErrors(conflicts), nil
}

// dryRunBudget is conflicts for a dry run's rows in order, asking for the
// uploader's conflict budget again only after a row used some of it: no
// other row of the run moves it.
type dryRunBudget struct {
	s     *Service
	p     *roster.Principal
	asked bool
	over  []roster.FieldError
}

func (b *dryRunBudget) conflicts(ctx context.Context, check *registry.ConflictCheck, rec *Record, nu registry.NewUser) ([]roster.FieldError, error) {
	if !b.asked {
		over, err := b.s.overBudget(ctx, b.s.db, b.p)
		if err != nil {
			return nil, err
		}
		b.over, b.asked = over, true
	}
	if b.over != nil {
		return b.over, nil
	}
	conflicts, err := check.Conflicts(ctx, b.s.db, nu)
	if err != nil {
		return nil, err
	}
	b.asked = len(conflicts) == 0
	return rec.columnErrors(conflicts), nil
}

// overBudget is the row's error when p may not be told about conflicts
// any more.
func (s *Service) overBudget(ctx context.Context, q store.Queryer, p *roster.Principal) ([]roster.FieldError, error) {
	err := s.reg.ConflictBudget(ctx, q, p)
	if roster.ErrorCode(err) == roster.ETOOMANY {
		return []roster.FieldError{{Field: "row", Message: roster.ErrorMessage(err)}}, nil
	}
	return nil, err
}

// columnErrors renames registry fields to the CSV's column names where
// they differ, so every error points at a column the row filled in: an
// external id that only the externalIds column gave is reported there.
func (rec *Record) columnErrors(errs []roster.FieldError) []roster.FieldError {
	extCol := ColExternalID
	for _, k := range rec.keys {
		if k.field == ColExternalID {
			extCol = ColExternalID
			break
		}
		if k.field == ColExternalIDs {
			extCol = ColExternalIDs
		}
	}
	out := make([]roster.FieldError, len(errs))
	for i, e := range errs {
		if e.Field == registry.FieldExternalID {
			e.Field = extCol
		}
		out[i] = e
	}
	return out
}

// Get returns an upload's status and counters to an admin of its
// organisation or tenant. Others are told it does not exist.
func (s *Service) Get(ctx context.Context, p *roster.Principal, id string) (*roster.Upload, error) {
	up, err := store.GetUpload(ctx, s.db, id)
	if errors.Is(err, store.ErrNoRows) || (err == nil && !authz.Allowed(p, authz.ManageOrg, authz.Resource{Tenant: up.RootOrgID, Org: up.OrgID})) {
		return nil, roster.Errorf(roster.ENOTFOUND, "upload not found (dry runs are deleted %s after they ran)", formatDuration(s.retention()))
	}
	if err == nil {
		s.setExpiry(up)
	}
	return up, err
}

// setExpiry tells a dry run's reader when it is deleted.
func (s *Service) setExpiry(up *roster.Upload) {
	if up.DryRun {
		t := up.CreatedAt.Add(s.retention())
		up.ExpiresAt = &t
	}
}

// RowFilter selects and pages row results.
type RowFilter struct {
	Status string // "", "all", "created", "updated", "failed" or "valid" (any case)
	After  int    // row number the previous page ended with
	Limit  int    // default 100, at most 1000
}

// Rows returns row results in row order.
func (s *Service) Rows(ctx context.Context, p *roster.Principal, id string, f RowFilter) ([]roster.UploadRow, error) {
	status := strings.ToUpper(strings.TrimSpace(f.Status))
	switch status {
	case "", "ALL":
		status = ""
	case roster.UploadRowCreated, roster.UploadRowUpdated, roster.UploadRowFailed, roster.UploadRowValid:
	default:
		return nil, roster.Invalid(roster.FieldError{Field: "status", Message: "must be all, created, updated, failed or valid"})
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	rows, err := store.ListUploadRows(ctx, s.db, id, status, f.After, f.Limit, false)
	if rows == nil && err == nil {
		rows = []roster.UploadRow{}
	}
	return rows, err
}

// List returns an organisation's uploads, newest first, to admins of its
// tenant. Pass the last id of a page as before for the next page.
func (s *Service) List(ctx context.Context, p *roster.Principal, orgID, before string, limit int) ([]roster.Upload, error) {
	org, err := s.reg.GetOrg(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	if err := authz.Decide(p, authz.ManageOrg, authz.Resource{Tenant: org.RootOrgID, Org: org.ID}); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	ups, err := store.ListUploads(ctx, s.db, orgID, before, limit)
	if ups == nil && err == nil {
		ups = []roster.Upload{}
	}
	for i := range ups {
		s.setExpiry(&ups[i])
	}
	return ups, err
}

// cleanFileName keeps the base name only, without control characters, so a
// name like "../../x" or one with terminal escapes is harmless to show.
func cleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "/" || name == "" {
		name = "upload"
	}
	return shorten(name, 200)
}
