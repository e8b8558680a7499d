package store

import (
	"context"
	"strings"

	"github.com/roster-dev/roster"
)

// maxParams bounds the parameters of one multi-row statement, inside
// SQLite's limit of 32766 (PostgreSQL's is 65535): 200 users rows of 39
// columns, so a 1000-row upload chunk is a handful of statements. (SQLite looks "$n" names up by a linear scan,
// which made a statement's cost grow with the square of its parameters; the
// SQLite engine sends such statements with "?" placeholders instead.)
const maxParams = 8000

// insertRows writes n rows into table with multi-row INSERTs: args(i) is
// the values of row i, one per name in columns. One statement per few
// hundred rows instead of one per row is what makes bulk loads fast.
func insertRows(ctx context.Context, q Queryer, table, columns string, n int, args func(i int) []any) error {
	return eachBatch(columnCount(columns), n, `INSERT INTO `+table+` (`+columns+`) VALUES `, args,
		func(sql string, vals []any) error {
			_, err := q.Exec(ctx, sql, vals...)
			return err
		})
}

// eachBatch splits n rows of perRow values into statements of at most
// maxParams parameters, each head followed by the rows' "($a, $b, …)"
// tuples, and runs run on each.
func eachBatch(perRow, n int, head string, args func(i int) []any, run func(sql string, vals []any) error) error {
	per := maxParams / perRow
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		var b strings.Builder
		b.WriteString(head)
		vals := make([]any, 0, (end-start)*perRow)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(" + placeholdersFrom((i-start)*perRow+1, perRow) + ")")
			vals = append(vals, args(i)...)
		}
		if err := run(b.String(), vals); err != nil {
			return err
		}
	}
	return nil
}

// LookupKey is a claimed value: a lookup type and its blind index.
type LookupKey struct{ Type, Value string }

// ClaimLookups claims every value that is still free, in multi-row
// statements, and returns the ones it claimed, each with the user who got
// it. A value another user holds,
// or one that an earlier entry of ls claimed, is left out: ON CONFLICT DO
// NOTHING keeps the transaction usable, so the caller can tell which rows
// clash from one statement instead of one per value.
func ClaimLookups(ctx context.Context, q Queryer, ls []Lookup) (map[LookupKey]string, error) {
	claimed := make(map[LookupKey]string, len(ls))
	err := eachBatch(columnCount(lookupColumns), len(ls), `INSERT INTO user_lookup (`+lookupColumns+`) VALUES `,
		func(i int) []any { return []any{ls[i].Type, ls[i].Value, ls[i].UserID} },
		func(sql string, vals []any) error {
			rows, err := q.Query(ctx, sql+` ON CONFLICT (type, value) DO NOTHING RETURNING type, value, user_id`, vals...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var k LookupKey
				var id string
				if err := rows.Scan(&k.Type, &k.Value, &id); err != nil {
					return err
				}
				claimed[k] = id
			}
			return rows.Err()
		})
	return claimed, err
}

// LookupHolders returns the users holding any of keys, in one statement
// per few hundred values: a dry run's check of a whole file.
func LookupHolders(ctx context.Context, q Queryer, keys []LookupKey) (map[LookupKey]string, error) {
	holders := map[LookupKey]string{}
	err := eachBatch(2, len(keys), `SELECT type, value, user_id FROM user_lookup WHERE (type, value) IN (VALUES `,
		func(i int) []any { return []any{keys[i].Type, keys[i].Value} },
		func(sql string, vals []any) error {
			rows, err := q.Query(ctx, sql+`)`, vals...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var k LookupKey
				var id string
				if err := rows.Scan(&k.Type, &k.Value, &id); err != nil {
					return err
				}
				holders[k] = id
			}
			return rows.Err()
		})
	return holders, err
}

// AuditRecord is one audit_log row of a bulk write, its tenant given.
type AuditRecord struct {
	Tenant, ActorID, Action, ObjectType, ObjectID, Outcome, Detail string
}

// InsertAudits appends audit rows in multi-row statements. detail must not
// contain PII, as for Audit.
func InsertAudits(ctx context.Context, q Queryer, as []AuditRecord) error {
	now := roster.Now()
	return insertRows(ctx, q, `audit_log`, `id, at, actor_id, action, object_type, object_id, outcome, detail, root_org_id`, len(as),
		func(i int) []any {
			a := as[i]
			return []any{roster.NewID(), now, a.ActorID, a.Action, a.ObjectType, a.ObjectID, a.Outcome, a.Detail, a.Tenant}
		})
}

// Lookup is one user_lookup row: a blind index of a unique value.
type Lookup struct{ Type, Value, UserID string }

// The bulk writers below are for fresh data (the demo loader): unlike their
// one-row counterparts they do not skip clashes, so any duplicate fails the
// statement with ErrUnique.

// InsertUsers inserts new users rows.
func InsertUsers(ctx context.Context, q Queryer, rs []*UserRecord) error {
	return insertRows(ctx, q, `users`, userColumns, len(rs), func(i int) []any { return rs[i].args() })
}

// InsertLookups claims every value.
func InsertLookups(ctx context.Context, q Queryer, ls []Lookup) error {
	return insertRows(ctx, q, `user_lookup`, lookupColumns, len(ls), func(i int) []any {
		return []any{ls[i].Type, ls[i].Value, ls[i].UserID}
	})
}

// InsertExternalIdentities inserts identities.
func InsertExternalIdentities(ctx context.Context, q Queryer, rs []ExternalIdentityRecord) error {
	return insertRows(ctx, q, `usr_external_identity`, externalIdentityColumns, len(rs), func(i int) []any {
		r := rs[i]
		return []any{r.Provider, r.IDType, r.Hash, r.Enc, r.UserID, NullString(r.CreatedBy), r.CreatedOn}
	})
}

// InsertMemberships inserts memberships of users who have none yet.
func InsertMemberships(ctx context.Context, q Queryer, ms []roster.Membership) error {
	return insertRows(ctx, q, `user_organisation`, membershipColumns, len(ms), func(i int) []any {
		return membershipArgs(ms[i])
	})
}

// InsertEnrolments inserts active enrolments.
func InsertEnrolments(ctx context.Context, q Queryer, es []roster.Enrolment) error {
	return insertRows(ctx, q, `enrolment`, enrolmentColumns, len(es), func(i int) []any {
		e := es[i]
		return []any{e.UserID, e.CourseID, e.BatchID, e.EnrolledDate, true}
	})
}

// InsertConsents appends entries to the consent ledger.
func InsertConsents(ctx context.Context, q Queryer, cs []roster.Consent) error {
	return insertRows(ctx, q, `consent`, consentColumns, len(cs), func(i int) []any {
		return consentArgs(&cs[i])
	})
}
