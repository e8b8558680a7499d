// Package authtest runs an in-process OpenID Connect provider for tests:
// discovery and JWKS over httptest, tokens signed with a fresh RSA key, and
// a browser sign-in (authorization and token endpoints) that signs in a
// configured user without asking anything. No network is involved.
package authtest

import (
	"cmp"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc/oidctest"
)

// IdP is a fake identity provider.
type IdP struct {
	URL    string // issuer
	key    *rsa.PrivateKey
	server *httptest.Server

	mu           sync.Mutex
	clientSecret string
	user         map[string]any
	denyWith     string
	modify       func(claims map[string]any)
	grants       map[string]grant
	lastAuthz    url.Values
}

// grant is an issued authorization code waiting to be redeemed.
type grant struct {
	clientID, redirectURI, challenge, nonce string
	claims                                  map[string]any
}

// NewIdP starts an IdP that stops when the test ends.
func NewIdP(t testing.TB) *IdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	h := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "test-key", Algorithm: "RS256"}}}
	i := &IdP{key: key, grants: map[string]grant{}}
	mux := http.NewServeMux()
	// oidctest's discovery document names these two endpoints.
	mux.HandleFunc("GET /auth", i.authorize)
	mux.HandleFunc("POST /token", i.token)
	mux.Handle("/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.SetIssuer(srv.URL)
	i.URL, i.server = srv.URL, srv
	return i
}

// Stop shuts the IdP down, so its issuer URL refuses connections: an IdP
// outage. Tokens it signed before can still be made with Token.
func (i *IdP) Stop() { i.server.Close() }

// Token signs claims; iss, iat and exp (one hour) are filled in unless given.
func (i *IdP) Token(claims map[string]any) string { return i.sign(i.key, claims) }

// ForeignToken signs claims with a key the IdP does not publish, as an
// attacker would.
func (i *IdP) ForeignToken(claims map[string]any) string {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return i.sign(other, claims)
}

func (i *IdP) sign(key *rsa.PrivateKey, claims map[string]any) string {
	c := map[string]any{
		"iss": i.URL,
		"iat": time.Now().Unix(),
		"exp": time.Now().Add(time.Hour).Unix(),
	}
	for k, v := range claims {
		c[k] = v
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return oidctest.SignIDToken(key, "test-key", "RS256", string(b))
}

// SignInAs makes the authorization endpoint sign in a user with these
// claims (at least "sub") straight away, as if they had typed a password.
func (i *IdP) SignInAs(claims map[string]any) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.user, i.denyWith = claims, ""
}

// Deny makes the authorization endpoint send the browser back with this
// OAuth error (e.g. "access_denied") instead of a code.
func (i *IdP) Deny(code string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.denyWith = code
}

// RequireClientSecret makes the token endpoint accept only this secret
// (HTTP Basic or form); without it any client is accepted, as for a
// public client.
func (i *IdP) RequireClientSecret(secret string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.clientSecret = secret
}

// ModifyIDToken changes the claims of ID tokens the token endpoint issues
// from now on, after the usual ones are filled in; tests use it to forge a
// nonce or an audience.
func (i *IdP) ModifyIDToken(f func(claims map[string]any)) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.modify = f
}

// LastAuthorization is the query of the last authorization request.
func (i *IdP) LastAuthorization() url.Values {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.lastAuthz
}

// authorize is the authorization endpoint: it checks the request the way a
// strict IdP would and answers with a redirect carrying a code.
func (i *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	i.mu.Lock()
	defer i.mu.Unlock()
	i.lastAuthz = q
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case err != nil || !redirect.IsAbs():
		http.Error(w, "redirect_uri must be absolute", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code", q.Get("client_id") == "", q.Get("state") == "", q.Get("nonce") == "",
		q.Get("code_challenge") == "", q.Get("code_challenge_method") != "S256",
		!strings.Contains(" "+q.Get("scope")+" ", " openid "):
		http.Error(w, "not an OpenID Connect code request with PKCE", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	if i.denyWith != "" || i.user == nil {
		back.Set("error", cmp.Or(i.denyWith, "access_denied"))
	} else {
		code := rand.Text()
		i.grants[code] = grant{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
			challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), claims: i.user}
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token is the token endpoint: it redeems a code once, checks the client,
// the redirect URI and the PKCE verifier, and returns a signed ID token.
func (i *IdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	clientID, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1: Basic credentials are form-encoded.
		clientID, _ = url.QueryUnescape(clientID)
		secret, _ = url.QueryUnescape(secret)
	} else {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	i.mu.Lock()
	g, ok := i.grants[r.PostForm.Get("code")]
	delete(i.grants, r.PostForm.Get("code"))
	wantSecret, modify := i.clientSecret, i.modify
	i.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case wantSecret != "" && secret != wantSecret:
		tokenError(w, "invalid_client")
		return
	case r.PostForm.Get("grant_type") != "authorization_code", !ok, g.clientID != clientID,
		g.redirectURI != r.PostForm.Get("redirect_uri"),
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		tokenError(w, "invalid_grant")
		return
	}
	claims := map[string]any{"aud": g.clientID, "nonce": g.nonce}
	for k, v := range g.claims {
		claims[k] = v
	}
	claims["iss"], claims["iat"], claims["exp"] = i.URL, time.Now().Unix(), time.Now().Add(time.Hour).Unix()
	if modify != nil {
		modify(claims)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 300,
		"id_token": i.Token(claims),
	})
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}
