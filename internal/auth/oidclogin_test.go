package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/auth/authtest"
)

const testRedirect = "https://roster.example/api/v1/auth/oidc/callback"

// newTestLogin is browser sign-in against a fake IdP for client
// "roster-web" with a secret, over the fake registry of auth_test.go.
func newTestLogin(t *testing.T) (*OIDCLogin, *authtest.IdP, *fakeRegistry) {
	t.Helper()
	idp := authtest.NewIdP(t)
	idp.RequireClientSecret("s3cret")
	reg := &fakeRegistry{blocked: map[string]bool{}, lookups: map[string]string{
		"externalid|sub-1|state-sso|sso": "u-ext",
		"username|bob||":                 "u-bob",
	}}
	o, err := NewOIDC(OIDCConfig{Issuer: idp.URL, ClientID: "roster-web", Provider: "state-sso"}, reg.FindUserID)
	if err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{Tokens: testTokens(t), OIDC: o, Registry: reg, CacheTTL: time.Hour}
	l, err := NewOIDCLogin(a, OIDCLoginConfig{RedirectURL: testRedirect, ClientSecret: "s3cret", Name: "State SSO"})
	if err != nil {
		t.Fatal(err)
	}
	return l, idp, reg
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize sends the browser to the IdP and returns where the IdP sends
// it back to.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	res, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("IdP answered %d to the authorization request", res.StatusCode)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), testRedirect+"?") {
		t.Fatalf("IdP redirected to %q", res.Header.Get("Location"))
	}
	return loc.Query()
}

// signIn runs a whole sign-in and returns the callback's outcome.
func signIn(t *testing.T, l *OIDCLogin, next string) (*Session, error) {
	t.Helper()
	authURL, sealed, err := l.Start(context.Background(), next)
	if err != nil {
		t.Fatal(err)
	}
	back := authorize(t, authURL)
	return l.Finish(context.Background(), Callback{Code: back.Get("code"), State: back.Get("state"), Error: back.Get("error"), Sealed: sealed})
}

func loginCode(err error) string {
	var le *LoginError
	if errors.As(err, &le) {
		return le.Code
	}
	return ""
}

