package registry

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// Field names used in errors; they match the API's JSON names and the CSV
// column names of seed 002, so a user is pointed at the same word everywhere.
const (
	FieldFirstName  = "firstName"
	FieldLastName   = "lastName"
	FieldEmail      = "email"
	FieldPhone      = "phone"
	FieldUserName   = "userName"
	FieldPassword   = "password"
	FieldExternalID = "externalId"
	FieldOrgID      = "orgId"
	FieldRoles      = "roles"
	FieldDOB        = "DOB"

	FieldRecoveryEmail   = "recoveryEmail"
	FieldRecoveryPhone   = "recoveryPhone"
	FieldAssociationType = "associationType"
	FieldManagedBy       = "managedBy"
)

// MaxNameLength bounds names so a pasted paragraph is rejected rather than
// truncated.
const MaxNameLength = 100

// normalised is a NewUser after validation: canonical contact values and
// their blind indexes.
type normalised struct {
	email, phone, username       string
	recoveryEmail, recoveryPhone string
	extIDs                       []roster.ExternalIdentity
}

// validate applies the rule book to a new user and derives the values its
// uniqueness claims hash.
func (s *Service) validate(in *NewUser) (normalised, []roster.FieldError) {
	errs := CheckUser(in, roster.Now())
	u := &in.User
	n := normalised{email: u.Email, phone: u.Phone, username: u.Username,
		recoveryEmail: u.RecoveryEmail, recoveryPhone: u.RecoveryPhone}
	for _, x := range in.ExternalIDs {
		x.Provider, x.IDType = strings.ToLower(x.Provider), strings.ToLower(x.IDType)
		n.extIDs = append(n.extIDs, x)
	}
	return n, errs
}

// CheckName allows letters of any script (Indic names included), marks,
// spaces, dots, apostrophes and hyphens, and insists on one letter so that
// "." alone is not a name.
func CheckName(s string) string {
	if n := utf8.RuneCountInString(s); n > MaxNameLength {
		return MsgTooLong(MaxNameLength)
	}
	letter := false
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) && !strings.ContainsRune(" .'-", r) {
			return MsgNameChars
		}
		letter = letter || unicode.IsLetter(r)
	}
	if !letter {
		return MsgNameLetter
	}
	return ""
}

// CheckUsername validates a chosen username.
func CheckUsername(s string) string {
	s = strings.TrimSpace(s)
	if len(s) < 3 || len(s) > 64 {
		return MsgUsernameLength
	}
	for _, r := range s {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@", r))) {
			return MsgUsernameChars
		}
	}
	return ""
}

// usernameBase is the seed's generated username stem: first and last name
// lower-cased, letters and digits only.
func usernameBase(first, last string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(first + last) {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		}
	}
	base := b.String()
	if len(base) > 40 {
		base = base[:40]
	}
	if base == "" {
		base = "user" // names in non-Latin scripts only
	}
	return base
}

const usernameAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// usernameSuffix makes the random part of a generated username; tests
// replace it to force collisions.
var usernameSuffix = func() string { return roster.RandomString(4, usernameAlphabet) }

func (s *Service) lookupValue(typ, normalised string) string {
	return s.keys.BlindIndex(typ, normalised)
}

// Conflicts reports which unique fields of in already belong to another
// user, with the same messages CreateUserTx returns, and audits each
// answer given to p (conflicts.go).
func (s *Service) Conflicts(ctx context.Context, q store.Queryer, p *roster.Principal, in NewUser) ([]roster.FieldError, error) {
	c, err := s.NewConflictCheck(ctx, q, p, in.OrgID, []NewUser{in})
	if err != nil {
		return nil, err
	}
	return c.Conflicts(ctx, q, in)
}

// ConflictCheck answers Conflicts for many new users of one organisation
// from a single lookup of all their values (a dry run's whole file).
type ConflictCheck struct {
	s       *Service
	p       *roster.Principal
	tenant  string
	holders map[store.LookupKey]string
}

