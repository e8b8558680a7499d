package auth

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/auth/authtest"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// While the IdP cannot be reached its tokens are "unavailable" (503), not
// an internal error, and garbage is still refused; once it answers again
// the same Authenticator accepts them without a restart.
func TestOIDCRecoversWhenIdPIsBack(t *testing.T) {
	idp := authtest.NewIdP(t)
	var down atomic.Bool
	down.Store(true)
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if down.Load() {
			return nil, errors.New("dial tcp: connection refused")
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	reg := &fakeRegistry{blocked: map[string]bool{}, lookups: map[string]string{"externalid|sub-1|state-sso|sso": "u-ext"}}
	o, err := NewOIDC(OIDCConfig{Issuer: idp.URL, ClientID: "roster-web", Provider: "state-sso", HTTPClient: client}, reg.FindUserID)
	if err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{Tokens: testTokens(t), OIDC: o, Registry: reg, CacheTTL: -1}
	ctx := context.Background()
	tok := idp.Token(map[string]any{"sub": "sub-1", "aud": "roster-web"})
	for range 2 { // the first attempt, then the pause between attempts
		if _, err := a.Authenticate(ctx, tok); roster.ErrorCode(err) != roster.EUNAVAILABLE {
			t.Fatalf("IdP down: %v, want unavailable", err)
		}
	}
	if _, err := a.Authenticate(ctx, "not.a-jwt"); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Fatalf("garbage with the IdP down: %v, want unauthorized", err)
	}

	down.Store(false)
	o.mu.Lock()
	o.lastTry = time.Time{} // skip the 5 s pause between discovery attempts
	o.mu.Unlock()
	if p, err := a.Authenticate(ctx, tok); err != nil || p.UserID != "u-ext" {
		t.Fatalf("IdP back: %v, %v; want u-ext", p, err)
	}
}
