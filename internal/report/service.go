package report

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// Defaults of Config.LinkTTL and Config.Retention.
const (
	DefaultLinkTTL   = 30 * time.Minute
	DefaultRetention = 7 * 24 * time.Hour
)

// Config tunes the service. Zero values get the defaults noted.
type Config struct {
	Dir       string        // report files; default ./data/reports
	LinkTTL   time.Duration // lifetime of a download link; default DefaultLinkTTL
	Retention time.Duration // how long files are kept after they are built; default DefaultRetention
	// LinkKeys sign download links, the first signs and all verify;
	// default the PII key ring's link keys.
	LinkKeys   [][]byte
	LinkPrefix string // download URL = LinkPrefix + token; default /api/v1/reports/download?token=
	// PageSize is the rows per keyset page; default 500. Small enough that
	// PostgreSQL joins a page by index rather than scanning users whole
	// (measured: 1000 was 1.7x slower on 100,000 users), large enough that
	// per-query overhead stays small.
	PageSize    int
	MaxAttempts int // job attempts before a request FAILS; default 5
	// RetryDelay overrides River's exponential backoff (tests use it to
	// retry at once); nil keeps River's.
	RetryDelay func(attempt int) time.Duration
	// Objects, when set, holds finished archives (S3-compatible storage
	// shared by every replica); Dir then only holds archives being built.
	Objects Objects
	// TimeZone of the Consent Provided Date; default UTC.
	TimeZone *time.Location
	Logger   *slog.Logger
}