// NewConflictCheck looks up, in one batched query, who holds the unique
// values of ins, all new users of orgID.
func (s *Service) NewConflictCheck(ctx context.Context, q store.Queryer, p *roster.Principal, orgID string, ins []NewUser) (*ConflictCheck, error) {
	tenant, err := s.tenantOf(ctx, q, orgID)
	if err != nil {
		return nil, err
	}
	var keys []store.LookupKey
	for _, in := range ins {
		n, _ := s.validate(&in)
		for _, c := range s.claims(n) {
			keys = append(keys, store.LookupKey{Type: c.typ, Value: c.value})
		}
	}
	holders, err := store.LookupHolders(ctx, q, keys)
	if err != nil {
		return nil, err
	}
	return &ConflictCheck{s: s, p: p, tenant: tenant, holders: holders}, nil
}

// Conflicts is Registry.Conflicts for in, one of the users the check was
// made for; each answer is audited as there.
func (c *ConflictCheck) Conflicts(ctx context.Context, q store.Queryer, in NewUser) ([]roster.FieldError, error) {
	n, _ := c.s.validate(&in)
	var out []roster.FieldError
	for _, cl := range c.s.claims(n) {
		holder, ok := c.holders[store.LookupKey{Type: cl.typ, Value: cl.value}]
		if !ok {
			continue
		}
		out = append(out, roster.FieldError{Field: cl.field, Message: cl.field + " already in use"})
		if err := c.s.noteConflict(ctx, q, c.p, c.tenant, cl.field, holder); err != nil {
			return nil, err
		}
	}
	return dedupeFields(out), nil
}

type claim struct{ typ, value, field string }

func (s *Service) claims(n normalised) []claim {
	var out []claim
	if n.username != "" {
		out = append(out, claim{roster.LookupUsername, s.lookupValue(roster.LookupUsername, pii.NormaliseUsername(n.username)), FieldUserName})
	}
	if n.email != "" {
		out = append(out, claim{roster.LookupEmail, s.lookupValue(roster.LookupEmail, n.email), FieldEmail})
	}
	if n.phone != "" {
		out = append(out, claim{roster.LookupPhone, s.lookupValue(roster.LookupPhone, n.phone), FieldPhone})
	}
	for _, x := range n.extIDs {
		out = append(out, claim{roster.LookupExternalID, s.extIDHash(x.Provider, x.IDType, x.ExternalID), FieldExternalID})
	}
	return out
}

func (s *Service) extIDHash(provider, idType, id string) string {
	return s.lookupValue(roster.LookupExternalID, pii.NormaliseExternalID(provider, idType, id))
}

func dedupeFields(in []roster.FieldError) []roster.FieldError {
	seen := map[string]bool{}
	out := in[:0]
	for _, f := range in {
		if !seen[f.Field] {
			seen[f.Field] = true
			out = append(out, f)
		}
	}
	return out
}

// CreateUser creates a user after checking that p may give them their
// roles in the target organisation.
func (s *Service) CreateUser(ctx context.Context, p *roster.Principal, in NewUser) (*UserView, error) {
	org, err := s.orgOrCustodian(ctx, in.OrgID)
	if err != nil {
		return nil, err
	}
	// Asked again by CreateUserTx; asking first spares the password hash.
	if err := grantOnCreate(p, org, in.Roles); err != nil {
		return nil, err
	}
	if err := s.ConflictBudget(ctx, s.db, p); err != nil {
		return nil, err
	}
	if in.Password != "" && in.User.PasswordHash == "" {
		// Hash outside the transaction: argon2 takes tens of milliseconds
		// and must not hold SQLite's write lock meanwhile.
		if _, errs := s.validate(&in); len(errs) == 0 {
			if in.User.PasswordHash, err = s.hashPassword(ctx, password.Interactive, in.Password); err != nil {
				return nil, err
			}
		}
	}
	var created *roster.User
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		created, err = s.CreateUserTx(ctx, tx, p, in)
		return err
	})
	if inUse(err) {
		if aerr := s.auditConflicts(ctx, p, org.RootOrgID, "", in); aerr != nil {
			return nil, aerr
		}
	}
	if err != nil {
		return nil, err
	}
	return s.GetUser(ctx, p, created.ID)
}

