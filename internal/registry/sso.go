package registry

import (
	"context"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// Fields of a single sign-on profile, named after what they carry rather
// than after any one identity provider's claim names (those are
// configuration, see auth.ClaimNames).
const (
	FieldChannel    = "channel"
	FieldSSOSubject = "subject"
)

// Messages of single sign-on; they name no value, since they reach a
// browser that may not be the user's.
const (
	MsgUnknownTenant    = "is not a state (tenant) of this Roster"
	MsgSchoolNotOfState = "is not an organisation of this state"
	MsgLinkedElsewhere  = "this sign-in is already linked to another account"
	MsgNoSuchLink       = "the user has no sign-in of this provider linked"
)

// maxSSOClaim bounds the claims read before any lookup; names and
// contacts are bounded again, more tightly, by CheckUser.
const maxSSOClaim = 256

// SSOActor creates users on behalf of an identity provider: the audit and
// createdBy say "sso", not a person.
var SSOActor = &roster.Principal{UserID: "sso", System: true}

// SSOProfile is what a verified identity provider token says about the
// user signing in, already read from the configured claims.
type SSOProfile struct {
	Provider, IDType, Subject string // the identity the user is linked by
	Channel                   string // the state (tenant) they belong to
	SchoolExternalID          string // optional: their school, by its external id
	TeacherID                 string // optional: recorded as the state's external id
	FirstName, LastName       string
	Email, Phone              string
	EmailVerified             bool // only when the token says so
	PhoneVerified             bool
}

// ProvisionSSOUser creates, just in time, the user an identity provider
// vouches for: a member of the state named by the channel claim (and of
// its school when one is given) with association type SSO and the tenant
// bit, through CreateUserTx like every other new user. When another
// sign-in of the same subject created the user first, that user's id is
// returned, so concurrent first sign-ins end with one user.
func (s *Service) ProvisionSSOUser(ctx context.Context, in SSOProfile) (string, error) {
	if errs := boundSSO(in); len(errs) > 0 {
		return "", roster.Invalid(errs...)
	}
	tenant, org, err := s.ssoOrg(ctx, in)
	if err != nil {
		return "", err
	}
	nu := NewUser{
		User: roster.User{FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, Phone: in.Phone,
			EmailVerified: in.EmailVerified && in.Email != "", PhoneVerified: in.PhoneVerified && in.Phone != ""},
		OrgID: org.ID, AssociationType: roster.AssociationSSO,
		ExternalIDs: []roster.ExternalIdentity{{Provider: in.Provider, IDType: in.IDType, ExternalID: in.Subject}},
	}
	if in.TeacherID != "" {
		// Sunbird records a state user's id with the state's channel as
		// both provider and id type; uploads of the same state then match.
		nu.ExternalIDs = append(nu.ExternalIDs, roster.ExternalIdentity{Provider: tenant.Channel, IDType: tenant.Channel, ExternalID: in.TeacherID})
	}
	var id string
	err = store.InTx(ctx, s.db, func(tx store.Tx) error {
		u, err := s.CreateUserTx(ctx, tx, SSOActor, nu)
		if err != nil {
			return err
		}
		id = u.ID
		return store.Audit(ctx, tx, SSOActor.UserID, "user.sso_create", "user", u.ID, "ok", "")
	})
	if roster.ErrorCode(err) == roster.ECONFLICT {
		// Lost the race to a sign-in of the same subject: that user is ours.
		if holder, lerr := s.subjectHolder(ctx, s.db, in.Provider, in.IDType, in.Subject); lerr == nil {
			return holder, nil
		}
	}
	return id, err
}

// boundSSO refuses oversized or missing claims before any lookup.
func boundSSO(in SSOProfile) []roster.FieldError {
	var errs []roster.FieldError
	for _, f := range []struct{ field, v string }{
		{FieldSSOSubject, in.Subject}, {FieldChannel, in.Channel}, {FieldSchoolExternalID, in.SchoolExternalID},
		{FieldTeacherID, in.TeacherID}, {FieldFirstName, in.FirstName}, {FieldLastName, in.LastName},
		{FieldEmail, in.Email}, {FieldPhone, in.Phone},
	} {
		if utf8.RuneCountInString(f.v) > maxSSOClaim {
			errs = append(errs, roster.FieldError{Field: f.field, Message: MsgTooLong(maxSSOClaim)})
		} else if hasControl(f.v, false) {
			errs = append(errs, roster.FieldError{Field: f.field, Message: MsgControl})
		}
	}
	if strings.TrimSpace(in.Channel) == "" {
		errs = append(errs, roster.FieldError{Field: FieldChannel, Message: MsgRequired})
	}
	if in.Subject == "" {
		errs = append(errs, roster.FieldError{Field: FieldSSOSubject, Message: MsgRequired})
	}
	return errs
}

// ssoOrg is the organisation a new SSO user joins: the school, when the
// token names one of the state's, else the state itself.
func (s *Service) ssoOrg(ctx context.Context, in SSOProfile) (tenant, org *roster.Organisation, err error) {
	tenant, err = store.TenantByChannel(ctx, s.db, strings.TrimSpace(in.Channel))
	if errors.Is(err, store.ErrNoRows) {
		return nil, nil, roster.Invalid(roster.FieldError{Field: FieldChannel, Message: MsgUnknownTenant})
	} else if err != nil {
		return nil, nil, err
	}
	school := strings.TrimSpace(in.SchoolExternalID)
	if school == "" {
		return tenant, tenant, nil
	}
	org, err = store.FindOrgByExternalID(ctx, s.db, tenant.Channel, school)
	if errors.Is(err, store.ErrNoRows) || (err == nil && org.RootOrgID != tenant.ID) {
		return nil, nil, roster.Invalid(roster.FieldError{Field: FieldSchoolExternalID, Message: MsgSchoolNotOfState})
	}
	return tenant, org, err
}

// KnownUserID returns id when it is a user's id (ENOTFOUND otherwise), for
// trusted callers mapping an identity provider's token that carries the
// Roster id itself (auth.OIDCConfig.FederationIDs).
func (s *Service) KnownUserID(ctx context.Context, id string) (string, error) {
	if utf8.RuneCountInString(id) > 100 || hasControl(id, false) {
		return "", roster.Errorf(roster.ENOTFOUND, "user not found")
	}
	rec, err := store.GetUser(ctx, s.db, id)
	if err != nil {
		return "", storeErr(err, "user")
	}
	return rec.ID, nil
}

func (s *Service) subjectHolder(ctx context.Context, q store.Queryer, provider, idType, subject string) (string, error) {
	x := []roster.ExternalIdentity{{Provider: provider, IDType: idType, ExternalID: subject}}
	CheckExternalIDs(x)
	return store.LookupUserID(ctx, q, roster.LookupExternalID,
		s.extIDHash(strings.ToLower(x[0].Provider), strings.ToLower(x[0].IDType), x[0].ExternalID))
}

// LinkIdentity links userID to an identity provider's subject, so that
// signing in there signs in as the user. Only a tenant admin of the user
// may do it for them (authz.LinkIdentity).
func (s *Service) LinkIdentity(ctx context.Context, p *roster.Principal, userID string, x roster.ExternalIdentity) error {
	return s.link(ctx, p, userID, x, authz.LinkIdentity, "admin")
}

// LinkOwnIdentity links the signed-in user to a subject they have just
// proved at the identity provider; the caller (the OIDC link flow) is
// what makes it a proof.
func (s *Service) LinkOwnIdentity(ctx context.Context, p *roster.Principal, x roster.ExternalIdentity) error {
	return s.link(ctx, p, p.UserID, x, authz.LinkOwnIdentity, "self")
}

func (s *Service) link(ctx context.Context, p *roster.Principal, userID string, x roster.ExternalIdentity, a authz.Action, how string) error {
	ids := []roster.ExternalIdentity{x}
	if errs := CheckExternalIDs(ids); len(errs) > 0 {
		return roster.Invalid(errs...)
	}
	x = ids[0]
	x.Provider, x.IDType = strings.ToLower(x.Provider), strings.ToLower(x.IDType)
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := s.userFor(ctx, tx, p, userID, a)
		if err != nil {
			return err
		}
		hash := s.extIDHash(x.Provider, x.IDType, x.ExternalID)
		ok, err := store.InsertLookup(ctx, tx, roster.LookupExternalID, hash, rec.ID)
		if err != nil {
			return err
		}
		if !ok {
			holder, err := store.LookupUserID(ctx, tx, roster.LookupExternalID, hash)
			if err == nil && holder == rec.ID {
				return nil // linked already: asking twice is not an error
			}
			return &roster.Error{Code: roster.ECONFLICT, Message: MsgLinkedElsewhere,
				Fields: []roster.FieldError{{Field: FieldSSOSubject, Message: MsgLinkedElsewhere}}}
		}
		now := roster.Now()
		uk, err := s.writeKey(ctx, tx, rec.ID)
		if err != nil {
			return err
		}
		if _, err := store.InsertExternalIdentity(ctx, tx, store.ExternalIdentityRecord{
			Provider: x.Provider, IDType: x.IDType, Hash: hash,
			Enc:    uk.Seal(x.ExternalID, pii.ExternalID(x.Provider, x.IDType, rec.ID)),
			UserID: rec.ID, CreatedBy: p.UserID, CreatedOn: now,
		}); err != nil {
			return err
		}
		return store.Audit(ctx, tx, p.UserID, "user.sso_link", "user", rec.ID, "ok", "by="+how)
	})
}

