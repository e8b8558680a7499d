package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/password"
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
	orgOf := (&orgCache{ctx: ctx, q: tx, orgs: map[string]*roster.Organisation{}}).get
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

// errClash ends a set-wise create whose claims met a taken value.
var errClash = errors.New("a claimed value is taken")

// orgCache reads each organisation once per bulk call.
type orgCache struct {
	ctx  context.Context
	q    store.Queryer
	orgs map[string]*roster.Organisation
}

// get is the organisation id, or the custodian for "", as CreateUserTx
// finds it; a missing one is the same invalid-orgId error.
func (c *orgCache) get(id string) (*roster.Organisation, error) {
	if o, ok := c.orgs[id]; ok {
		return o, nil
	}
	var o *roster.Organisation
	var err error
	if id == "" {
		o, err = store.Custodian(c.ctx, c.q)
	} else {
		o, err = store.GetOrg(c.ctx, c.q, id)
	}
	if errors.Is(err, store.ErrNoRows) {
		return nil, roster.Invalid(roster.FieldError{Field: FieldOrgID, Message: "organisation not found"})
	} else if err != nil {
		return nil, err
	}
	c.orgs[id] = o
	return o, nil
}

// bulkUser is one row of a set-wise create, ready to insert.
type bulkUser struct {
	rec        *store.UserRecord
	n          normalised
	claims     []claim
	identities []store.ExternalIdentityRecord
	membership roster.Membership
	root       string
	org        string
}

// CreateUsersUntilClashTx creates, with a few multi-row statements instead
// of several per user, the users of the longest prefix of in that needs
// no row-by-row handling: each valid, allowed, unmanaged, and claiming only
// values that nobody holds and no earlier user of in claims. It returns
// the users it created, in order; when that is fewer than in, the caller
// gives in[len(users)] to CreateUserTx, whose messages name the clashing
// fields (and which generates another username when a generated one is
// taken), then calls again with the rest. The result for every row is the
// one CreateUserTx would have given it; only the statements differ.
func (s *Service) CreateUsersUntilClashTx(ctx context.Context, tx store.Tx, p *roster.Principal, in []NewUser) ([]*roster.User, error) {
	now := roster.Now()
	orgs := &orgCache{ctx: ctx, q: tx, orgs: map[string]*roster.Organisation{}}
	locations := map[string]bool{}
	var us []bulkUser
	for _, nu := range in {
		u, ok, err := s.prepareBulkUser(ctx, tx, p, nu, orgs, locations, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		us = append(us, u)
	}
	for len(us) > 0 {
		clash, err := s.insertBulkUsers(ctx, tx, p.UserID, us)
		if errors.Is(err, errClash) {
			us = us[:clash] // undone by the savepoint; retry without the clash
			continue
		} else if err != nil {
			return nil, err
		}
		break
	}
	out := make([]*roster.User, len(us))
	for i, u := range us {
		user := u.rec.User
		user.Email, user.Phone, user.RecoveryEmail, user.RecoveryPhone = u.n.email, u.n.phone, u.n.recoveryEmail, u.n.recoveryPhone
		out[i] = &user
	}
	return out, nil
}

// prepareBulkUser validates and authorizes nu as CreateUserTx does and
// builds its rows; ok is false when nu must go through CreateUserTx
// instead (any error to report, or a manager to check).
func (s *Service) prepareBulkUser(ctx context.Context, tx store.Tx, p *roster.Principal, nu NewUser, orgs *orgCache,
	locations map[string]bool, now time.Time) (u bulkUser, ok bool, err error) {
	n, errs := s.validate(&nu)
	if len(errs) > 0 || nu.User.ManagedBy != "" {
		return u, false, nil
	}
	key := fmt.Sprint(nu.User.ProfileLocation)
	valid, seen := locations[key]
	if !seen {
		lerrs, err := CheckProfileLocation(ctx, tx, nu.User.ProfileLocation)
		if err != nil {
			return u, false, err
		}
		valid = len(lerrs) == 0
		locations[key] = valid
	}
	if !valid {
		return u, false, nil
	}
	org, err := orgs.get(nu.OrgID)
	if roster.ErrorCode(err) == roster.EINVALID {
		return u, false, nil
	} else if err != nil {
		return u, false, err
	}
	if grantOnCreate(p, org, nu.Roles) != nil {
		return u, false, nil
	}
	root, err := orgs.get(org.RootOrgID)
	if err != nil {
		return u, false, err
	}
	if nu.User.PasswordHash == "" && nu.Password != "" {
		if nu.User.PasswordHash, err = s.hashPassword(ctx, password.Bulk, nu.Password); err != nil {
			return u, false, err
		}
	}
	if n.username == "" {
		n.username = usernameBase(nu.User.FirstName, nu.User.LastName) + "_" + usernameSuffix()
	}
	claims := s.claims(n)
	if repeats(claims) {
		return u, false, nil // CreateUserTx reports the second as in use
	}
	rec, uk := s.newRecord(p.UserID, nu, n, root, now)
	return bulkUser{rec: rec, n: n, claims: claims, identities: s.externalIdentities(p.UserID, uk, n, now),
		membership: s.newMembership(p.UserID, rec.ID, nu, org, now), root: root.ID, org: org.ID}, true, nil
}

// insertBulkUsers writes us in one savepoint. When a claim is not won it
// undoes everything and returns errClash with the index of the first user
// who lost one: every user before it won all their claims, so they can be
// inserted again without it.
func (s *Service) insertBulkUsers(ctx context.Context, tx store.Tx, actorID string, us []bulkUser) (clash int, err error) {
	recs := make([]*store.UserRecord, len(us))
	keys := make([]store.UserKeyRecord, len(us))
	var lookups []store.Lookup
	var identities []store.ExternalIdentityRecord
	memberships := make([]roster.Membership, len(us))
	audits := make([]store.AuditRecord, len(us))
	for i, u := range us {
		recs[i], keys[i], memberships[i] = u.rec, u.rec.Key, u.membership
		for _, c := range u.claims {
			lookups = append(lookups, store.Lookup{Type: c.typ, Value: c.value, UserID: u.rec.ID})
		}
		identities = append(identities, u.identities...)
		audits[i] = store.AuditRecord{Tenant: u.root, ActorID: actorID, Action: "user.create", ObjectType: "user",
			ObjectID: u.rec.ID, Outcome: "ok", Detail: "org=" + u.org}
	}
	err = store.Savepoint(ctx, tx, "create_users", func() error {
		if err := store.InsertUsers(ctx, tx, recs); err != nil {
			return err
		}
		if err := store.InsertUserKeys(ctx, tx, keys); err != nil {
			return err
		}
		claimed, err := store.ClaimLookups(ctx, tx, lookups)
		if err != nil {
			return err
		}
		for i, u := range us {
			for _, c := range u.claims {
				if claimed[store.LookupKey{Type: c.typ, Value: c.value}] != u.rec.ID {
					clash = i
					return errClash
				}
			}
		}
		err = store.InsertExternalIdentities(ctx, tx, identities)
		if errors.Is(err, store.ErrUnique) {
			// Not told which row: let the first go one by one.
			clash = 0
			return errClash
		} else if err != nil {
			return err
		}
		if err := store.InsertMemberships(ctx, tx, memberships); err != nil {
			return err
		}
		return store.InsertAudits(ctx, tx, audits)
	})
	return clash, err
}

// repeats reports whether a user claims one value twice.
func repeats(cs []claim) bool {
	seen := make(map[claim]bool, len(cs))
	for _, c := range cs {
		c.field = ""
		if seen[c] {
			return true
		}
		seen[c] = true
	}
	return false
}