func (s *Service) orgOrCustodian(ctx context.Context, orgID string) (*roster.Organisation, error) {
	if orgID == "" {
		return s.Bootstrap(ctx)
	}
	if hasControl(orgID, false) {
		return nil, roster.Invalid(roster.FieldError{Field: FieldOrgID, Message: MsgControl})
	}
	org, err := store.GetOrg(ctx, s.db, orgID)
	if errors.Is(err, store.ErrNoRows) {
		return nil, roster.Invalid(roster.FieldError{Field: FieldOrgID, Message: "organisation not found"})
	}
	return org, err
}

// errRetryUsername signals that a generated username lost a race.
var errRetryUsername = errors.New("generated username taken")

// grantOnCreate asks the policy whether p may create a user with roles in
// org: the same rule as a membership change, so no path grants more.
func grantOnCreate(p *roster.Principal, org *roster.Organisation, roles []string) error {
	return authz.Decide(p, authz.GrantRoles, authz.Resource{Tenant: org.RootOrgID, Org: org.ID, Roles: roles})
}

// CreateUserTx creates one user for p inside the caller's transaction. It
// is where every creation path (API, CSV upload, demo data) meets the
// role-granting rule, so none of them needs a rule of its own. On a
// uniqueness clash it returns ECONFLICT naming every clashing field and
// undoes only its own writes, so a bulk writer can carry on with the next
// row.
func (s *Service) CreateUserTx(ctx context.Context, tx store.Tx, p *roster.Principal, in NewUser) (*roster.User, error) {
	n, errs := s.validate(&in)
	lerrs, err := CheckProfileLocation(ctx, tx, in.User.ProfileLocation)
	if err != nil {
		return nil, err
	}
	if errs = append(errs, lerrs...); len(errs) > 0 {
		return nil, roster.Invalid(errs...)
	}
	org, err := store.GetOrg(ctx, tx, in.OrgID)
	if in.OrgID == "" {
		org, err = store.Custodian(ctx, tx)
	}
	if errors.Is(err, store.ErrNoRows) {
		return nil, roster.Invalid(roster.FieldError{Field: FieldOrgID, Message: "organisation not found"})
	} else if err != nil {
		return nil, err
	}
	if err := grantOnCreate(p, org, in.Roles); err != nil {
		return nil, err
	}
	return s.createTx(ctx, tx, p.UserID, in, n, org)
}

// createTx inserts a validated user whose creation p was allowed, trying
// again with another generated username when one is taken.
func (s *Service) createTx(ctx context.Context, tx store.Tx, actorID string, in NewUser, n normalised, org *roster.Organisation) (*roster.User, error) {
	var err error
	if in.User.PasswordHash == "" && in.Password != "" {
		// Bulk writers (the demo) get here with a transaction open; they
		// wait for a worker rather than fail half-way.
		if in.User.PasswordHash, err = s.hashPassword(ctx, password.Bulk, in.Password); err != nil {
			return nil, err
		}
	}
	generated := n.username == ""
	for attempt := 0; ; attempt++ {
		if generated {
			n.username = usernameBase(in.User.FirstName, in.User.LastName) + "_" + usernameSuffix()
		}
		u, err := s.insertUser(ctx, tx, actorID, in, n, org)
		if errors.Is(err, errRetryUsername) {
			if attempt < 5 {
				continue
			}
			return nil, &roster.Error{Code: roster.ECONFLICT, Message: "user already exists", Fields: []roster.FieldError{
				{Field: FieldUserName, Message: "could not generate a free username; please choose one"}}}
		}
		return u, err
	}
}

