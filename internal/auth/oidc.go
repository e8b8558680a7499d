package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/roster-dev/roster"
)

// OIDCConfig describes an external OpenID Connect identity provider whose
// ID tokens (or JWT access tokens) Roster accepts as bearer tokens.
type OIDCConfig struct {
	Issuer   string
	ClientID string // required: tokens must name it in aud, or in azp
	// Provider and IDType name the usr_external_identity rows that link an
	// IdP subject to a Roster user. Provider defaults to Issuer, IDType to
	// "sso".
	Provider string
	IDType   string
	// MapUsername, when set, also maps a token to the Roster user whose
	// userName equals its UsernameClaim (default "preferred_username").
	// Off by default: at most IdPs users pick that name themselves, so an
	// IdP account called "admin" would become Roster's "admin". Turn it on
	// only for an IdP whose usernames are assigned, and equal Roster's.
	MapUsername   bool
	UsernameClaim string
	// FederationIDs are the Keycloak user-federation ids whose subjects
	// f:<federation id>:<user id> carry the Roster user id itself (see
	// federated).
	FederationIDs []string
	// JIT creates, at a browser sign-in, the user a valid token names
	// when nobody matches it, from the claims Claims names. Off unless
	// Provision is set: the application wires it to the registry.
	JIT       bool
	Claims    ClaimNames
	Provision ProvisionFunc
	// HTTPClient fetches discovery and keys; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Lookup names a user the way the registry's lookups do (roster.Lookup*
// types; Provider and IDType only for external ids).
type Lookup struct {
	Type, Value, Provider, IDType string
}

// LookupID is the Lookup type of a Roster user id, which the application
// resolves by checking the user exists.
const LookupID = "id"

// FindUserFunc resolves a lookup to a user id; it returns a roster.Error
// with ENOTFOUND when nobody matches. The application adapts the registry's
// FindUser to it, which keeps this package free of the registry.
type FindUserFunc func(ctx context.Context, q Lookup) (userID string, err error)

// OIDC verifies tokens from an external IdP and maps them to Roster users.
//
// Mapping, in order: (1) the external identity (Provider, IDType, sub) —
// what SSO users uploaded by a state carry; (2) only with MapUsername, the
// user whose userName equals the UsernameClaim; (3) the user whose email
// equals the token's email when the IdP says email_verified. Roles are
// never read from the token: they are the user's Roster memberships.
type OIDC struct {
	cfg  OIDCConfig
	find FindUserFunc

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	lastTry  time.Time
}

// NewOIDC prepares verification. Discovery happens on first use (and is
// retried), so an IdP that is down at startup does not stop Roster serving
// its own tokens.
func NewOIDC(cfg OIDCConfig, find FindUserFunc) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("auth: OIDC needs both an issuer and a client id")
	}
	if cfg.Provider == "" {
		cfg.Provider = cfg.Issuer
	}
	if cfg.IDType == "" {
		cfg.IDType = "sso"
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "preferred_username"
	}
	cfg.Claims = cfg.Claims.withDefaults()
	if cfg.JIT && cfg.Provision == nil {
		return nil, errors.New("auth: OIDC just-in-time users need a provisioning function")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDC{cfg: cfg, find: find}, nil
}

func (o *OIDC) getVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.verifier != nil {
		return o.verifier, nil
	}
	// Bound discovery attempts so a dead IdP is not hammered by every request.
	if time.Since(o.lastTry) < 5*time.Second {
		return nil, ErrIdPUnavailable
	}
	o.lastTry = time.Now()
	// The provider keeps this context's HTTP client for key refreshes, so it
	// must not be the request's context, which ends with the request.
	pctx := oidc.ClientContext(context.WithoutCancel(ctx), o.cfg.HTTPClient)
	provider, err := oidc.NewProvider(pctx, o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: OIDC discovery: %v", ErrIdPUnavailable, err)
	}
	// The client id is checked below, accepting azp as well as aud, because
	// IdPs issue access tokens whose audience is the API, not the client.
	o.verifier = provider.Verifier(&oidc.Config{SkipClientIDCheck: true})
	return o.verifier, nil
}

