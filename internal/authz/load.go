package authz

import (
	"context"

	"github.com/roster-dev/roster/internal/store"
)

// Subject is a stored user as the policy sees them: every service that
// decides about a user loads them this one way.
func Subject(ctx context.Context, q store.Queryer, rec *store.UserRecord) (*User, error) {
	ms, err := store.Memberships(ctx, q, rec.ID)
	if err != nil {
		return nil, err
	}
	return &User{ID: rec.ID, RootOrgID: rec.RootOrgID, Memberships: ms}, nil
}
