package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster"
)

// CountAudit counts actorID's audit rows of action with outcome since.
func CountAudit(ctx context.Context, q Queryer, actorID, action, outcome string, since time.Time) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log
		WHERE action = $1 AND actor_id = $2 AND at >= $3 AND outcome = $4`, action, actorID, since, outcome).Scan(&n)
	return n, err
}

// CountTenantAudit counts the audit rows of action with outcome since, by
// every actor whose own tenant is rootOrgID.
func CountTenantAudit(ctx context.Context, q Queryer, rootOrgID, action, outcome string, since time.Time) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log a JOIN users u ON u.id = a.actor_id
		WHERE a.action = $1 AND u.root_org_id = $2 AND a.at >= $3 AND a.outcome = $4`, action, rootOrgID, since, outcome).Scan(&n)
	return n, err
}

// OutcomeCount is how many audit rows of one action had an outcome.
type OutcomeCount struct {
	Outcome string
	N       int64
}

func scanOutcomeCount(r Row) (*OutcomeCount, error) {
	var c OutcomeCount
	return &c, r.Scan(&c.Outcome, &c.N)
}

// AuditOutcomes counts every audit row of action by outcome.
func AuditOutcomes(ctx context.Context, q Queryer, action string) ([]OutcomeCount, error) {
	return queryAll(ctx, q, scanOutcomeCount, `SELECT outcome, COUNT(*) FROM audit_log WHERE action = $1 GROUP BY outcome`, action)
}

// auditTenantOf is the tenant an audit row belongs to when the caller does
// not say: the tenant of the object acted on, else of the actor, else empty
// (the platform's own rows, which no tenant admin reads). Migration 00015
// backfilled older rows with the same rule.
const auditTenantOf = `COALESCE(NULLIF($9, ''), CASE $5
	WHEN 'user' THEN (SELECT u.root_org_id FROM users u WHERE u.id = $6)
	WHEN 'organisation' THEN (SELECT o.root_org_id FROM organisation o WHERE o.id = $6)
	WHEN 'upload' THEN (SELECT up.root_org_id FROM upload up WHERE up.id = $6)
	WHEN 'course' THEN (SELECT c.root_org_id FROM course c WHERE c.id = $6)
	WHEN 'batch' THEN (SELECT c.root_org_id FROM course_batch b JOIN course c ON c.id = b.course_id WHERE b.id = $6)
	WHEN 'report' THEN (SELECT c.root_org_id FROM report_request r JOIN course c ON c.id = r.course_id WHERE r.id = $6)
END, (SELECT u.root_org_id FROM users u WHERE u.id = $3), '')`

// AuditTenant appends an audit_log entry that belongs to tenant (derived
// as Audit does when tenant is ""). detail must not contain PII: field
// names and ids, never values.
func AuditTenant(ctx context.Context, q Queryer, tenant, actorID, action, objectType, objectID, outcome, detail string) error {
	_, err := q.Exec(ctx, `INSERT INTO audit_log (id, at, actor_id, action, object_type, object_id, outcome, detail, root_org_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, `+auditTenantOf+`)`,
		roster.NewID(), roster.Now(), actorID, action, objectType, objectID, outcome, detail, tenant)
	return err
}

// AuditEntry is one audit_log row as the log's readers see it.
type AuditEntry struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	ActorID    string    `json:"actorId"`
	Action     string    `json:"action"`
	ObjectType string    `json:"objectType"`
	ObjectID   string    `json:"objectId"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail" doc:"Field names and ids only, never values"`
}

// AuditQuery selects a page of one tenant's log, newest first. Empty
// fields do not filter; Before is the id of the last row already seen.
type AuditQuery struct {
	Tenant     string
	ActorID    string
	Action     string
	ObjectType string
	ObjectID   string
	From, To   *time.Time // From inclusive, To exclusive
	Before     string
	Limit      int
}

func scanAuditEntry(r Row) (*AuditEntry, error) {
	var e AuditEntry
	if err := r.Scan(&e.ID, &e.At, &e.ActorID, &e.Action, &e.ObjectType, &e.ObjectID, &e.Outcome, &e.Detail); err != nil {
		return nil, err
	}
	e.At = e.At.UTC()
	return &e, nil
}

// ListAudit returns up to q.Limit rows of q.Tenant's log matching q.
func ListAudit(ctx context.Context, db Queryer, q AuditQuery) ([]AuditEntry, error) {
	w := where{}
	w.add("root_org_id = ?", q.Tenant)
	w.addIf(q.ActorID != "", "actor_id = ?", q.ActorID)
	w.addIf(q.Action != "", "action = ?", q.Action)
	w.addIf(q.ObjectType != "", "object_type = ?", q.ObjectType)
	w.addIf(q.ObjectID != "", "object_id = ?", q.ObjectID)
	if q.From != nil {
		w.add("at >= ?", *q.From)
	}
	if q.To != nil {
		w.add("at < ?", *q.To)
	}
	w.addIf(q.Before != "", "id < ?", q.Before)
	return queryAll(ctx, db, scanAuditEntry, `SELECT id, at, actor_id, action, object_type, object_id, outcome, detail
		FROM audit_log WHERE `+w.sql()+` ORDER BY id DESC LIMIT `+w.arg(q.Limit), w.args...)
}

// where builds a WHERE clause from optional conditions, numbering the
// placeholders (each ? in a condition becomes the next $n).
type where struct {
	conds []string
	args  []any
}

func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	for _, part := range strings.SplitAfter(cond, "?") {
		if strings.HasSuffix(part, "?") {
			b.WriteString(strings.TrimSuffix(part, "?"))
			b.WriteString(w.arg(args[0]))
			args = args[1:]
			continue
		}
		b.WriteString(part)
	}
	w.conds = append(w.conds, b.String())
}

func (w *where) addIf(ok bool, cond string, args ...any) {
	if ok {
		w.add(cond, args...)
	}
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}
