package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/roster-dev/roster"
)

const reportPolicyColumns = `root_org_id, ssu_fields, sso_fields, updated_by, updated_date`

// GetReportPolicy returns ErrNoRows when the tenant has no policy.
func GetReportPolicy(ctx context.Context, q Queryer, rootOrgID string) (*roster.ReportPolicy, error) {
	var p roster.ReportPolicy
	var ssu, sso string
	err := q.QueryRow(ctx, `SELECT `+reportPolicyColumns+` FROM report_policy WHERE root_org_id = $1`,
		rootOrgID).Scan(&p.RootOrgID, &ssu, &sso, &p.UpdatedBy, &p.UpdatedDate)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ssu), &p.SSUFields); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(sso), &p.SSOFields); err != nil {
		return nil, err
	}
	p.UpdatedDate = p.UpdatedDate.UTC()
	return &p, nil
}

// PutReportPolicy creates or replaces a tenant's policy.
func PutReportPolicy(ctx context.Context, q Queryer, p *roster.ReportPolicy) error {
	_, err := q.Exec(ctx, insertSQL(`report_policy`, reportPolicyColumns)+`
ON CONFLICT (root_org_id) DO UPDATE SET ssu_fields = excluded.ssu_fields, sso_fields = excluded.sso_fields,
    updated_by = excluded.updated_by, updated_date = excluded.updated_date`,
		p.RootOrgID, JSONText(p.SSUFields, "[]"), JSONText(p.SSOFields, "[]"), p.UpdatedBy, p.UpdatedDate)
	return err
}

const reportColumns = `id, kind, format, course_id, batch_id, requested_by, status, failure, total_rows, consented_rows,
    file_path, file_size, requested_at, started_at, finished_at, expires_at`

func scanReport(row Row) (*roster.ReportRequest, error) {
	var r roster.ReportRequest
	var batch, path sql.NullString
	err := row.Scan(&r.ID, &r.Kind, &r.Format, &r.CourseID, &batch, &r.RequestedBy, &r.Status, &r.Failure, &r.TotalRows, &r.ConsentedRows,
		&path, &r.FileSize, &r.RequestedAt, &r.StartedAt, &r.FinishedAt, &r.ExpiresAt)
	if err != nil {
		return nil, err
	}
	r.BatchID, r.FilePath = batch.String, path.String
	r.RequestedAt = r.RequestedAt.UTC()
	r.StartedAt, r.FinishedAt, r.ExpiresAt = UTCPtr(r.StartedAt), UTCPtr(r.FinishedAt), UTCPtr(r.ExpiresAt)
	return &r, nil
}

// InsertReportRequest stores a new SUBMITTED request with its sealed archive
// password. A pending request of the same kind and format for the same
// course, batch and requester is ErrUnique (constraint
// report_request_pending).
func InsertReportRequest(ctx context.Context, q Queryer, r *roster.ReportRequest, passwordEnc []byte) error {
	_, err := q.Exec(ctx, insertSQL(`report_request`, `id, kind, format, course_id, batch_id, requested_by, status, password_enc, requested_at`),
		r.ID, r.Kind, r.Format, r.CourseID, NullString(r.BatchID), r.RequestedBy, r.Status, passwordEnc, r.RequestedAt)
	return err
}

// FindPendingReport returns the SUBMITTED or PROCESSING request that r
// would duplicate: same kind, format, course, batch ("" = all batches) and
// requester; or ErrNoRows.
func FindPendingReport(ctx context.Context, q Queryer, r *roster.ReportRequest) (*roster.ReportRequest, error) {
	return scanReport(q.QueryRow(ctx, `SELECT `+reportColumns+` FROM report_request
WHERE course_id = $1 AND COALESCE(batch_id, '') = $2 AND requested_by = $3 AND kind = $4 AND format = $5
    AND status IN ($6, $7)`,
		r.CourseID, r.BatchID, r.RequestedBy, r.Kind, r.Format, roster.ReportSubmitted, roster.ReportProcessing))
}

