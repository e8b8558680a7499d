package app

import (
	"context"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/auth/authtest"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/testkit"
)

// OIDCMapUsername reaches the token mapping: without it an IdP account
// named "admin" is nobody in Roster, with it it is Roster's admin.
func TestOIDCMapUsernameSetting(t *testing.T) {
	ctx := context.Background()
	idp := authtest.NewIdP(t)
	a, err := Open(ctx, Config{DataDir: t.TempDir(), LogOutput: &testkit.LockedBuffer{},
		OIDCIssuer: idp.URL, OIDCClientID: "roster"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Registry.HashPassword = testkit.CheapHash
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Registry.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := a.Registry.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
		User: roster.User{FirstName: "Admin", Username: "admin", Email: "admin@example.org"}, Password: "Adm1n-pass"})
	if err != nil {
		t.Fatal(err)
	}
	token := idp.Token(map[string]any{"sub": "idp-user-1", "aud": "roster", "preferred_username": "admin"})

	for _, mapUsername := range []bool{false, true} {
		a.Config.OIDCMapUsername = mapUsername
		au, err := a.Authenticator()
		if err != nil {
			t.Fatal(err)
		}
		p, err := au.Authenticate(ctx, token)
		switch {
		case mapUsername && (err != nil || p.UserID != admin.ID):
			t.Errorf("OIDCMapUsername on: %v, %v; want the admin", p, err)
		case !mapUsername && roster.ErrorCode(err) != roster.EUNAUTHORIZED:
			t.Errorf("OIDCMapUsername off: an IdP account named admin signed in as %v, %v", p, err)
		}
	}
}

// OIDCFederationIDs reaches the token mapping through the app's own
// adapter: f:<configured id>:<user id> is that user, any other federation
// is not trusted to name one.
func TestOIDCFederationIDsSetting(t *testing.T) {
	ctx := context.Background()
	idp := authtest.NewIdP(t)
	a, err := Open(ctx, Config{DataDir: t.TempDir(), LogOutput: &testkit.LockedBuffer{},
		OIDCIssuer: idp.URL, OIDCClientID: "roster", OIDCFederationIDs: []string{"sunbird-fed"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Registry.HashPassword = testkit.CheapHash
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Registry.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := a.Registry.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
		User: roster.User{FirstName: "Fed", Email: "fed@example.org"}, Password: "Fed-pass-12"})
	if err != nil {
		t.Fatal(err)
	}
	au, err := a.Authenticator()
	if err != nil {
		t.Fatal(err)
	}
	for sub, want := range map[string]string{"f:sunbird-fed:" + u.ID: u.ID, "f:other-fed:" + u.ID: ""} {
		p, err := au.Authenticate(ctx, idp.Token(map[string]any{"sub": sub, "aud": "roster"}))
		if want == "" && roster.ErrorCode(err) != roster.EUNAUTHORIZED || want != "" && (err != nil || p.UserID != want) {
			t.Errorf("%s: %v, %v; want %q", sub, p, err, want)
		}
	}
}
