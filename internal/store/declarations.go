package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/roster-dev/roster"
)

// DeclarationRecord is a user_declaration row as stored: the teacher id
// only sealed. The embedded Declaration's TeacherID stays empty here.
type DeclarationRecord struct {
	roster.Declaration
	TeacherIDEnc []byte
	// Names for the reviewer's queue and the user's own view; read with
	// the row, never written.
	FirstName, LastName, Username, OrgName, TenantName string
}

const declarationColumns = `id, user_id, tenant_id, org_id, teacher_id_enc, status, reason, created_date, decided_by, decided_date`

// declarationSelect joins the names a reader shows next to the row.
const declarationSelect = `SELECT d.id, d.user_id, d.tenant_id, d.org_id, d.teacher_id_enc, d.status, d.reason,
	d.created_date, d.decided_by, d.decided_date, u.first_name, u.last_name, u.username, o.name, t.name
	FROM user_declaration d
	JOIN users u ON u.id = d.user_id
	JOIN organisation o ON o.id = d.org_id
	JOIN organisation t ON t.id = d.tenant_id`

func scanDeclaration(row Row) (*DeclarationRecord, error) {
	var r DeclarationRecord
	d := &r.Declaration
	var decidedBy sql.NullString
	if err := row.Scan(&d.ID, &d.UserID, &d.TenantID, &d.OrgID, &r.TeacherIDEnc, &d.Status, &d.Reason,
		&d.CreatedDate, &decidedBy, &d.DecidedDate, &r.FirstName, &r.LastName, &r.Username, &r.OrgName, &r.TenantName); err != nil {
		return nil, err
	}
	d.DecidedBy = decidedBy.String
	d.CreatedDate = d.CreatedDate.UTC()
	d.DecidedDate = UTCPtr(d.DecidedDate)
	return &r, nil
}

// InsertDeclaration writes a new declaration. A second pending one for the
// same user violates user_declaration_one_pending (ErrUnique).
func InsertDeclaration(ctx context.Context, q Queryer, r *DeclarationRecord) error {
	d := &r.Declaration
	_, err := q.Exec(ctx, insertSQL(`user_declaration`, declarationColumns),
		d.ID, d.UserID, d.TenantID, d.OrgID, r.TeacherIDEnc, d.Status, d.Reason, d.CreatedDate,
		NullString(d.DecidedBy), d.DecidedDate)
	return err
}

// GetDeclaration reads one declaration.
func GetDeclaration(ctx context.Context, q Queryer, id string) (*DeclarationRecord, error) {
	return scanDeclaration(q.QueryRow(ctx, declarationSelect+` WHERE d.id = $1`, id))
}

// LatestDeclaration is the user's most recent declaration, whatever its
// status: what the user is shown.
func LatestDeclaration(ctx context.Context, q Queryer, userID string) (*DeclarationRecord, error) {
	return scanDeclaration(q.QueryRow(ctx, declarationSelect+` WHERE d.user_id = $1
		ORDER BY d.created_date DESC, d.id DESC LIMIT 1`, userID))
}

// PendingDeclaration is the user's pending declaration, or ErrNoRows.
func PendingDeclaration(ctx context.Context, q Queryer, userID string) (*DeclarationRecord, error) {
	return scanDeclaration(q.QueryRow(ctx, declarationSelect+` WHERE d.user_id = $1 AND d.status = 'pending'`, userID))
}

// ListDeclarations pages through a tenant's declarations of one status,
// oldest first (ids are time-ordered), optionally of one school only.
func ListDeclarations(ctx context.Context, q Queryer, tenantID, orgID, status, after string, limit int) ([]DeclarationRecord, error) {
	return queryAll(ctx, q, scanDeclaration, declarationSelect+`
		WHERE d.tenant_id = $1 AND ($2 = '' OR d.org_id = $2) AND d.status = $3 AND d.id > $4
		ORDER BY d.id LIMIT $5`, tenantID, orgID, status, after, limit)
}

// DecideDeclaration moves a pending declaration to status. It returns
// ErrNoRows when the declaration is no longer pending, so of two
// concurrent decisions exactly one wins.
func DecideDeclaration(ctx context.Context, q Queryer, id, status, reason, by string, at time.Time) error {
	n, err := q.Exec(ctx, `UPDATE user_declaration SET status = $2, reason = $3, decided_by = $4, decided_date = $5
		WHERE id = $1 AND status = 'pending'`, id, status, reason, NullString(by), at)
	if err == nil && n == 0 {
		return ErrNoRows
	}
	return err
}

// ListSchools pages through a tenant's organisations other than the tenant
// itself, by name, optionally those whose name contains nameLike (matched
// case-insensitively). after is the last (name, id) seen.
func ListSchools(ctx context.Context, q Queryer, tenantID, nameLike, afterName, afterID string, limit int) ([]roster.Organisation, error) {
	return queryAll(ctx, q, scanOrg, `SELECT `+orgColumns+` FROM organisation
		WHERE root_org_id = $1 AND NOT is_tenant
		AND ($2 = '' OR lower(name) LIKE '%' || lower($2) || '%' ESCAPE '\')
		AND (name > $3 OR (name = $3 AND id > $4))
		ORDER BY name, id LIMIT $5`, tenantID, nameLike, afterName, afterID, limit)
}

// ListStates lists the tenants a self-signed-up user can declare for:
// every tenant but the custodian.
func ListStates(ctx context.Context, q Queryer) ([]roster.Organisation, error) {
	return queryAll(ctx, q, scanOrg, `SELECT `+orgColumns+` FROM organisation
		WHERE is_tenant AND NOT is_custodian ORDER BY name, id LIMIT 1000`)
}
