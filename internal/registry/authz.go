package registry

import (
	"context"
	"errors"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/store"
)

// userFor loads the user id for action a by p: the one preamble of every
// change to an existing user. Another tenant's user is "not found"; a
// deleted user cannot be changed.
func (s *Service) userFor(ctx context.Context, q store.Queryer, p *roster.Principal, id string, a authz.Action) (*store.UserRecord, error) {
	rec, err := store.GetUser(ctx, q, id)
	if err != nil {
		return nil, storeErr(err, "user")
	}
	u, err := authz.Subject(ctx, q, rec)
	if err != nil {
		return nil, err
	}
	if err := authz.Decide(p, a, authz.Resource{User: u}); err != nil {
		return nil, err
	}
	if rec.DeletedDate != nil {
		return nil, roster.Errorf(roster.ECONFLICT, "the user has been deleted")
	}
	return rec, nil
}

// MayGrant tells a dry run whether CreateUserTx would let p give roles in
// orgID, as the field error the real create would report.
func (s *Service) MayGrant(ctx context.Context, p *roster.Principal, orgID string, roles []string) *roster.FieldError {
	org, err := store.GetOrg(ctx, s.db, orgID)
	if err != nil {
		return nil // the create itself reports the organisation
	}
	var re *roster.Error
	if errors.As(grantOnCreate(p, org, roles), &re) {
		if len(re.Fields) > 0 {
			return &re.Fields[0]
		}
		return &roster.FieldError{Field: "row", Message: re.Message}
	}
	return nil
}
