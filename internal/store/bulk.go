package store

import (
	"context"
	"strings"

	"github.com/roster-dev/roster"
)

// maxParams bounds the parameters of one multi-row statement, inside
// SQLite's limit of 32766. (SQLite looks "$n" names up by a linear scan,
// which made a statement's cost grow with the square of its parameters; the
// SQLite engine sends such statements with "?" placeholders instead.)
const maxParams = 3000

// insertRows writes n rows into table with multi-row INSERTs: args(i) is
// the values of row i, one per name in columns. One statement per few
// hundred rows instead of one per row is what makes bulk loads fast.
func insertRows(ctx context.Context, q Queryer, table, columns string, n int, args func(i int) []any) error {
	perRow := columnCount(columns)
	per := maxParams / perRow
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		var b strings.Builder
		b.WriteString(`INSERT INTO ` + table + ` (` + columns + `) VALUES `)
		vals := make([]any, 0, (end-start)*perRow)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(" + placeholdersFrom((i-start)*perRow+1, perRow) + ")")
			vals = append(vals, args(i)...)
		}
		if _, err := q.Exec(ctx, b.String(), vals...); err != nil {
			return err
		}
	}
	return nil
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
