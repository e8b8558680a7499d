// Package authtest runs an in-process OpenID Connect provider for tests:
// discovery and JWKS over httptest, tokens signed with a fresh RSA key. No
// network is involved.
package authtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc/oidctest"
)

// IdP is a fake identity provider.
type IdP struct {
	URL    string // issuer
	key    *rsa.PrivateKey
	server *httptest.Server
}

// NewIdP starts an IdP that stops when the test ends.
func NewIdP(t testing.TB) *IdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	h := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "test-key", Algorithm: "RS256"}}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	h.SetIssuer(srv.URL)
	return &IdP{URL: srv.URL, key: key, server: srv}
}

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