// GetReportRequest returns ErrNoRows when the request does not exist.
func GetReportRequest(ctx context.Context, q Queryer, id string) (*roster.ReportRequest, error) {
	return scanReport(q.QueryRow(ctx, `SELECT `+reportColumns+` FROM report_request WHERE id = $1`, id))
}

// ReportPassword returns the sealed archive password, nil once wiped.
func ReportPassword(ctx context.Context, q Queryer, id string) ([]byte, error) {
	var enc []byte
	err := q.QueryRow(ctx, `SELECT password_enc FROM report_request WHERE id = $1`, id).Scan(&enc)
	return enc, err
}

// ListReportRequests returns a requester's requests, latest first, only
// those of courseID unless it is empty. The course is filtered here, before
// the limit, so older requests of one course are not crowded out by newer
// ones of another.
func ListReportRequests(ctx context.Context, q Queryer, requestedBy, courseID string, limit int) ([]roster.ReportRequest, error) {
	if courseID == "" {
		return queryAll(ctx, q, scanReport, `SELECT `+reportColumns+` FROM report_request
WHERE requested_by = $1 ORDER BY requested_at DESC, id DESC LIMIT $2`, requestedBy, limit)
	}
	return queryAll(ctx, q, scanReport, `SELECT `+reportColumns+` FROM report_request
WHERE requested_by = $1 AND course_id = $2 ORDER BY requested_at DESC, id DESC LIMIT $3`, requestedBy, courseID, limit)
}

// StartReport moves a pending request to PROCESSING and reports whether it
// was pending; a request already finished is left alone so a retried or
// duplicated job does no harm.
func StartReport(ctx context.Context, q Queryer, id string, at time.Time) (bool, error) {
	n, err := q.Exec(ctx, `UPDATE report_request SET status = $3, started_at = $2
WHERE id = $1 AND status IN ($4, $3)`, id, at, roster.ReportProcessing, roster.ReportSubmitted)
	return n > 0, err
}

// NoteReportFailure records why the latest attempt failed while River will
// retry it, so the requester sees progress rather than silence.
func NoteReportFailure(ctx context.Context, q Queryer, id, message string) error {
	_, err := q.Exec(ctx, `UPDATE report_request SET failure = $2 WHERE id = $1 AND status = $3`, id, message, roster.ReportProcessing)
	return err
}

// FinishReport records a successful report and wipes its password.
func FinishReport(ctx context.Context, q Queryer, r *roster.ReportRequest) error {
	_, err := q.Exec(ctx, `UPDATE report_request SET status = $8, failure = '', total_rows = $2, consented_rows = $3,
    file_path = $4, file_size = $5, finished_at = $6, expires_at = $7, password_enc = NULL
WHERE id = $1 AND status IN ($9, $10)`,
		r.ID, r.TotalRows, r.ConsentedRows, r.FilePath, r.FileSize, r.FinishedAt, r.ExpiresAt,
		roster.ReportSuccess, roster.ReportSubmitted, roster.ReportProcessing)
	return err
}

// FailReport records a final failure and wipes the password.
func FailReport(ctx context.Context, q Queryer, id, message string, at time.Time) error {
	_, err := q.Exec(ctx, `UPDATE report_request SET status = $4, failure = $2, finished_at = $3, password_enc = NULL
WHERE id = $1 AND status IN ($5, $6)`, id, message, at, roster.ReportFailed, roster.ReportSubmitted, roster.ReportProcessing)
	return err
}

// FailStaleReports fails requests still pending since before, wiping their
// passwords: their job was lost (deleted or discarded outside the worker),
// and a sealed password must not outlive the job that needed it.
func FailStaleReports(ctx context.Context, q Queryer, before time.Time, message string, at time.Time) (int64, error) {
	return q.Exec(ctx, `UPDATE report_request SET status = $4, failure = $2, finished_at = $3, password_enc = NULL
WHERE status IN ($5, $6) AND requested_at < $1`, before, message, at, roster.ReportFailed, roster.ReportSubmitted, roster.ReportProcessing)
}