func (c *Config) defaults() {
	if c.Dir == "" {
		c.Dir = filepath.Join("data", "reports")
	}
	if c.LinkTTL <= 0 {
		c.LinkTTL = DefaultLinkTTL
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.LinkPrefix == "" {
		c.LinkPrefix = "/api/v1/reports/download?token="
	}
	if c.PageSize <= 0 {
		c.PageSize = 500
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.TimeZone == nil {
		c.TimeZone = time.UTC
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Objects is where finished archives live when they are not in Dir:
// internal/objectstore's bucket in production. Get reports a missing object
// as an error that is os.ErrNotExist.
type Objects interface {
	Put(ctx context.Context, name string, r io.Reader, size int64) (key string, err error)
	Get(ctx context.Context, key string) (io.ReadCloser, int64, time.Time, error)
	Remove(ctx context.Context, key string) error
}

// objectRef marks a FilePath that is an object key, not a local path.
const objectRef = "object:"

// Service requests, generates and serves User Profile Exhausts.
type Service struct {
	db       store.Engine
	keys     *pii.Keyring
	cfg      Config
	linkKeys [][]byte
	queue    *jobs.Queue
	// Now is swappable so tests can move past link and file expiry.
	Now func() time.Time

	// beforeGenerate lets tests inject failures into a job attempt.
	beforeGenerate func(ctx context.Context, req *roster.ReportRequest) error
	// afterPendingCheck lets tests hold concurrent requests between the
	// pending-request lookup and the insert, to force the race on the
	// report_request_pending index.
	afterPendingCheck func()
}

// New returns the service. Call Register before building the job queue
// and UseQueue after, so requests can be enqueued.
func New(db store.Engine, keys *pii.Keyring, cfg Config) (*Service, error) {
	cfg.defaults()
	if abs, err := filepath.Abs(cfg.Dir); err == nil {
		cfg.Dir = abs
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, err
	}
	// Partial files of jobs killed with their process would otherwise wait
	// for the daily sweep; a running job's file is locked and stays.
	if n := removeDeadTemp(cfg.Dir); n > 0 {
		cfg.Logger.Info("removed temporary files of report jobs that died", "files", n)
	}
	if len(cfg.LinkKeys) == 0 {
		cfg.LinkKeys = keys.LinkKeys()
	}
	return &Service{db: db, keys: keys, cfg: cfg, linkKeys: cfg.LinkKeys, Now: roster.Now}, nil
}

// Dir is where report files are written.
func (s *Service) Dir() string { return s.cfg.Dir }

// Config returns the settings in effect, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// UseQueue sets the queue requests are enqueued on.
func (s *Service) UseQueue(q *jobs.Queue) { s.queue = q }

// Register adds the report workers (generation and retention) to workers.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &generateWorker[GenerateArgs]{s: s})
	river.AddWorker(workers, &generateWorker[exhaustArgs]{s: s})
	river.AddWorker(workers, &retentionWorker{s: s})
}

// Request is a report request as its requester sees it.
type Request struct {
	roster.ReportRequest
	CourseName string `json:"courseName"`
	BatchName  string `json:"batchName,omitempty"`
	// Download is set for successful reports whose file is still kept.
	Download *Link `json:"download,omitempty"`
	// Existing is set by Service.Request when an identical request was
	// already pending and is returned instead of a new one.
	Existing bool `json:"existing,omitempty"`
}

// Link is a signed, expiring download link, valid only for the user it
// was issued to.
type Link struct {
	URL       string    `json:"url"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// File describes a report file being downloaded.
type File struct {
	ReportID    string
	Name        string // suggested file name
	Size        int64
	ContentType string
	Modified    time.Time
}

const (
	msgCreatorOnly = authz.MsgCreatorOnly
	passwordField  = "password"
)

// ValidatePassword checks an archive password: 8 to 99 characters with at
// least one letter and one digit, printable ASCII only, because 7-Zip on
// Windows converts typed passwords to the ANSI code page (other characters
// would make the archive impossible to open there) and refuses passwords
// longer than 99 bytes.
func ValidatePassword(pw string) *roster.FieldError {
	var letter, digit bool
	for i := 0; i < len(pw); i++ {
		c := pw[i]
		switch {
		case c < 0x20 || c > 0x7e:
			return &roster.FieldError{Field: passwordField,
				Message: "may contain only English letters, digits, spaces and keyboard symbols, so that 7-Zip on any system can open the file"}
		case c >= '0' && c <= '9':
			digit = true
		case (c|0x20) >= 'a' && (c|0x20) <= 'z':
			letter = true
		}
	}
	if len(pw) < 8 || len(pw) > 99 || !letter || !digit {
		return &roster.FieldError{Field: passwordField, Message: "must be 8 to 99 characters long and contain at least one letter and one digit"}
	}
	return nil
}

// authorizeCreator asks the policy (authz.UseReports) whether p may act on
// the course's reports, or on the report requestedBy asked for when it is
// set. Every refusal is audited.
func (s *Service) authorizeCreator(ctx context.Context, p *roster.Principal, c *roster.Course, requestedBy, action, objectType, objectID string) error {
	err := authz.Decide(p, authz.UseReports, authz.Resource{Course: c, Owner: requestedBy})
	if err != nil && p != nil {
		s.auditDenied(ctx, p, action, objectType, objectID, "course="+c.ID)
	}
	return err
}

func (s *Service) auditDenied(ctx context.Context, p *roster.Principal, action, objectType, objectID, detail string) {
	actor := ""
	if p != nil {
		actor = p.UserID
	}
	if err := store.Audit(context.WithoutCancel(ctx), s.db, actor, action, objectType, objectID, "denied", detail); err != nil {
		s.cfg.Logger.Error("report: audit write failed", "action", action, "err", err)
	}
}

func (s *Service) getCourse(ctx context.Context, id string) (*roster.Course, error) {
	c, err := store.GetCourse(ctx, s.db, strings.TrimSpace(id))
	if errors.Is(err, store.ErrNoRows) {
		return nil, roster.Errorf(roster.ENOTFOUND, "course not found")
	}
	return c, err
}

// NewRequest is what a requester asks for.
type NewRequest struct {
	Kind     string // one of KindNames(); the User Profile Exhaust when empty
	Format   string // one of FormatNames(); CSV when empty
	CourseID string
	BatchID  string // every batch of the course when empty
	Password string // of the encrypted zip
}

// Request asks for a report of one batch of a course, or of every batch
// when BatchID is empty. Only the course creator may ask. The archive
// password is sealed with the PII key ring until the job has used it. If
// the same requester already has a pending request of the same kind and
// format for the same course and batch, that request is returned
// (Existing set) instead.
func (s *Service) Request(ctx context.Context, p *roster.Principal, in NewRequest) (*Request, error) {
	courseID, batchID, password := in.CourseID, in.BatchID, in.Password
	if p == nil {
		s.auditDenied(ctx, nil, "report.request", "course", strings.TrimSpace(courseID), "not signed in")
		return nil, authz.Unauthenticated()
	}
	c, err := s.getCourse(ctx, courseID)
	if err != nil {
		return nil, err
	}
	if err := s.authorizeCreator(ctx, p, c, "", "report.request", "course", c.ID); err != nil {
		return nil, err
	}
	out := &Request{CourseName: c.Name}
	batchID = strings.TrimSpace(batchID)
	if batchID != "" {
		b, err := store.GetBatch(ctx, s.db, batchID)
		if errors.Is(err, store.ErrNoRows) || (err == nil && b.CourseID != c.ID) {
			return nil, roster.Invalid(roster.FieldError{Field: "batchId", Message: "is not a batch of this course"})
		} else if err != nil {
			return nil, err
		}
		out.BatchName = b.Name
	}
	kind, format, err := kindAndFormat(in.Kind, in.Format)
	if err != nil {
		return nil, err
	}
	if fe := ValidatePassword(password); fe != nil {
		return nil, roster.Invalid(*fe)
	}
	if s.queue == nil {
		return nil, errors.New("report: no job queue configured")
	}
	req := roster.ReportRequest{ID: roster.NewID(), Kind: kind.Name, Format: format.Name, CourseID: c.ID, BatchID: batchID,
		RequestedBy: p.UserID, Status: roster.ReportSubmitted, RequestedAt: s.Now()}
	errPending := errors.New("pending request exists")
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		existing, err := store.FindPendingReport(ctx, tx, &req)
		if err == nil {
			out.ReportRequest, out.Existing = *existing, true
			return nil
		} else if !errors.Is(err, store.ErrNoRows) {
			return err
		}
		if s.afterPendingCheck != nil {
			s.afterPendingCheck()
		}
		sealed := s.keys.Seal(password, pii.ReportPassword(req.ID))
		if err := store.InsertReportRequest(ctx, tx, &req, sealed); errors.Is(err, store.ErrUnique) {
			return errPending // a concurrent request won; PostgreSQL needs a new transaction to read it
		} else if err != nil {
			return err
		}
		opts := &river.InsertOpts{Queue: jobs.QueueReports, MaxAttempts: s.cfg.MaxAttempts}
		if _, err := s.queue.InsertTx(ctx, tx, GenerateArgs{RequestID: req.ID}, opts); err != nil {
			return err
		}
		out.ReportRequest = req
		return store.Audit(ctx, tx, p.UserID, "report.request", "report", req.ID, "ok",
			"course="+c.ID+" batch="+batchID+" kind="+req.Kind+" format="+req.Format)
	})
	if errors.Is(err, errPending) {
		existing, err := store.FindPendingReport(ctx, s.db, &req)
		if err != nil {
			return nil, err
		}
		out.ReportRequest, out.Existing = *existing, true
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MaxList bounds List.
const MaxList = 200

// List returns the caller's report requests, latest first, only those of
// courseID when it is not empty, each with a fresh download link when its
// file is ready.
func (s *Service) List(ctx context.Context, p *roster.Principal, courseID string, limit int) ([]Request, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	if limit <= 0 || limit > MaxList {
		limit = 50
	}
	reqs, err := store.ListReportRequests(ctx, s.db, p.UserID, strings.TrimSpace(courseID), limit)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	courses := map[string]*roster.Course{}
	batches := map[string]string{}
	out := make([]Request, 0, len(reqs))
	for _, r := range reqs {
		c, ok := courses[r.CourseID]
		if !ok {
			if c, err = store.GetCourse(ctx, s.db, r.CourseID); err != nil {
				return nil, err
			}
			courses[r.CourseID] = c
		}
		r = current(r, now)
		v := Request{ReportRequest: r, CourseName: c.Name}
		if r.BatchID != "" {
			name, ok := batches[r.BatchID]
			if !ok {
				b, err := store.GetBatch(ctx, s.db, r.BatchID)
				if err != nil {
					return nil, err
				}
				name, batches[r.BatchID] = b.Name, b.Name
			}
			v.BatchName = name
		}
		if r.Status == roster.ReportSuccess && p.UserID == c.CreatedBy {
			v.Download = s.link(&r, p.UserID, now)
		}
		out = append(out, v)
	}
	return out, nil
}

// current is r as its requester should see it at now. The retention sweep
// runs hourly, so a successful report whose file is past its expiry is
// shown (and refused) as EXPIRED even while the file is still on disk.
func current(r roster.ReportRequest, now time.Time) roster.ReportRequest {
	if r.Status == roster.ReportSuccess && r.ExpiresAt != nil && !r.ExpiresAt.After(now) {
		r.Status = roster.ReportExpired
	}
	return r
}

// Get returns one of the caller's requests.
func (s *Service) Get(ctx context.Context, p *roster.Principal, reportID string) (*Request, error) {
	r, c, err := s.ownReport(ctx, p, reportID, "report.get")
	if err != nil {
		return nil, err
	}
	now := s.Now()
	v := &Request{ReportRequest: current(*r, now), CourseName: c.Name}
	if r.BatchID != "" {
		if b, err := store.GetBatch(ctx, s.db, r.BatchID); err == nil {
			v.BatchName = b.Name
		}
	}
	if v.Status == roster.ReportSuccess {
		v.Download = s.link(&v.ReportRequest, p.UserID, now)
	}
	return v, nil
}

// ownReport loads a report the caller requested and whose course they
// still create, as it stands now; anything else is refused (and audited).
func (s *Service) ownReport(ctx context.Context, p *roster.Principal, reportID, action string) (*roster.ReportRequest, *roster.Course, error) {
	reportID = strings.TrimSpace(reportID)
	if p == nil {
		s.auditDenied(ctx, nil, action, "report", reportID, "not signed in")
		return nil, nil, authz.Unauthenticated()
	}
	r, err := store.GetReportRequest(ctx, s.db, reportID)
	if errors.Is(err, store.ErrNoRows) {
		s.auditDenied(ctx, p, action, "report", reportID, "no such report")
		return nil, nil, roster.Errorf(roster.ENOTFOUND, "report not found")
	} else if err != nil {
		return nil, nil, err
	}
	c, err := s.getCourse(ctx, r.CourseID)
	if err != nil {
		return nil, nil, err
	}
	if err := s.authorizeCreator(ctx, p, c, r.RequestedBy, action, "report", r.ID); err != nil {
		return nil, nil, err
	}
	return r, c, nil
}

func (s *Service) link(r *roster.ReportRequest, userID string, now time.Time) *Link {
	exp := now.Add(s.cfg.LinkTTL)
	if r.ExpiresAt != nil && r.ExpiresAt.Before(exp) {
		exp = *r.ExpiresAt
	}
	tok := s.token(r.ID, userID, exp)
	return &Link{URL: s.cfg.LinkPrefix + tok, Token: tok, ExpiresAt: exp.Truncate(time.Second)}
}

// msgExpired is what a requester reads when the report file is gone.
const msgExpired = "the report file was deleted after the retention period; request the report again"

func notReady(r *roster.ReportRequest) error {
	switch r.Status {
	case roster.ReportExpired:
		return roster.Errorf(roster.ECONFLICT, msgExpired)
	case roster.ReportFailed:
		return roster.Errorf(roster.ECONFLICT, "the report failed: %s", r.Failure)
	}
	return roster.Errorf(roster.ECONFLICT, "the report is not ready yet (status %s)", r.Status)
}

// DownloadLink issues a new download link for a successful report, e.g.
// after the previous one expired. Links never outlive the file.
func (s *Service) DownloadLink(ctx context.Context, p *roster.Principal, reportID string) (*Link, error) {
	r, _, err := s.ownReport(ctx, p, reportID, "report.link")
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if cur := current(*r, now); cur.Status != roster.ReportSuccess {
		return nil, notReady(&cur)
	}
	return s.link(r, p.UserID, now), nil
}

// Open verifies a download token for the caller and opens the file. The
// token must be signed for this caller and unexpired, the caller must
// still be the course creator, and every download, and every refusal, is
// recorded.
func (s *Service) Open(ctx context.Context, p *roster.Principal, token string) (io.ReadCloser, *File, error) {
	const action = "report.download"
	now := s.Now()
	if p == nil {
		// The report id is only trusted once the signature is checked,
		// which needs the user; record the attempt without it.
		s.auditDenied(ctx, nil, action, "report", "", "not signed in")
		return nil, nil, authz.Unauthenticated()
	}
	reportID, problem := s.verify(strings.TrimSpace(token), p.UserID, now)
	switch problem {
	case tokenMalformed:
		s.auditDenied(ctx, p, action, "report", "", "malformed link")
		return nil, nil, roster.Invalid(roster.FieldError{Field: "token", Message: "is not a valid download link"})
	case tokenBadSignature:
		// reportID comes from an unverified token; it is recorded as
		// claimed, to trace probing, never trusted.
		s.auditDenied(ctx, p, action, "report", reportID, "bad or foreign link")
		return nil, nil, roster.Errorf(roster.EFORBIDDEN, "this download link was not issued to you")
	case tokenExpired:
		s.auditDenied(ctx, p, action, "report", reportID, "expired link")
		return nil, nil, roster.Errorf(roster.EFORBIDDEN, "this download link has expired; ask for a new link")
	}
	r, _, err := s.ownReport(ctx, p, reportID, action)
	if err != nil {
		return nil, nil, err
	}
	if cur := current(*r, now); cur.Status != roster.ReportSuccess {
		return nil, nil, notReady(&cur)
	}
	f, size, modified, err := s.openFile(ctx, r.FilePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, roster.Errorf(roster.ENOTFOUND, "the report file is no longer available; request the report again")
	} else if err != nil {
		return nil, nil, err
	}
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		if err := store.InsertReportDownload(ctx, tx, r.ID, p.UserID, now); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, action, "report", r.ID, "ok", "")
	})
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, &File{ReportID: r.ID, Name: fileBase(r) + ".zip", Size: size,
		ContentType: "application/zip", Modified: modified.UTC()}, nil
}
