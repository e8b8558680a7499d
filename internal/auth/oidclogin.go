package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"
)

// OIDCLoginConfig turns on browser sign-in with the IdP whose tokens OIDC
// already accepts: the authorization code flow with PKCE, state and nonce.
type OIDCLoginConfig struct {
	// RedirectURL is Roster's callback exactly as registered at the IdP,
	// e.g. https://roster.example/api/v1/auth/oidc/callback.
	RedirectURL string
	// ClientSecret authenticates a confidential client at the token
	// endpoint; empty for a public client, which PKCE alone protects.
	ClientSecret string
	// Name is shown on the sign-in button; default "single sign-on".
	Name string
}

// LoginStateTTL bounds how long a user may take at the IdP. The state
// cookie expires with it, so an abandoned sign-in cannot be finished later.
const LoginStateTTL = 10 * time.Minute

// Codes the callback hands to the web console as /#/login?error=<code>.
// They say what went wrong in general terms and never who was signing in.
const (
	LoginErrIdP         = "idp_error"    // the IdP refused, or the user cancelled there
	LoginErrState       = "bad_state"    // state cookie missing, expired, tampered with or not matching
	LoginErrNext        = "bad_next"     // the page to return to is not a local path
	LoginErrToken       = "bad_token"    // code exchange failed or the ID token did not verify
	LoginErrUnknownUser = "unknown_user" // valid IdP user that maps to no Roster user
	LoginErrBlocked     = "blocked"      // the Roster user is blocked or deleted
	LoginErrUnavailable = "unavailable"  // the IdP could not be reached
	LoginErrServer      = "server_error" // anything else; the cause is in the log
	// Just-in-time users and linking.
	LoginErrClaims   = "bad_claims"       // the token's claims do not make a valid user (state unknown, name missing, ...)
	LoginErrConflict = "account_conflict" // a new user's email, phone or id belongs to an existing account
	LoginErrLinked   = "linked_elsewhere" // link mode: the IdP account is linked to another Roster user
	LoginErrSession  = "session_changed"  // link mode: the Roster session that started the link has ended
)

// LoginError is a refused sign-in. Code goes to the browser; Err, which
// never holds personal data, goes to the server log.
type LoginError struct {
	Code string
	Err  error
}

func (e *LoginError) Error() string {
	return "auth: OIDC sign-in refused (" + e.Code + "): " + e.Err.Error()
}
func (e *LoginError) Unwrap() error { return e.Err }

func loginErr(code string, format string, args ...any) *LoginError {
	return &LoginError{Code: code, Err: fmt.Errorf(format, args...)}
}

// OIDCLogin runs the browser side of OpenID Connect. It keeps no server
// state: what the callback must check (state, nonce, PKCE verifier, the
// page to return to) travels in a cookie sealed with a key derived from the
// token signing key, so any replica can finish a sign-in another started.
type OIDCLogin struct {
	auth *Authenticator
	cfg  OIDCLoginConfig
	seal *pii.Sealer
	now  func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider
	lastTry  time.Time
}

// NewOIDCLogin prepares browser sign-in for a.OIDC's provider. The IdP is
// contacted on first use, so it may be down when Roster starts.
func NewOIDCLogin(a *Authenticator, cfg OIDCLoginConfig) (*OIDCLogin, error) {
	if a == nil || a.OIDC == nil || a.Tokens == nil {
		return nil, errors.New("auth: OIDC sign-in needs an OIDC issuer and client id")
	}
	u, err := url.Parse(cfg.RedirectURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("auth: the OIDC redirect URL must be an absolute http(s) URL")
	}
	if cfg.Name == "" {
		cfg.Name = "single sign-on"
	}
	seal, err := pii.NewSealer(pii.Key{ID: "oidc1", Key: pii.OIDCStateKey(a.Tokens.key)})
	if err != nil {
		return nil, err
	}
	return &OIDCLogin{auth: a, cfg: cfg, seal: seal, now: time.Now}, nil
}

// Name is the provider's display name for the sign-in button.
func (l *OIDCLogin) Name() string { return l.cfg.Name }

// loginState is what the state cookie carries from Start to Finish.
type loginState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"`
	// A link (rather than a sign-in) names the signed-in user who started
	// it and their session generation: the proof of the Roster account,
	// which the callback cannot get from the session cookie (SameSite
	// Strict is not sent on the IdP's redirect back).
	Link   bool   `json:"l,omitempty"`
	UserID string `json:"u,omitempty"`
	Gen    int64  `json:"g,omitempty"`
}

// Start begins a sign-in that returns to next (a local path; "" means
// "/"). It returns the IdP URL to send the browser to and the sealed value
// for the state cookie.
func (l *OIDCLogin) Start(ctx context.Context, next string) (authURL, sealed string, err error) {
	return l.start(ctx, next, nil)
}

