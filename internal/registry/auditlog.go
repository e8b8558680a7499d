package registry

import (
	"context"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/store"
)

// AuditFilter selects a page of a tenant's audit log. Empty fields do not
// filter; Tenant defaults to the caller's own.
type AuditFilter struct {
	Tenant                              string
	Actor, Action, ObjectType, ObjectID string
	From, To                            *time.Time
	Cursor                              string
	Limit                               int
}

// AuditPage is one page of the log, newest first; Next is absent on the
// last page.
type AuditPage struct {
	Entries []store.AuditEntry `json:"entries"`
	Next    string             `json:"next,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
}

const maxActionChars = 64

// AuditLog returns a page of a tenant's audit log to one of its tenant
// admins. School admins are refused (the log spans the whole tenant);
// another tenant's log is not found.
func (s *Service) AuditLog(ctx context.Context, p *roster.Principal, f AuditFilter) (*AuditPage, error) {
	if p == nil {
		return nil, authz.Unauthenticated()
	}
	if f.Tenant == "" {
		f.Tenant = p.RootOrgID
	}
	q := store.AuditQuery{Tenant: f.Tenant, ActorID: f.Actor, Action: f.Action, ObjectType: f.ObjectType,
		ObjectID: f.ObjectID, From: f.From, To: f.To, Limit: f.Limit}
	var errs []roster.FieldError
	for _, x := range []struct{ field, v string }{{FieldTenant, f.Tenant}, {FieldActor, f.Actor}, {FieldObjectID, f.ObjectID}} {
		if len(x.v) > maxFilterIDChars || !isIDChars(x.v) {
			errs = append(errs, roster.FieldError{Field: x.field, Message: MsgIDFilter})
		}
	}
	for _, x := range []struct{ field, v string }{{FieldAction, f.Action}, {FieldObjectType, f.ObjectType}} {
		if len(x.v) > maxActionChars || hasControl(x.v, false) {
			errs = append(errs, roster.FieldError{Field: x.field, Message: MsgIDFilter})
		}
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		errs = append(errs, roster.FieldError{Field: FieldFrom, Message: MsgTimeRange})
	}
	before, fe := decodeCursor(cursorAudit, f.Cursor)
	if fe != nil {
		errs = append(errs, *fe)
	}
	q.Before = before
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	} else if q.Limit < 1 || q.Limit > MaxPageSize {
		errs = append(errs, roster.FieldError{Field: FieldLimit, Message: MsgLimit})
	}
	if len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	if err := authz.Decide(p, authz.ReadAudit, authz.Resource{Tenant: f.Tenant}); err != nil {
		return nil, err
	}
	limit := q.Limit
	q.Limit++
	rows, err := store.ListAudit(ctx, s.db, q)
	if err != nil {
		return nil, err
	}
	page := &AuditPage{Entries: rows}
	if len(rows) > limit {
		page.Entries = rows[:limit]
		page.Next = encodeCursor(cursorAudit, rows[limit-1].ID)
	}
	if page.Entries == nil {
		page.Entries = []store.AuditEntry{}
	}
	for i := range page.Entries {
		if e := &page.Entries[i]; e.Action == AuditConflict && e.Outcome == ConflictOtherTenant {
			// The holder is another tenant's user: their id would let
			// this tenant link its probes to one person.
			e.ObjectID = ""
		}
	}
	return page, nil
}
