package app

import (
	"strings"
	"testing"
)

func TestOIDCLoginConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // in the error; "" means valid
	}{
		{Config{OIDCIssuer: "https://kc.example/realms/tn", OIDCClientID: "roster",
			OIDCRedirectURL: "https://roster.example/api/v1/auth/oidc/callback"}, ""},
		{Config{OIDCRedirectURL: "https://roster.example/api/v1/auth/oidc/callback"}, "needs --oidc-issuer"},
		{Config{OIDCIssuer: "https://kc.example/realms/tn", OIDCClientID: "roster",
			OIDCRedirectURL: "/api/v1/auth/oidc/callback"}, "absolute URL"},
	} {
		err := tc.cfg.WithDefaults().Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: Validate = %v, want %q", tc.cfg, err, tc.want)
		}
	}

	a := &App{Config: Config{DataDir: t.TempDir(), OIDCIssuer: "https://kc.example/realms/tn", OIDCClientID: "roster"}.WithDefaults()}
	au, err := a.Authenticator()
	if err != nil {
		t.Fatal(err)
	}
	if l, err := a.oidcLogin(au); l != nil || err != nil {
		t.Errorf("without a redirect URL: %v, %v; want browser sign-in off", l, err)
	}
	a.Config.OIDCRedirectURL, a.Config.OIDCName = "https://roster.example/api/v1/auth/oidc/callback", "TN SSO"
	if l, err := a.oidcLogin(au); err != nil || l == nil || l.Name() != "TN SSO" {
		t.Errorf("with a redirect URL: %v, %v", l, err)
	}
}