// ExpiredReports returns successful requests whose file is past its expiry.
func ExpiredReports(ctx context.Context, q Queryer, now time.Time, limit int) ([]roster.ReportRequest, error) {
	return queryAll(ctx, q, scanReport, `SELECT `+reportColumns+` FROM report_request
WHERE status = $3 AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, now, limit, roster.ReportSuccess)
}

// ExpireReport marks a request EXPIRED once its file is gone.
func ExpireReport(ctx context.Context, q Queryer, id string) error {
	_, err := q.Exec(ctx, `UPDATE report_request SET status = $2, file_path = NULL WHERE id = $1 AND status = $3`, id, roster.ReportExpired, roster.ReportSuccess)
	return err
}

// InsertReportDownload records that a user downloaded a report.
func InsertReportDownload(ctx context.Context, q Queryer, reportID, userID string, at time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO report_download (id, report_id, user_id, at) VALUES ($1, $2, $3, $4)`,
		roster.NewID(), reportID, userID, at)
	return err
}

// ReportDownload is one recorded download.
type ReportDownload struct {
	UserID string
	At     time.Time
}

// ListReportDownloads returns a report's downloads, oldest first.
func ListReportDownloads(ctx context.Context, q Queryer, reportID string) ([]ReportDownload, error) {
	return queryAll(ctx, q, scanReportDownload, `SELECT user_id, at FROM report_download WHERE report_id = $1 ORDER BY at, id`, reportID)
}

// ReportUser is what the report reads about one enrolled user. Contact
// fields are still sealed; the report opens them only when it will print them.
type ReportUser struct {
	UserID           string
	FirstName        string
	LastName         string
	FlagsValue       int
	RootOrgID        string
	RootOrgName      string
	ProfileLocation  string // JSON [{code,type}]
	ProfileUserTypes string // JSON [{type,subType}]
	EmailEnc         []byte
	PhoneEnc         []byte
	KeyWrapped       []byte // the user's wrapped data key; nil for users without one
	Erased           bool
	ConsentStatus    string // "" when the user never answered
	ConsentAt        *time.Time
	// TenantApproved: the user holds a current membership of an
	// organisation of their own tenant that is approved and not rejected
	// (SSO and upload links are approved when made, a self-declaration
	// once the state approves it).
	TenantApproved bool
}

// ReportPage returns up to limit active enrolments of a batch after
// afterUserID (keyset pagination on the enrolment primary key), with each
// user's latest consent for the course as of snapshot. Enrolments made after
// snapshot are left out so a long report describes one moment.
// buf is reused to keep memory flat across pages.

func scanReportDownload(row Row) (*ReportDownload, error) {
	var d ReportDownload
	if err := row.Scan(&d.UserID, &d.At); err != nil {
		return nil, err
	}
	d.At = d.At.UTC()
	return &d, nil
}

