package store

import (
	"context"
	"time"
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