// StartLink begins an OIDC sign-in that, instead of signing in, links the
// IdP account to p's Roster account: the user proves both. The state is
// bound to p's current session generation, so signing out everywhere (or
// a password change) voids a link in progress.
func (l *OIDCLogin) StartLink(ctx context.Context, p *roster.Principal, next string) (authURL, sealed string, err error) {
	if p == nil || p.System || p.UserID == "" {
		return "", "", loginErr(LoginErrSession, "link needs a signed-in user")
	}
	return l.start(ctx, next, p)
}

func (l *OIDCLogin) start(ctx context.Context, next string, linkFor *roster.Principal) (authURL, sealed string, err error) {
	if next == "" {
		next = "/"
	}
	if !LocalPath(next) {
		return "", "", loginErr(LoginErrNext, "next is not a local path")
	}
	p, err := l.getProvider(ctx)
	if err != nil {
		return "", "", &LoginError{Code: LoginErrUnavailable, Err: err}
	}
	st := loginState{
		State:    randomString(),
		Nonce:    randomString(),
		Verifier: oauth2.GenerateVerifier(),
		Next:     next,
		Expires:  l.now().Add(LoginStateTTL).Unix(),
	}
	if linkFor != nil {
		st.Link, st.UserID, st.Gen = true, linkFor.UserID, linkFor.SessionGeneration
	}
	if sealed, err = l.sealState(st); err != nil {
		return "", "", &LoginError{Code: LoginErrServer, Err: err}
	}
	authURL = l.oauth2(p).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	return authURL, sealed, nil
}

// Callback is what the IdP sent back to the redirect URL, with the state
// cookie the browser presented.
type Callback struct {
	Code, State string
	Error       string // the IdP's error parameter, e.g. access_denied
	Sealed      string // the state cookie
}

// Session is a finished sign-in: a Roster token, as a password login gives.
type Session struct {
	Token     string
	Expires   time.Time
	Principal *roster.Principal
	Next      string
	// Link, for a sign-in started by StartLink, is the IdP identity the
	// user proved; no token is issued and the caller links it to
	// Principal.
	Link *roster.ExternalIdentity
}

// Finish checks the callback against the state cookie, redeems the code
// with the PKCE verifier, verifies the ID token and its nonce, maps the IdP
// user to a Roster user the same way bearer tokens are mapped and issues a
// Roster token. Every refusal is a *LoginError.
func (l *OIDCLogin) Finish(ctx context.Context, cb Callback) (*Session, error) {
	if cb.Error != "" {
		// The error code is defined by OAuth (access_denied, ...); anything
		// else is not repeated into the log. error_description is ignored:
		// it is free text from outside.
		code := cb.Error
		if !oauthErrorCode.MatchString(code) {
			code = "(malformed)"
		}
		return nil, loginErr(LoginErrIdP, "the IdP answered %s", code)
	}
	st, err := l.open(cb.Sealed)
	if err != nil {
		return nil, &LoginError{Code: LoginErrState, Err: err}
	}
	if subtle.ConstantTimeCompare([]byte(cb.State), []byte(st.State)) != 1 {
		return nil, loginErr(LoginErrState, "state parameter does not match the cookie")
	}
	if cb.Code == "" {
		return nil, loginErr(LoginErrToken, "no authorization code")
	}
	p, err := l.getProvider(ctx)
	if err != nil {
		return nil, &LoginError{Code: LoginErrUnavailable, Err: err}
	}
	tok, err := l.oauth2(p).Exchange(l.clientContext(ctx), cb.Code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			// The response body is not logged: it is the IdP's free text.
			return nil, loginErr(LoginErrToken, "token endpoint answered %d %s", re.Response.StatusCode, re.ErrorCode)
		}
		return nil, &LoginError{Code: LoginErrUnavailable, Err: err}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, loginErr(LoginErrToken, "token response has no id_token")
	}
	// Stricter than bearer tokens: an ID token from this flow must be
	// issued to our client (aud), and carry the nonce bound to this browser.
	idt, err := p.Verifier(&oidc.Config{ClientID: l.auth.OIDC.cfg.ClientID}).Verify(l.clientContext(ctx), raw)
	if err != nil {
		return nil, loginErr(LoginErrToken, "ID token: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return nil, loginErr(LoginErrToken, "ID token nonce does not match")
	}
	var all map[string]any
	if err := idt.Claims(&all); err != nil {
		return nil, loginErr(LoginErrToken, "ID token claims: %v", err)
	}
	if st.Link {
		return l.finishLink(ctx, st, idt.Subject)
	}
	userID, err := l.auth.OIDC.mapUser(ctx, idt.Subject, all)
	if errors.Is(err, ErrNoUser) {
		userID, err = l.auth.OIDC.provision(ctx, idt.Subject, all)
	}
	if err != nil {
		return nil, signInErr(err)
	}
	// Status is read fresh: a user blocked a second ago must not get in.
	l.auth.Forget(userID)
	principal, err := l.auth.principal(ctx, userID)
	if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
		return nil, loginErr(LoginErrBlocked, "user %s is blocked or deleted", userID)
	} else if err != nil {
		return nil, &LoginError{Code: LoginErrServer, Err: err}
	}
	token, exp, err := l.auth.Tokens.Issue(userID, principal.SessionGeneration)
	if err != nil {
		return nil, &LoginError{Code: LoginErrServer, Err: err}
	}
	return &Session{Token: token, Expires: exp, Principal: principal, Next: st.Next}, nil
}