func ReportPage(ctx context.Context, q Queryer, courseID, consumerID, batchID string, snapshot time.Time,
	afterUserID string, limit int, buf []ReportUser) ([]ReportUser, error) {
	// The page is cut from the enrolment primary key first, so the joins
	// and the consent lookups run for this page's rows only. The latest
	// consent is read with two scalar subqueries, each one index probe
	// (consent_latest); as a join condition the planner may hash the whole
	// ledger instead.
	rows, err := q.Query(ctx, `
SELECT e.user_id, u.first_name, u.last_name, u.flags_value, u.root_org_id, COALESCE(o.name, ''), u.profile_location,
    u.profile_user_types, u.email_enc, u.phone_enc, k.wrapped_enc, u.erased_date IS NOT NULL,
    COALESCE((SELECT c.status `+latestConsent+`), ''),
    (SELECT c.at `+latestConsent+`),
    EXISTS (SELECT 1 FROM user_organisation m JOIN organisation mo ON mo.id = m.organisation_id
        WHERE m.user_id = e.user_id AND mo.root_org_id = u.root_org_id
        AND NOT m.is_deleted AND m.is_approved AND NOT m.is_rejected AND m.association_type <> 0)
FROM (
    SELECT user_id FROM enrolment
    WHERE batch_id = $4 AND active AND enrolled_date <= $3 AND user_id > $5
    ORDER BY batch_id, user_id
    LIMIT $6) e
JOIN users u ON u.id = e.user_id
LEFT JOIN organisation o ON o.id = u.root_org_id
LEFT JOIN user_key k ON k.user_id = e.user_id
ORDER BY e.user_id`, courseID, consumerID, snapshot, batchID, afterUserID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := buf[:0]
	for rows.Next() {
		var r ReportUser
		if err := rows.Scan(&r.UserID, &r.FirstName, &r.LastName, &r.FlagsValue, &r.RootOrgID, &r.RootOrgName,
			&r.ProfileLocation, &r.ProfileUserTypes, &r.EmailEnc, &r.PhoneEnc, &r.KeyWrapped, &r.Erased, &r.ConsentStatus, &r.ConsentAt, &r.TenantApproved); err != nil {
			return nil, err
		}
		r.ConsentAt = UTCPtr(r.ConsentAt)
		out = append(out, r)
	}
	return out, rows.Err()
}

// latestConsent finishes a scalar subquery reading the newest consent entry
// of e.user_id for course $1 and consumer $2 as of $3.
const latestConsent = `FROM consent c WHERE c.user_id = e.user_id AND c.object_id = $1 AND c.consumer_id = $2 AND c.at <= $3
        ORDER BY c.at DESC, c.id DESC LIMIT 1`

// ExternalIDRow is one sealed external identity.
type ExternalIDRow struct {
	UserID   string
	Provider string
	IDType   string
	Enc      []byte
}

// ExternalIDsFor returns every external identity of a page of users,
// ordered by user, provider and id type; the report picks the one of the
// right tenant.
func ExternalIDsFor(ctx context.Context, q Queryer, userIDs []string) ([]ExternalIDRow, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	return queryAll(ctx, q, scanExternalIDRow, `SELECT user_id, provider, id_type, external_id_enc FROM usr_external_identity
WHERE user_id IN (`+Placeholders(len(userIDs))+`) ORDER BY user_id, provider, id_type`, anys(userIDs)...)
}

func scanExternalIDRow(row Row) (*ExternalIDRow, error) {
	var r ExternalIDRow
	if err := row.Scan(&r.UserID, &r.Provider, &r.IDType, &r.Enc); err != nil {
		return nil, err
	}
	return &r, nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// SchoolLocation is the location list of an organisation below a tenant
// (a school) that a user belongs to.
type SchoolLocation struct {
	UserID      string
	LocationIDs string // JSON array of location ids
	OrgName     string
	ExternalID  string // the school's code with its tenant (UDISE in India); "" when none
}

// SchoolLocationsFor returns, for a page of users, the non-tenant
// organisations they belong to (name, code, location ids), earliest joined
// first. The
// registry keeps memberships inside the user's own tenant.
func SchoolLocationsFor(ctx context.Context, q Queryer, userIDs []string) ([]SchoolLocation, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	return queryAll(ctx, q, scanSchoolLocation, `SELECT uo.user_id, o.location_ids, o.name, COALESCE(o.external_id, '') FROM user_organisation uo
JOIN organisation o ON o.id = uo.organisation_id
WHERE uo.user_id IN (`+Placeholders(len(userIDs))+`) AND NOT o.is_tenant AND NOT uo.is_deleted
ORDER BY uo.user_id, uo.org_join_date, o.id`, anys(userIDs)...)
}

// LocationByTypeCode finds a location by the (type, code) pair users'
// profileLocation refers to; ErrNoRows when there is none.

func scanSchoolLocation(row Row) (*SchoolLocation, error) {
	var r SchoolLocation
	if err := row.Scan(&r.UserID, &r.LocationIDs, &r.OrgName, &r.ExternalID); err != nil {
		return nil, err
	}
	return &r, nil
}

func LocationByTypeCode(ctx context.Context, q Queryer, typ, code string) (*roster.Location, error) {
	return scanLocation(q.QueryRow(ctx, `SELECT id, code, name, type, parent_id FROM location WHERE type = $1 AND code = $2`, typ, code))
}
