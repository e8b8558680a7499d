package auth

import (
	"cmp"
	"context"
	"fmt"
	"strings"
)

// ClaimNames says which token claims carry what a just-in-time user is
// made of. The defaults are the standard OpenID Connect claims for names
// and contacts, which Keycloak issues as they are, and, for the state, the
// school and the teacher id, the names a Keycloak "User Attribute" mapper
// would be given (Token Claim Name channel, school_id, teacher_id).
type ClaimNames struct {
	Channel       string // the state's channel, e.g. "TN"; required
	School        string // the school's external id; optional
	TeacherID     string // the teacher's id in the state's system; optional
	FirstName     string
	LastName      string
	Email         string
	EmailVerified string
	Phone         string
	PhoneVerified string
}

// DefaultClaimNames are the claim names used for every one not configured.
var DefaultClaimNames = ClaimNames{
	Channel: "channel", School: "school_id", TeacherID: "teacher_id",
	FirstName: "given_name", LastName: "family_name",
	Email: "email", EmailVerified: "email_verified",
	Phone: "phone_number", PhoneVerified: "phone_number_verified",
}

func (c ClaimNames) withDefaults() ClaimNames {
	d := DefaultClaimNames
	return ClaimNames{
		Channel: cmp.Or(c.Channel, d.Channel), School: cmp.Or(c.School, d.School), TeacherID: cmp.Or(c.TeacherID, d.TeacherID),
		FirstName: cmp.Or(c.FirstName, d.FirstName), LastName: cmp.Or(c.LastName, d.LastName),
		Email: cmp.Or(c.Email, d.Email), EmailVerified: cmp.Or(c.EmailVerified, d.EmailVerified),
		Phone: cmp.Or(c.Phone, d.Phone), PhoneVerified: cmp.Or(c.PhoneVerified, d.PhoneVerified),
	}
}

// Profile is what a verified token says about a user Roster does not know
// yet, read from the configured claims. It is not checked here: the
// registry's rule book does that, as for every other new user.
type Profile struct {
	Provider, IDType, Subject                       string
	Channel, School, TeacherID, FirstName, LastName string
	Email, Phone                                    string
	EmailVerified, PhoneVerified                    bool
}

// ProvisionFunc creates the user of p and returns their id; the
// application adapts the registry's ProvisionSSOUser to it.
type ProvisionFunc func(ctx context.Context, p Profile) (userID string, err error)

// profile reads the configured claims of a verified token. A claim of the
// wrong type (a number where a string belongs) counts as absent, except
// that numbers are accepted for ids, which some directories store as such.
func (o *OIDC) profile(sub string, all map[string]any) Profile {
	c := o.cfg.Claims
	str := func(name string) string {
		switch v := all[name].(type) {
		case string:
			return strings.TrimSpace(v)
		case float64:
			return fmt.Sprint(int64(v))
		}
		return ""
	}
	return Profile{
		Provider: o.cfg.Provider, IDType: o.cfg.IDType, Subject: sub,
		Channel: str(c.Channel), School: str(c.School), TeacherID: str(c.TeacherID),
		FirstName: str(c.FirstName), LastName: str(c.LastName),
		Email: str(c.Email), Phone: str(c.Phone),
		// Only the IdP's own word makes a contact verified.
		EmailVerified: truthy(all[c.EmailVerified]), PhoneVerified: truthy(all[c.PhoneVerified]),
	}
}

// provision creates the user a verified token names, when JIT is on.
func (o *OIDC) provision(ctx context.Context, sub string, all map[string]any) (string, error) {
	if !o.cfg.JIT {
		return "", ErrNoUser
	}
	return o.cfg.Provision(ctx, o.profile(sub, all))
}

// Provider and IDType name the external identity an IdP subject is linked
// by.
func (o *OIDC) Provider() string { return o.cfg.Provider }

// IDType is the id type of the links; see Provider.
func (o *OIDC) IDType() string { return o.cfg.IDType }