// signInErr classifies a failure to find or create the user. What reaches
// the log are field names, never the claims' values.
func signInErr(err error) *LoginError {
	var re *roster.Error
	switch {
	case errors.Is(err, ErrNoUser):
		return &LoginError{Code: LoginErrUnknownUser, Err: err}
	case errors.Is(err, ErrInvalidToken):
		return &LoginError{Code: LoginErrToken, Err: err}
	case errors.As(err, &re) && re.Code == roster.EINVALID:
		return loginErr(LoginErrClaims, "claims do not make a valid user: %s", fieldNames(re))
	case errors.As(err, &re) && re.Code == roster.ECONFLICT:
		return loginErr(LoginErrConflict, "a new user's %s belongs to another account", fieldNames(re))
	}
	return &LoginError{Code: LoginErrServer, Err: err}
}

func fieldNames(e *roster.Error) string {
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Field)
	}
	return strings.Join(names, ", ")
}

// finishLink ends a sign-in StartLink began: the Roster user who started
// it must still be signed in with the same session generation and not be
// blocked; the identity they proved is returned for the caller to link.
func (l *OIDCLogin) finishLink(ctx context.Context, st *loginState, sub string) (*Session, error) {
	l.auth.Forget(st.UserID)
	principal, err := l.auth.principal(ctx, st.UserID)
	if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
		return nil, loginErr(LoginErrBlocked, "user %s is blocked or deleted", st.UserID)
	} else if err != nil {
		return nil, &LoginError{Code: LoginErrServer, Err: err}
	}
	if principal.SessionGeneration != st.Gen {
		return nil, loginErr(LoginErrSession, "user %s signed out since the link began", st.UserID)
	}
	o := l.auth.OIDC
	return &Session{Principal: principal, Next: st.Next,
		Link: &roster.ExternalIdentity{Provider: o.cfg.Provider, IDType: o.cfg.IDType, ExternalID: sub}}, nil
}

// oauthErrorCode is the character set RFC 6749 allows in error codes.
var oauthErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

func (l *OIDCLogin) oauth2(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     l.auth.OIDC.cfg.ClientID,
		ClientSecret: l.cfg.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  l.cfg.RedirectURL,
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
	}
}

// clientContext makes oauth2 and go-oidc use the configured HTTP client
// (with its timeout) instead of http.DefaultClient.
func (l *OIDCLogin) clientContext(ctx context.Context) context.Context {
	c := l.auth.OIDC.cfg.HTTPClient
	return oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, c), c)
}

// getProvider discovers the IdP's endpoints once, retrying at most every
// few seconds while it is unreachable.
func (l *OIDCLogin) getProvider(ctx context.Context) (*oidc.Provider, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.provider != nil {
		return l.provider, nil
	}
	if l.now().Sub(l.lastTry) < 5*time.Second {
		return nil, errors.New("auth: OIDC provider unavailable")
	}
	l.lastTry = l.now()
	// The provider keeps this context's client for key refreshes, so it
	// must outlive the request.
	p, err := oidc.NewProvider(l.clientContext(context.WithoutCancel(ctx)), l.auth.OIDC.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: OIDC discovery: %w", err)
	}
	l.provider = p
	return p, nil
}

// The cookie is sealed (AES-GCM, by pii) rather than only signed: the PKCE
// verifier must stay secret from anyone who sees the cookie (e.g. in a
// proxy log), or the code could be redeemed by them.
func (l *OIDCLogin) sealState(st loginState) (string, error) {
	plain, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(l.seal.Seal(string(plain), pii.OIDCLoginState)), nil
}

func (l *OIDCLogin) open(sealed string) (*loginState, error) {
	if sealed == "" {
		return nil, errors.New("no state cookie")
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) == 0 {
		return nil, errors.New("malformed state cookie")
	}
	plain, err := l.seal.Open(b, pii.OIDCLoginState)
	if err != nil {
		return nil, errors.New("state cookie does not open (tampered with, or sealed with another key)")
	}
	var st loginState
	if err := json.Unmarshal([]byte(plain), &st); err != nil {
		return nil, errors.New("malformed state cookie")
	}
	// The cookie's Max-Age is only advice to the browser; this is the check.
	if l.now().Unix() > st.Expires {
		return nil, errors.New("state cookie expired")
	}
	// Sealed by us from a checked value, but re-checked so that a mistake
	// elsewhere can never turn into an open redirect.
	if !LocalPath(st.Next) {
		return nil, errors.New("state cookie has a non-local next")
	}
	return &st, nil
}

func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// LocalPath reports whether next is safe to redirect to after sign-in: a
// path on this site. Browsers treat "//host", "/\host" and "\\host" as
// another site, and a scheme ("javascript:", "https:") anywhere at the
// start as absolute, so all of those are refused, as are control
// characters, which some browsers strip before parsing.
func LocalPath(next string) bool {
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return false
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "//")
}
