package store

import (
	"context"
	"strings"

	"github.com/roster-dev/roster"
)

// DirectoryQuery selects a page of an organisation's users for the
// console's directory. Empty fields do not filter.
type DirectoryQuery struct {
	// Tenant lists every user of the tenant (OrgID is its root); otherwise
	// the current members of OrgID.
	OrgID  string
	Tenant bool
	// Names are lower-cased prefixes; each must start the first or the
	// last name.
	Names []string
	// Role, School and AssocBit filter on one current membership: of
	// School when set, else of OrgID (or any organisation of the tenant).
	Role     string
	School   string
	AssocBit int
	// Status is "active", "blocked" or "deleted"; by default deleted users
	// are left out.
	Status string
	// PendingDeclaration lists, instead of the members, the users with a
	// pending self-declaration for OrgID's tenant (or for the school
	// OrgID): they are custodian users until approved, so a tenant's
	// list would not hold them otherwise.
	PendingDeclaration bool
	After              string // the id of the last user of the previous page
	Limit              int
}

// Directory status filters.
const (
	DirectoryActive  = "active"
	DirectoryBlocked = "blocked"
	DirectoryDeleted = "deleted"
)

// ListDirectory returns up to q.Limit users matching q, ordered by id
// (time-ordered UUIDv7, so the newest users come last).
func ListDirectory(ctx context.Context, db Queryer, q DirectoryQuery) ([]UserRecord, error) {
	w := where{}
	switch {
	case q.PendingDeclaration && q.Tenant:
		w.add(`u.id IN (SELECT d.user_id FROM user_declaration d WHERE d.tenant_id = ? AND d.status = 'pending')`, q.OrgID)
	case q.PendingDeclaration:
		w.add(`u.id IN (SELECT d.user_id FROM user_declaration d WHERE d.org_id = ? AND d.status = 'pending')`, q.OrgID)
	case q.Tenant:
		w.add("u.root_org_id = ?", q.OrgID)
	default:
		w.add(`EXISTS (SELECT 1 FROM user_organisation m0 WHERE m0.user_id = u.id
			AND m0.organisation_id = ? AND NOT m0.is_deleted)`, q.OrgID)
	}
	for _, n := range q.Names {
		p := likePrefix(n)
		// The *_key columns are the lower-cased names (migration 00015),
		// indexed for exactly this prefix LIKE.
		w.add(`(u.first_name_key LIKE ? ESCAPE '\' OR u.last_name_key LIKE ? ESCAPE '\')`, p, p)
	}
	switch q.Status {
	case DirectoryActive:
		w.add("u.status = 1 AND u.deleted_date IS NULL")
	case DirectoryBlocked:
		w.add("u.status <> 1 AND u.deleted_date IS NULL")
	case DirectoryDeleted:
		w.add("u.deleted_date IS NOT NULL")
	default:
		w.add("u.deleted_date IS NULL")
	}
	if q.Role != "" || q.School != "" || q.AssocBit != 0 {
		m := where{args: w.args}
		m.add("m.user_id = u.id AND NOT m.is_deleted")
		switch {
		case q.School != "":
			m.add("m.organisation_id = ?", q.School)
		case !q.Tenant:
			m.add("m.organisation_id = ?", q.OrgID)
		default:
			m.add("m.organisation_id IN (SELECT o.id FROM organisation o WHERE o.root_org_id = ?)", q.OrgID)
		}
		// Roles are stored as a JSON array of names the rule book knows;
		// the quotes keep one name from matching inside another.
		m.addIf(q.Role != "", "m.roles LIKE ?", `%"`+q.Role+`"%`)
		m.addIf(q.AssocBit != 0, "(m.association_type & ?) <> 0", q.AssocBit)
		w.args = m.args
		w.conds = append(w.conds, "EXISTS (SELECT 1 FROM user_organisation m WHERE "+m.sql()+")")
	}
	w.addIf(q.After != "", "u.id > ?", q.After)
	return queryAll(ctx, db, scanUser, `SELECT `+prefixed("u.", userSelect)+` FROM users u
		WHERE `+w.sql()+` ORDER BY u.id LIMIT `+w.arg(q.Limit), w.args...)
}

// likePrefix is the LIKE pattern of the names starting with s, with LIKE's
// own wildcards in s taken literally.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

// CurrentMemberships lists the memberships not left of every user in
// userIDs (one page of a directory), in one query rather than one a user.
func CurrentMemberships(ctx context.Context, q Queryer, userIDs []string) ([]roster.Membership, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(userIDs))
	for i, id := range userIDs {
		args[i] = id
	}
	return queryAll(ctx, q, scanMembership, `SELECT `+membershipColumns+` FROM user_organisation
		WHERE NOT is_deleted AND user_id IN (`+Placeholders(len(args))+`) ORDER BY user_id, org_join_date, organisation_id`, args...)
}