// UserID verifies raw and returns the Roster user it belongs to.
func (o *OIDC) UserID(ctx context.Context, raw string) (string, error) {
	if !o.fromIssuer(raw) {
		return "", ErrInvalidToken
	}
	v, err := o.getVerifier(ctx)
	if err != nil {
		return "", err
	}
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		// go-oidc flattens its errors to text; this is how it says the
		// key set (needed for a key id it has not seen) could not be
		// fetched, which is the IdP's outage, not a bad token.
		if strings.Contains(err.Error(), "fetching keys") {
			return "", fmt.Errorf("%w: %v", ErrIdPUnavailable, err)
		}
		return "", ErrInvalidToken
	}
	var all map[string]any
	if err := tok.Claims(&all); err != nil {
		return "", ErrInvalidToken
	}
	azp, _ := all["azp"].(string)
	if !slices.Contains(tok.Audience, o.cfg.ClientID) && azp != o.cfg.ClientID {
		return "", ErrInvalidToken
	}
	return o.mapUser(ctx, tok.Subject, all)
}

// mapUser finds the Roster user of a verified token's subject and claims.
func (o *OIDC) mapUser(ctx context.Context, sub string, all map[string]any) (string, error) {
	queries := []Lookup{o.subjectLookup(sub)}
	if fed, id, ok := federated(sub); ok {
		if slices.Contains(o.cfg.FederationIDs, fed) {
			queries = append(queries, Lookup{Type: LookupID, Value: id})
		} else {
			queries = append(queries, o.subjectLookup(id))
		}
	}
	if name, _ := all[o.cfg.UsernameClaim].(string); o.cfg.MapUsername && name != "" {
		queries = append(queries, Lookup{Type: roster.LookupUsername, Value: name})
	}
	if email, _ := all["email"].(string); email != "" && truthy(all["email_verified"]) {
		queries = append(queries, Lookup{Type: roster.LookupEmail, Value: email})
	}
	for _, q := range queries {
		id, err := o.find(ctx, q)
		if roster.ErrorCode(err) == roster.ENOTFOUND || roster.ErrorCode(err) == roster.EINVALID {
			continue
		} else if err != nil {
			return "", err
		}
		return id, nil
	}
	return "", ErrNoUser
}

func (o *OIDC) subjectLookup(sub string) Lookup {
	return Lookup{Type: roster.LookupExternalID, Value: sub, Provider: o.cfg.Provider, IDType: o.cfg.IDType}
}

// federated splits a Keycloak subject of a user-federation (user storage
// SPI) user, f:<federation id>:<user id>, as Sunbird's Keycloak issues
// them. Sunbird itself keeps what follows the last colon as its user id:
// Sunbird-Lern/userorg-service,
// core/platform-common/src/main/java/org/sunbird/auth/verifier/AccessTokenValidator.java
// (verifyUserToken: userId.substring(userId.lastIndexOf(":") + 1)).
// Roster trusts that id only for federation ids it is configured with.
func federated(sub string) (fed, id string, ok bool) {
	rest, found := strings.CutPrefix(sub, "f:")
	if !found {
		return "", "", false
	}
	i := strings.LastIndex(rest, ":")
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// truthy reads a boolean claim; some IdPs send "true" as a string.
func truthy(v any) bool { return v == true || v == "true" }

// fromIssuer reports whether raw is a JWT whose (not yet verified) iss claim
// is the configured issuer. Anything else cannot be the IdP's token, so it
// is refused without asking the IdP: garbage stays 401 while the IdP is down.
func (o *OIDC) fromIssuer(raw string) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	return json.Unmarshal(payload, &c) == nil && c.Issuer == o.cfg.Issuer
}

// ErrIdPUnavailable is wrapped around failures to reach the identity
// provider: the token may be valid, so the caller is told to retry (503).
var ErrIdPUnavailable = &roster.Error{Code: roster.EUNAVAILABLE, Message: "the identity provider is unavailable; try again shortly"}

// ErrNoUser is returned for a valid IdP token that maps to no Roster user.
var ErrNoUser = errors.New("auth: no Roster user for this identity")

// Issuer is the configured issuer URL.
func (o *OIDC) Issuer() string { return o.cfg.Issuer }

// ClientID is the client id tokens must be issued to.
func (o *OIDC) ClientID() string { return o.cfg.ClientID }