func TestOIDCLoginFlow(t *testing.T) {
	l, idp, _ := newTestLogin(t)
	idp.SignInAs(map[string]any{"sub": "sub-1"})
	s, err := signIn(t, l, "/#/users?x=1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Next != "/#/users?x=1" || s.Principal == nil || s.Principal.UserID != "u-ext" {
		t.Errorf("session = %+v", s)
	}
	if id, _, err := l.auth.Tokens.Verify(s.Token); err != nil || id != "u-ext" {
		t.Errorf("issued token verifies as %q, %v", id, err)
	}

	q := idp.LastAuthorization()
	if got := strings.Fields(q.Get("scope")); strings.Join(got, " ") != "openid profile email" {
		t.Errorf("scope = %q", q.Get("scope"))
	}
	if q.Get("client_id") != "roster-web" || q.Get("redirect_uri") != testRedirect || q.Get("code_challenge_method") != "S256" {
		t.Errorf("authorization request = %v", q)
	}
	// The secrets the callback checks must not be readable in the cookie.
	_, sealed, err := l.Start(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.open(sealed)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{st.State, st.Nonce, st.Verifier} {
		if len(secret) < 40 || strings.Contains(sealed, secret) {
			t.Errorf("weak or visible secret %q in cookie", secret)
		}
	}

	// Sign-in maps accounts the way bearer tokens are mapped: by username
	// only when the operator turned that on.
	idp.SignInAs(map[string]any{"sub": "sub-new", "preferred_username": "bob"})
	if s, err := signIn(t, l, ""); loginCode(err) != LoginErrUnknownUser {
		t.Errorf("username sign-in without MapUsername = %+v, %v", s, err)
	}
	l.auth.OIDC.cfg.MapUsername = true
	if s, err := signIn(t, l, ""); err != nil || s.Principal.UserID != "u-bob" || s.Next != "/" {
		t.Errorf("username sign-in = %+v, %v", s, err)
	}
}

func TestOIDCLoginRefused(t *testing.T) {
	l, idp, reg := newTestLogin(t)
	ctx := context.Background()
	idp.SignInAs(map[string]any{"sub": "sub-1"})
	authURL, sealed, err := l.Start(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	back := authorize(t, authURL)
	good := Callback{Code: back.Get("code"), State: back.Get("state"), Sealed: sealed}

	other, _, _ := newTestLogin(t)
	_, foreignSealed, err := other.Start(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	expired := &OIDCLogin{auth: l.auth, cfg: l.cfg, seal: l.seal,
		now: func() time.Time { return time.Now().Add(LoginStateTTL + time.Minute) }}

	type attempt struct {
		name string
		l    *OIDCLogin
		cb   Callback
		want string
	}
	with := func(f func(*Callback)) Callback { c := good; f(&c); return c }
	for _, tc := range []attempt{
		{"idp error", l, with(func(c *Callback) { c.Code, c.Error = "", "access_denied" }), LoginErrIdP},
		{"no cookie", l, with(func(c *Callback) { c.Sealed = "" }), LoginErrState},
		{"other state", l, with(func(c *Callback) { c.State = "forged" }), LoginErrState},
		{"tampered cookie", l, with(func(c *Callback) { c.Sealed = flip(c.Sealed) }), LoginErrState},
		{"cookie of another key", l, with(func(c *Callback) { c.Sealed = foreignSealed }), LoginErrState},
		{"expired cookie", expired, good, LoginErrState},
		{"no code", l, with(func(c *Callback) { c.Code = "" }), LoginErrToken},
		{"unknown code", l, with(func(c *Callback) { c.Code = "made-up" }), LoginErrToken},
	} {
		if _, err := tc.l.Finish(ctx, tc.cb); loginCode(err) != tc.want {
			t.Errorf("%s: err = %v, want code %s", tc.name, err, tc.want)
		}
	}
	// The untouched callback still works once, and only once.
	if _, err := l.Finish(ctx, good); err != nil {
		t.Fatalf("good callback: %v", err)
	}
	if _, err := l.Finish(ctx, good); loginCode(err) != LoginErrToken {
		t.Errorf("replayed code: %v", err)
	}

	for _, tc := range []struct {
		name   string
		user   map[string]any
		modify func(map[string]any)
		want   string
	}{
		{"nonce of another sign-in", map[string]any{"sub": "sub-1"}, func(c map[string]any) { c["nonce"] = "other" }, LoginErrToken},
		{"no nonce", map[string]any{"sub": "sub-1"}, func(c map[string]any) { delete(c, "nonce") }, LoginErrToken},
		{"issued to another client", map[string]any{"sub": "sub-1"}, func(c map[string]any) { c["aud"] = "other-app" }, LoginErrToken},
		{"expired ID token", map[string]any{"sub": "sub-1"}, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, LoginErrToken},
		{"other issuer", map[string]any{"sub": "sub-1"}, func(c map[string]any) { c["iss"] = "https://evil.example" }, LoginErrToken},
		{"unknown user", map[string]any{"sub": "nobody"}, nil, LoginErrUnknownUser},
	} {
		idp.SignInAs(tc.user)
		idp.ModifyIDToken(tc.modify)
		if _, err := signIn(t, l, "/"); loginCode(err) != tc.want {
			t.Errorf("%s: err = %v, want code %s", tc.name, err, tc.want)
		}
	}
	idp.ModifyIDToken(nil)

	// A block wins over a cached principal.
	idp.SignInAs(map[string]any{"sub": "sub-1"})
	if _, err := signIn(t, l, "/"); err != nil {
		t.Fatal(err)
	}
	reg.blocked["u-ext"] = true
	if _, err := signIn(t, l, "/"); loginCode(err) != LoginErrBlocked {
		t.Errorf("blocked user: %v", err)
	}
	reg.blocked["u-ext"] = false

	idp.RequireClientSecret("rotated")
	if _, err := signIn(t, l, "/"); loginCode(err) != LoginErrToken {
		t.Errorf("wrong client secret: %v", err)
	}
}

// flip changes one character in the middle of s.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestOIDCLoginRefusesForeignNext(t *testing.T) {
	l, _, _ := newTestLogin(t)
	for _, next := range []string{"//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example/",
		"javascript:alert(1)", "evil.example", "/\t/evil.example", "/%zz", "http:/evil.example"} {
		if _, _, err := l.Start(context.Background(), next); loginCode(err) != LoginErrNext {
			t.Errorf("Start(%q) err = %v, want %s", next, err, LoginErrNext)
		}
	}
	for _, next := range []string{"/", "/#/login", "/#/users?q=a%20b", "/reports/1?download=1"} {
		if !LocalPath(next) {
			t.Errorf("LocalPath(%q) = false", next)
		}
	}
}

func TestOIDCLoginUnreachableIdP(t *testing.T) {
	a := &Authenticator{Tokens: testTokens(t), Registry: &fakeRegistry{}}
	if _, err := NewOIDCLogin(a, OIDCLoginConfig{RedirectURL: testRedirect}); err == nil {
		t.Fatal("sign-in without an OIDC issuer accepted")
	}
	o, err := NewOIDC(OIDCConfig{Issuer: "http://127.0.0.1:1/realms/x", ClientID: "c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.OIDC = o
	for _, bad := range []string{"", "/api/v1/auth/oidc/callback", "ftp://roster.example/cb"} {
		if _, err := NewOIDCLogin(a, OIDCLoginConfig{RedirectURL: bad}); err == nil {
			t.Errorf("redirect URL %q accepted", bad)
		}
	}
	l, err := NewOIDCLogin(a, OIDCLoginConfig{RedirectURL: testRedirect})
	if err != nil {
		t.Fatal(err)
	}
	if l.Name() != "single sign-on" {
		t.Errorf("default name %q", l.Name())
	}
	if _, _, err := l.Start(context.Background(), "/"); loginCode(err) != LoginErrUnavailable {
		t.Errorf("unreachable IdP: %v", err)
	}
}
