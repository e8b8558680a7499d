package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// CreateUsersTx creates many new users for p inside tx with multi-row
// inserts, validated, authorized, sealed and indexed exactly as
// CreateUserTx does, and returns
// their ids in order. It is for loaders of fresh data (the demo): it skips
// no clash, so a value another user already holds fails the whole call,
// which is why uploads, whose rows may clash, use CreateUserTx. Passwords,
// when given, are hashed here one by one; users without one cost no hash.
func (s *Service) CreateUsersTx(ctx context.Context, tx store.Tx, p *roster.Principal, in []NewUser) ([]string, error) {
	now := roster.Now()
	actorID := p.UserID
	// Loads repeat a few profile locations: each is checked once.
	locations := map[string][]roster.FieldError{}
	orgs := map[string]*roster.Organisation{}
	orgOf := func(id string) (*roster.Organisation, error) {
		if o, ok := orgs[id]; ok {
			return o, nil
		}
		var o *roster.Organisation
		var err error
		if id == "" {
			o, err = store.Custodian(ctx, tx)
		} else {
			o, err = store.GetOrg(ctx, tx, id)
		}
		if errors.Is(err, store.ErrNoRows) {
			return nil, roster.Invalid(roster.FieldError{Field: FieldOrgID, Message: "organisation not found"})
		} else if err != nil {
			return nil, err
		}
		orgs[id] = o
		return o, nil
	}
	ids := make([]string, len(in))
	recs := make([]*store.UserRecord, len(in))
	keys := make([]store.UserKeyRecord, len(in))
	var lookups []store.Lookup
	var identities []store.ExternalIdentityRecord
	memberships := make([]roster.Membership, len(in))
	for i, nu := range in {
		n, errs := s.validate(&nu)
		key := fmt.Sprint(nu.User.ProfileLocation)
		lerrs, seen := locations[key]
		if !seen {
			var err error
			if lerrs, err = CheckProfileLocation(ctx, tx, nu.User.ProfileLocation); err != nil {
				return nil, err
			}
			locations[key] = lerrs
		}
		if errs = append(errs, lerrs...); len(errs) > 0 {
			return nil, fmt.Errorf("user %d: %w", i+1, roster.Invalid(errs...))
		}
		org, err := orgOf(nu.OrgID)
		if err != nil {
			return nil, err
		}
		if err := grantOnCreate(p, org, nu.Roles); err != nil {
			return nil, err
		}
		root, err := orgOf(org.RootOrgID)
		if err != nil {
			return nil, err
		}
		if err := s.checkManager(ctx, tx, nu, org); err != nil {
			return nil, fmt.Errorf("user %d: %w", i+1, err)
		}
		if nu.User.PasswordHash == "" && nu.Password != "" {
			nu.User.PasswordHash = s.HashPassword(nu.Password)
		}
		if n.username == "" {
			n.username = usernameBase(nu.User.FirstName, nu.User.LastName) + "_" + usernameSuffix()
		}
		var uk *pii.UserKey
		recs[i], uk = s.newRecord(actorID, nu, n, root, now)
		ids[i], keys[i] = recs[i].ID, recs[i].Key
		for _, c := range s.claims(n) {
			lookups = append(lookups, store.Lookup{Type: c.typ, Value: c.value, UserID: ids[i]})
		}
		identities = append(identities, s.externalIdentities(actorID, uk, n, now)...)
		memberships[i] = s.newMembership(actorID, ids[i], nu, org, now)
	}
	err := store.InsertUsers(ctx, tx, recs)
	if err == nil {
		err = store.InsertUserKeys(ctx, tx, keys)
	}
	if err == nil {
		err = store.InsertLookups(ctx, tx, lookups)
	}
	if err == nil {
		err = store.InsertExternalIdentities(ctx, tx, identities)
	}
	if err == nil {
		err = store.InsertMemberships(ctx, tx, memberships)
	}
	if errors.Is(err, store.ErrUnique) {
		// Which value clashed is not said: the message would have to name
		// it, and it may be personal data.
		return nil, &roster.Error{Code: roster.ECONFLICT, Message: "a username, email, phone or external id is already in use"}
	}
	return ids, err
}