func (s *Service) insertUser(ctx context.Context, tx store.Tx, actorID string, in NewUser, n normalised, org *roster.Organisation) (*roster.User, error) {
	now := roster.Now()
	root, err := store.GetOrg(ctx, tx, org.RootOrgID)
	if err != nil {
		return nil, err
	}
	if err := s.checkManager(ctx, tx, in, org); err != nil {
		return nil, err
	}
	rec, uk := s.newRecord(actorID, in, n, root, now)
	u := &rec.User

	var out *roster.User
	err = store.Savepoint(ctx, tx, "create_user", func() error {
		if err := store.InsertUser(ctx, tx, rec); err != nil {
			return err
		}
		if err := store.InsertUserKeys(ctx, tx, []store.UserKeyRecord{rec.Key}); err != nil {
			return err
		}
		var clashes []roster.FieldError
		for _, c := range s.claims(n) {
			ok, err := store.InsertLookup(ctx, tx, c.typ, c.value, u.ID)
			if err != nil {
				return err
			}
			if !ok {
				if c.field == FieldUserName && len(in.User.Username) == 0 {
					return errRetryUsername
				}
				clashes = append(clashes, roster.FieldError{Field: c.field, Message: c.field + " already in use"})
			}
		}
		if len(clashes) > 0 {
			return &roster.Error{Code: roster.ECONFLICT, Message: "user already exists", Fields: dedupeFields(clashes)}
		}
		for _, x := range s.externalIdentities(actorID, uk, n, now) {
			ok, err := store.InsertExternalIdentity(ctx, tx, x)
			if err != nil {
				return err
			} else if !ok {
				return &roster.Error{Code: roster.ECONFLICT, Message: "user already exists",
					Fields: []roster.FieldError{{Field: FieldExternalID, Message: FieldExternalID + " already in use"}}}
			}
		}
		if err := store.UpsertMembership(ctx, tx, s.newMembership(actorID, u.ID, in, org, now)); err != nil {
			return err
		}
		if err := store.Audit(ctx, tx, actorID, "user.create", "user", u.ID, "ok", "org="+org.ID); err != nil {
			return err
		}
		out = &rec.User
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Email, out.Phone, out.RecoveryEmail, out.RecoveryPhone = n.email, n.phone, n.recoveryEmail, n.recoveryPhone
	return out, nil
}

// checkManager requires a managed (child) user's parent to be a user of
// the same tenant.
func (s *Service) checkManager(ctx context.Context, q store.Queryer, in NewUser, org *roster.Organisation) error {
	if in.User.ManagedBy == "" {
		return nil
	}
	parent, err := store.GetUser(ctx, q, in.User.ManagedBy)
	if in.SelfSignUp && err == nil && parent.Status == roster.StatusActive && !parent.IsDeleted {
		// A parent of any tenant signs their child up on the platform
		// (the custodian); authz.SignUp made sure the parent is the caller.
		return nil
	}
	if errors.Is(err, store.ErrNoRows) || (err == nil && parent.RootOrgID != org.RootOrgID) {
		return roster.Invalid(roster.FieldError{Field: FieldManagedBy, Message: "is not a user of this tenant"})
	}
	return err
}

// newRecord is the users row of a new, validated user of tenant root:
// fresh id and data key (in rec.Key), contact details sealed under that
// key and masked, flags and country code derived, never taken from input.
func (s *Service) newRecord(actorID string, in NewUser, n normalised, root *roster.Organisation, now time.Time) (*store.UserRecord, *pii.UserKey) {
	rec := &store.UserRecord{User: in.User}
	u := &rec.User
	u.ID = roster.NewID()
	keys, wrapped, keyID := s.keys.NewUserKey(u.ID)
	rec.Key = store.UserKeyRecord{UserID: u.ID, KeyID: keyID, Wrapped: wrapped, Created: now}
	u.Username = n.username
	u.Email, u.Phone = "", ""
	u.RootOrgID = root.ID
	if u.Channel == "" {
		u.Channel = root.Channel
	}
	if !root.IsCustodian {
		// Seed 001: flagsValue 4 marks users a tenant created (upload, admin,
		// tenant login); everyone under the custodian is self-signed-up.
		u.FlagsValue |= roster.FlagTenantVerified
	}
	if n.phone != "" {
		u.CountryCode = pii.CountryCode(n.phone) // from the number itself, never trusted from input
	}
	u.Status, u.IsDeleted, u.DeletedDate = roster.StatusActive, false, nil
	if in.SelfSignUp && u.ManagedBy == "" {
		// Not active until the code sent to the contact is entered
		// (signup.go): an inactive user who is not deleted is pending.
		u.Status = roster.StatusInactive
	}
	u.CreatedBy, u.CreatedDate, u.UpdatedDate = actorID, now, nil
	rec.PasswordMustChange = chosenForThem(actorID, in)
	if n.email != "" {
		rec.EmailEnc, u.MaskedEmail = keys.Seal(n.email, pii.UserField(u.ID, pii.FieldEmail)), pii.MaskEmail(n.email)
	}
	if n.phone != "" {
		rec.PhoneEnc, u.MaskedPhone = keys.Seal(n.phone, pii.UserField(u.ID, pii.FieldPhone)), pii.MaskPhone(n.phone)
	}
	rec.RecoveryEmailEnc = keys.Seal(n.recoveryEmail, pii.UserField(u.ID, pii.FieldRecoveryEmail))
	rec.RecoveryPhoneEnc = keys.Seal(n.recoveryPhone, pii.UserField(u.ID, pii.FieldRecoveryPhone))
	u.RecoveryEmail, u.RecoveryPhone, u.PrevUsedEmail, u.PrevUsedPhone = "", "", "", ""
	return rec, keys
}

// chosenForThem reports whether a new user's password was chosen by
// someone else, who therefore knows it: an administrator or an upload.
// Self sign-up chose its own; operator commands (the first admin, demo
// data) run as the system and are the operator's own accounts.
func chosenForThem(actorID string, in NewUser) bool {
	has := in.Password != "" || in.User.PasswordHash != ""
	return has && !in.SelfSignUp && actorID != roster.SystemPrincipal.UserID
}

// externalIdentities are a new user's identity rows, ids sealed under the
// user's key.
func (s *Service) externalIdentities(actorID string, keys *pii.UserKey, n normalised, now time.Time) []store.ExternalIdentityRecord {
	userID := keys.UserID()
	out := make([]store.ExternalIdentityRecord, 0, len(n.extIDs))
	for _, x := range n.extIDs {
		out = append(out, store.ExternalIdentityRecord{
			Provider: x.Provider, IDType: x.IDType, Hash: s.extIDHash(x.Provider, x.IDType, x.ExternalID),
			Enc:    keys.Seal(x.ExternalID, pii.ExternalID(x.Provider, x.IDType, userID)),
			UserID: userID, CreatedBy: actorID, CreatedOn: now,
		})
	}
	return out
}

// newMembership is a new user's membership of org; no roles means PUBLIC.
func (s *Service) newMembership(actorID, userID string, in NewUser, org *roster.Organisation, now time.Time) roster.Membership {
	roles := in.Roles
	if len(roles) == 0 {
		roles = []string{roster.RolePublic}
	}
	return roster.Membership{UserID: userID, OrganisationID: org.ID, AssociationType: s.association(in.AssociationType),
		Roles: roles, IsApproved: true, ApprovalDate: &now, OrgJoinDate: now, UpdatedBy: actorID}
}

// GetUser returns the user as p may see them.
func (s *Service) GetUser(ctx context.Context, p *roster.Principal, id string) (*UserView, error) {
	rec, err := store.GetUser(ctx, s.db, id)
	if err != nil {
		return nil, storeErr(err, "user")
	}
	u, err := authz.Subject(ctx, s.db, rec)
	if err != nil {
		return nil, err
	}
	if err := authz.Decide(p, authz.ReadUser, authz.Resource{User: u}); err != nil {
		return nil, err
	}
	return s.view(ctx, rec, authz.Allowed(p, authz.ReadUserPII, authz.Resource{User: u}))
}

func (s *Service) view(ctx context.Context, rec *store.UserRecord, visible bool) (*UserView, error) {
	v := &UserView{User: rec.User, PIIVisible: visible, Version: rec.Version}
	v.PasswordHash = ""
	var keys *pii.UserKey
	if visible {
		var err error
		if keys, err = s.readKey(ctx, s.db, rec.ID); err != nil {
			return nil, err
		}
		if err := s.decrypt(keys, rec, &v.User); err != nil {
			return nil, err
		}
	}
	ids, err := store.ExternalIdentities(ctx, s.db, rec.ID)
	if err != nil {
		return nil, err
	}
	for _, x := range ids {
		e := roster.ExternalIdentity{Provider: x.Provider, IDType: x.IDType, UserID: x.UserID, CreatedBy: x.CreatedBy, CreatedOn: x.CreatedOn}
		if visible {
			if e.ExternalID, err = keys.Open(x.Enc, pii.ExternalID(x.Provider, x.IDType, x.UserID)); err != nil {
				return nil, err
			}
		}
		v.ExternalIDs = append(v.ExternalIDs, e)
	}
	if v.Memberships, err = store.Memberships(ctx, s.db, rec.ID); err != nil {
		return nil, err
	}
	return v, nil
}

// decrypt opens every sealed column of rec into u.
func (s *Service) decrypt(keys *pii.UserKey, rec *store.UserRecord, u *roster.User) error {
	for _, f := range []struct {
		enc   []byte
		field string
		dst   *string
	}{
		{rec.EmailEnc, "email", &u.Email}, {rec.PhoneEnc, "phone", &u.Phone},
		{rec.RecoveryEmailEnc, "recovery_email", &u.RecoveryEmail}, {rec.RecoveryPhoneEnc, "recovery_phone", &u.RecoveryPhone},
		{rec.PrevUsedEmailEnc, "prev_used_email", &u.PrevUsedEmail}, {rec.PrevUsedPhoneEnc, "prev_used_phone", &u.PrevUsedPhone},
	} {
		v, err := keys.Open(f.enc, pii.UserField(rec.ID, f.field))
		if err != nil {
			return err
		}
		*f.dst = v
	}
	return nil
}

// FindUser looks a user up by email, phone, username or external id. Only
// org admins search, and only within their tenant: a user of another tenant
// is reported as not found, so lookups cannot probe other states.
func (s *Service) FindUser(ctx context.Context, p *roster.Principal, q LookupQuery) (*UserView, error) {
	id, err := s.LookupUserID(ctx, q)
	if err != nil {
		return nil, err
	}
	rec, err := store.GetUser(ctx, s.db, id)
	if err != nil {
		return nil, storeErr(err, "user")
	}
	u, err := authz.Subject(ctx, s.db, rec)
	if err != nil {
		return nil, err
	}
	if !authz.Allowed(p, authz.ManageUser, authz.Resource{User: u}) {
		// Whatever the reason: a lookup by contact details must not
		// confirm that someone holds them.
		return nil, authz.NotFound("user")
	}
	return s.view(ctx, rec, true)
}

// LookupUserID resolves a lookup to a user id without loading or
// decrypting the user, for trusted callers such as mapping an identity
// provider's token on every request. It applies no authorization.
func (s *Service) LookupUserID(ctx context.Context, q LookupQuery) (string, error) {
	var value string
	switch q.Type {
	case roster.LookupEmail:
		e, err := pii.NormaliseEmail(q.Value)
		if err != nil {
			return "", roster.Invalid(roster.FieldError{Field: "value", Message: err.Error()})
		}
		value = s.lookupValue(q.Type, e)
	case roster.LookupPhone:
		ph, err := pii.NormalisePhone(q.Value, "")
		if err != nil {
			return "", roster.Invalid(roster.FieldError{Field: "value", Message: err.Error()})
		}
		value = s.lookupValue(q.Type, ph)
	case roster.LookupUsername:
		value = s.lookupValue(q.Type, pii.NormaliseUsername(q.Value))
	case roster.LookupExternalID:
		if q.Provider == "" || q.IDType == "" {
			return "", roster.Invalid(roster.FieldError{Field: "provider", Message: "provider and idType are required for an external id lookup"})
		}
		value = s.extIDHash(q.Provider, q.IDType, q.Value)
	default:
		return "", roster.Invalid(roster.FieldError{Field: "type", Message: "must be one of email, phone, username, externalid"})
	}
	id, err := store.LookupUserID(ctx, s.db, q.Type, value)
	return id, storeErr(err, "user")
}

// ListUsers pages through the members of an organisation (org admins of its
// tenant only), ordered by id; pass the last id as after for the next page.
func (s *Service) ListUsers(ctx context.Context, p *roster.Principal, orgID, after string, limit int) ([]UserView, error) {
	org, err := store.GetOrg(ctx, s.db, orgID)
	if err != nil {
		return nil, storeErr(err, "organisation")
	}
	if err := authz.Decide(p, authz.ManageOrg, authz.Resource{Tenant: org.RootOrgID, Org: org.ID}); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	recs, err := store.ListUsersByOrg(ctx, s.db, orgID, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]UserView, 0, len(recs))
	for _, rec := range recs {
		v := UserView{User: rec.User}
		v.PasswordHash = ""
		out = append(out, v)
	}
	return out, nil
}

// Authenticate checks a login (username, email or phone) and password.
// Every failure gives the same message so logins cannot probe accounts.
func (s *Service) Authenticate(ctx context.Context, login, pw string) (*roster.Principal, error) {
	bad := roster.Errorf(roster.EUNAUTHORIZED, "invalid login or password")
	var id string
	var err error = store.ErrNoRows
	for _, c := range s.loginCandidates(login) {
		if id, err = store.LookupUserID(ctx, s.db, c.typ, c.value); err == nil {
			break
		}
	}
	if err != nil && !errors.Is(err, store.ErrNoRows) {
		return nil, err
	}
	var rec *store.UserRecord
	if err == nil {
		if rec, err = store.GetUser(ctx, s.db, id); err != nil {
			return nil, storeErr(err, "user")
		}
	}
	if rec == nil || rec.PasswordHash == "" {
		// Spend the same time, through the same pool, as a real check so
		// response times do not reveal which logins exist.
		if poolErr, _ := s.verifyPassword(ctx, pw, dummyHash); poolErr != nil {
			return nil, poolErr
		}
		return nil, bad
	}
	if poolErr, mismatch := s.verifyPassword(ctx, pw, rec.PasswordHash); poolErr != nil {
		return nil, poolErr
	} else if mismatch != nil {
		return nil, bad
	}
	if pendingSignUp(rec) {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, MsgNotVerified)
	}
	if rec.Status != roster.StatusActive || rec.IsDeleted {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "this account is blocked; contact your organisation administrator")
	}
	return s.principal(ctx, rec)
}

