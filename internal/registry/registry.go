// Package registry is the user and organisation registry of seed 001: it
// validates and normalises input, seals PII, maintains the blind-index
// lookups and enforces who may see or change what. HTTP handlers, the CSV
// upload worker and CLI commands all go through it.
package registry

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/notify"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// Service is the registry.
type Service struct {
	db   store.Engine
	keys *pii.Keyring
	// HashPassword is swappable so tests and benchmarks can use cheap
	// argon2 parameters; production uses password.Hash.
	HashPassword func(string) string
	// ConflictLimit conflicts with other tenants' users per admin within
	// ConflictWindow (conflicts.go); 0 turns the budget off.
	ConflictLimit  int
	ConflictWindow time.Duration
	// TenantConflictLimit is the same budget for all admins of one tenant
	// together; 0 turns it off.
	TenantConflictLimit int
	// Hashing bounds every argon2 hash and check this service runs, sign-ins
	// and uploads alike, so a burst of either costs waiting (or a 503), not
	// memory. Shared with nothing else: one process, one pool.
	Hashing *password.Pool
	// DefaultAssociation is the associationType of a membership whose
	// caller named none: an admin's create (API, CLI) or PUT membership.
	// Seed 001 has no "created by an admin" value; such users are
	// registered by the system on the tenant's behalf, so the default is
	// system upload (roster.AssociationSystemUpload).
	DefaultAssociation int
	// Notices sends decision notices to declarers (notices.go); nil sends
	// none. Log receives what could not be sent, without PII.
	Notices notify.Sender
	Log     *slog.Logger
}

// New returns a registry over db, sealing PII with keys.
func New(db store.Engine, keys *pii.Keyring) *Service {
	return &Service{db: db, keys: keys, HashPassword: password.Hash, Hashing: password.NewPool(0, 0),
		ConflictLimit: DefaultConflictLimit, ConflictWindow: DefaultConflictWindow,
		TenantConflictLimit: DefaultTenantConflictLimit, DefaultAssociation: roster.AssociationSystemUpload}
}

// busy is what a caller gets when the interactive hashing queue is full.
var busy = &roster.Error{Code: roster.EUNAVAILABLE, Message: "the server is busy checking passwords; try again in a moment",
	RetryAfter: time.Second}

// hashPassword hashes pw on a worker of the hashing pool.
func (s *Service) hashPassword(ctx context.Context, lane password.Lane, pw string) (string, error) {
	var h string
	if err := s.Hashing.Do(ctx, lane, func() { h = s.HashPassword(pw) }); errors.Is(err, password.ErrBusy) {
		return "", busy
	} else if err != nil {
		return "", err
	}
	return h, nil
}

// HashForUpload hashes a password of a bulk upload on the pool's bulk lane:
// it waits for a worker rather than failing, and sign-ins keep priority.
func (s *Service) HashForUpload(ctx context.Context, pw string) (string, error) {
	return s.hashPassword(ctx, password.Bulk, pw)
}

// verifyPassword checks pw against hash on an interactive worker. The first
// error is the pool's (busy, or ctx ended), the second the check's.
func (s *Service) verifyPassword(ctx context.Context, pw, hash string) (poolErr, mismatch error) {
	if err := s.Hashing.Do(ctx, password.Interactive, func() { mismatch = password.Verify(pw, hash) }); errors.Is(err, password.ErrBusy) {
		return busy, nil
	} else if err != nil {
		return err, nil
	}
	return nil, mismatch
}

// NewUser is the input for creating a user.
type NewUser struct {
	User roster.User // Email/Phone in clear; normalised by the service
	// Password in clear; hashed by the service unless User.PasswordHash is
	// set (bulk upload hashes in parallel before opening its transaction).
	Password        string
	OrgID           string // organisation to join; empty means the custodian
	Roles           []string
	AssociationType int
	ExternalIDs     []roster.ExternalIdentity
	// PhoneVerified and EmailVerified, when set, are the flags as the
	// caller gave them (the rule book refuses FALSE with a phone, which
	// an absent flag is not); they override User's.
	PhoneVerified, EmailVerified *bool
	// Provider is seed 002's provider column, checked in system uploads
	// only: a user's channel is always their tenant's.
	Provider string
	// SelfSignUp applies the sign-up rules (rules.go: signUp) and creates
	// the account inactive until its contact is verified.
	SelfSignUp  bool
	YearOfBirth string // self sign-up: YYYY, becomes DOB
	// Activate: a system upload's row without a password, accepted because
	// the server sends activation messages (--upload-activation): the user
	// sets a password with the code sent to their verified contact.
	Activate bool
}

// UserView is a user as a given caller may see it: PII fields are filled
// only when the caller may read them; masked values always are.
type UserView struct {
	roster.User
	ExternalIDs []roster.ExternalIdentity `json:"externalIds,omitempty"`
	Memberships []roster.Membership       `json:"organisations,omitempty"`
	PIIVisible  bool                      `json:"piiVisible"`
	// Version is the user row's write count: the API's ETag, and what an
	// edit names as UserPatch.IfVersion.
	Version int64 `json:"-"`
}

// LookupQuery finds a user by one unique attribute.
type LookupQuery struct {
	Type     string // roster.LookupEmail, LookupPhone, LookupUsername or LookupExternalID
	Value    string
	Provider string // external id only
	IDType   string // external id only
}

// Bootstrap makes sure the custodian organisation, the default root of
// self-signed-up users, exists, and returns it.
func (s *Service) Bootstrap(ctx context.Context) (*roster.Organisation, error) {
	org, err := store.Custodian(ctx, s.db)
	if err == nil {
		return org, nil
	} else if !errors.Is(err, store.ErrNoRows) {
		return nil, err
	}
	id := roster.NewID()
	org = &roster.Organisation{ID: id, Name: "Custodian", Channel: "custodian", IsTenant: true,
		IsCustodian: true, RootOrgID: id, Status: roster.StatusActive, CreatedDate: roster.Now()}
	err = store.InsertOrg(ctx, s.db, org)
	if errors.Is(err, store.ErrUnique) { // another replica won the race
		return store.Custodian(ctx, s.db)
	}
	return org, err
}

// association is the associationType a new membership is stored with:
// the caller's value, or DefaultAssociation when they named none, so no
// path stores 0, which is not a seed value.
func (s *Service) association(assoc int) int {
	if assoc != 0 {
		return assoc
	}
	if s.DefaultAssociation != 0 {
		return s.DefaultAssociation
	}
	return roster.AssociationSystemUpload
}

// ValidAssociation reports whether v is a non-empty combination of seed
// 001's three associationType bits.
func ValidAssociation(v int) bool {
	all := roster.AssociationSSO | roster.AssociationSelfDeclared | roster.AssociationSystemUpload
	return v > 0 && v&^all == 0
}

// storeErr turns store sentinels into caller-facing errors.
func storeErr(err error, what string) error {
	if errors.Is(err, store.ErrNoRows) {
		return authz.NotFound(what)
	}
	return err
}
