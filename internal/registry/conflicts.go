package registry

import (
	"context"
	"errors"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
)

// Emails, phones, usernames and external ids are unique across tenants (a
// teacher who moves state stays one person), so "already in use" can name
// a value that another tenant's user holds, and an admin could use
// creates, updates or a dry-run upload to test who is registered
// elsewhere. Each such answer is therefore audited (AuditConflict, with
// the field and the holder's scope, never the value), counted in the
// roster_user_conflicts metric, and budgeted: an admin who met
// ConflictLimit values held in other tenants within ConflictWindow gets
// ETOOMANY for every create or change of a user until the window has
// moved on. The refusal does not depend on the values sent, so it reveals
// nothing either. A tenant as a whole has TenantConflictLimit in the same
// window, so a tenant admin cannot multiply the budget by creating more
// admins. Same-tenant conflicts are audited but not budgeted: the
// admin may see those users anyway.
const (
	AuditConflict       = "user.conflict"
	ConflictSameTenant  = "same_tenant"
	ConflictOtherTenant = "other_tenant"

	DefaultConflictLimit       = 20
	DefaultTenantConflictLimit = 100
	DefaultConflictWindow      = 24 * time.Hour
)

// ConflictBudget returns ETOOMANY when p has used up their budget of
// conflicts with other tenants' users. Operators have none.
func (s *Service) ConflictBudget(ctx context.Context, q store.Queryer, p *roster.Principal) error {
	if p == nil || p.System || s.ConflictLimit <= 0 {
		return nil
	}
	since := roster.Now().Add(-s.ConflictWindow)
	n, err := store.CountAudit(ctx, q, p.UserID, AuditConflict, ConflictOtherTenant, since)
	if err != nil {
		return err
	}
	over := n >= s.ConflictLimit
	if !over && s.TenantConflictLimit > 0 && p.RootOrgID != "" {
		t, err := store.CountTenantAudit(ctx, q, p.RootOrgID, AuditConflict, ConflictOtherTenant, since)
		if err != nil {
			return err
		}
		over = t >= s.TenantConflictLimit
	}
	if over {
		return roster.Errorf(roster.ETOOMANY, "too many of the values you entered recently belong to users of other tenants; "+
			"try again later, or ask a platform operator to look the users up")
	}
	return nil
}

// noteConflict audits that p was told field is in use by holderID, and
// whether holderID is in tenant.
func (s *Service) noteConflict(ctx context.Context, q store.Queryer, p *roster.Principal, tenant, field, holderID string) error {
	if p == nil || p.System {
		return nil
	}
	holder, err := store.GetUser(ctx, q, holderID)
	if err != nil {
		return err
	}
	scope := ConflictSameTenant
	if holder.RootOrgID != tenant {
		scope = ConflictOtherTenant
	}
	// The row belongs to the tenant where the clash was met: another
	// tenant's admins must not learn who probed their users.
	return store.AuditTenant(ctx, q, tenant, p.UserID, AuditConflict, "user", holderID, scope, "field="+field)
}

// auditConflicts records the clashes of a refused create or change after
// its transaction rolled back: in's unique values that users other than
// self hold, as seen from tenant.
func (s *Service) auditConflicts(ctx context.Context, p *roster.Principal, tenant, self string, in NewUser) error {
	n, _ := s.validate(&in)
	for _, c := range s.claims(n) {
		holder, err := store.LookupUserID(ctx, s.db, c.typ, c.value)
		if errors.Is(err, store.ErrNoRows) || holder == self {
			continue
		} else if err != nil {
			return err
		}
		if err := s.noteConflict(context.WithoutCancel(ctx), s.db, p, tenant, c.field, holder); err != nil {
			return err
		}
	}
	return nil
}

// tenantOf is the tenant a new user of orgID joins.
func (s *Service) tenantOf(ctx context.Context, q store.Queryer, orgID string) (string, error) {
	org, err := store.GetOrg(ctx, q, orgID)
	if orgID == "" {
		org, err = store.Custodian(ctx, q)
	}
	if errors.Is(err, store.ErrNoRows) {
		return "", nil // reported as a bad orgId elsewhere
	} else if err != nil {
		return "", err
	}
	return org.RootOrgID, nil
}

// inUse reports whether err is a uniqueness clash naming fields (not, say,
// a deleted user's ECONFLICT).
func inUse(err error) bool {
	var re *roster.Error
	return errors.As(err, &re) && re.Code == roster.ECONFLICT && len(re.Fields) > 0
}