// UnlinkIdentity removes the user's links to one provider's subjects; the
// user or a tenant admin may. Without a link it is ENOTFOUND.
func (s *Service) UnlinkIdentity(ctx context.Context, p *roster.Principal, userID, provider, idType string) error {
	provider, idType = strings.ToLower(strings.TrimSpace(provider)), strings.ToLower(strings.TrimSpace(idType))
	if utf8.RuneCountInString(provider) > 100 || utf8.RuneCountInString(idType) > 100 {
		return roster.Invalid(roster.FieldError{Field: "provider", Message: MsgTooLong(100)})
	}
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := s.userFor(ctx, tx, p, userID, authz.UnlinkIdentity)
		if err != nil {
			return err
		}
		hashes, err := store.DeleteUserIdentities(ctx, tx, rec.ID, provider, idType)
		if err != nil {
			return err
		}
		if len(hashes) == 0 {
			return roster.Errorf(roster.ENOTFOUND, "%s", MsgNoSuchLink)
		}
		for _, h := range slices.Compact(hashes) {
			if err := store.DeleteLookup(ctx, tx, roster.LookupExternalID, h, rec.ID); err != nil {
				return err
			}
		}
		how := "admin"
		if p.UserID == rec.ID {
			how = "self"
		}
		return store.Audit(ctx, tx, p.UserID, "user.sso_unlink", "user", rec.ID, "ok", "by="+how)
	})
}
