package app

import "github.com/roster-dev/roster/internal/auth"

// oidcLogin builds browser sign-in with the IdP, or nil when no redirect
// URL is configured (then IdP tokens are still accepted as bearer tokens).
func (a *App) oidcLogin(au *auth.Authenticator) (*auth.OIDCLogin, error) {
	if a.Config.OIDCRedirectURL == "" || au.OIDC == nil {
		return nil, nil
	}
	return auth.NewOIDCLogin(au, auth.OIDCLoginConfig{
		RedirectURL:  a.Config.OIDCRedirectURL,
		ClientSecret: a.Config.OIDCClientSecret,
		Name:         a.Config.OIDCName,
	})
}