var dummyHash = password.Hash("not-a-real-password")

// loginCandidates are the lookups a login may name: always a username, and
// an email or phone when it parses as one.
func (s *Service) loginCandidates(login string) []claim {
	login = strings.TrimSpace(login)
	out := []claim{{typ: roster.LookupUsername, value: s.lookupValue(roster.LookupUsername, pii.NormaliseUsername(login))}}
	if e, err := pii.NormaliseEmail(login); err == nil {
		out = append(out, claim{typ: roster.LookupEmail, value: s.lookupValue(roster.LookupEmail, e)})
	}
	if ph, err := pii.NormalisePhone(login, ""); err == nil {
		out = append(out, claim{typ: roster.LookupPhone, value: s.lookupValue(roster.LookupPhone, ph)})
	}
	return out
}

// LoginKeys returns the keys of the accounts a login may name, the blind
// indexes Authenticate looks up, so a sign-in throttle counts one phone
// number written fifty ways as one account. They are keyed hashes: holding
// them in memory reveals no login.
func (s *Service) LoginKeys(login string) []string {
	cs := s.loginCandidates(login)
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.typ + ":" + c.value
	}
	return out
}

// Principal loads the caller's identity and grants; blocked or deleted
// users get EUNAUTHORIZED so their existing tokens stop working at once.
func (s *Service) Principal(ctx context.Context, userID string) (*roster.Principal, error) {
	rec, err := store.GetUser(ctx, s.db, userID)
	if errors.Is(err, store.ErrNoRows) {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "unknown user")
	} else if err != nil {
		return nil, err
	}
	if rec.Status != roster.StatusActive || rec.IsDeleted {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "this account is blocked; contact your organisation administrator")
	}
	return s.principal(ctx, rec)
}

func (s *Service) principal(ctx context.Context, rec *store.UserRecord) (*roster.Principal, error) {
	ms, err := store.Memberships(ctx, s.db, rec.ID)
	if err != nil {
		return nil, err
	}
	p := &roster.Principal{UserID: rec.ID, Username: rec.Username, RootOrgID: rec.RootOrgID,
		SessionGeneration: rec.SessionGeneration, PasswordMustChange: rec.PasswordMustChange}
	for _, m := range ms {
		if m.IsDeleted || !m.IsApproved || m.IsRejected {
			continue
		}
		org, err := store.GetOrg(ctx, s.db, m.OrganisationID)
		if err != nil {
			return nil, err
		}
		p.Grants = append(p.Grants, roster.Grant{OrgID: org.ID, RootOrgID: org.RootOrgID, Roles: m.Roles})
	}
	current, err := store.CurrentTncVersions(ctx, s.db)
	if err != nil {
		return nil, err
	}
	p.PendingTnc = pendingTnc(current, &rec.User, p)
	return p, nil
}
