package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/roster-dev/roster/internal/auth"
)

// OIDCStateCookie carries a sign-in's state from the login redirect to the
// callback. It is SameSite=Lax, not Strict like the session cookie: the
// callback is a navigation started by the IdP's site, and a Strict cookie
// would not be sent with it. It holds nothing that grants access by itself.
const OIDCStateCookie = "roster_oidc"

// OIDCLoginPath is where the web console sends the browser to sign in with
// the IdP; /auth/config advertises it.
const OIDCLoginPath = Prefix + "/auth/oidc/login"

// oidcCookiePath limits the state cookie to the two sign-in endpoints.
const oidcCookiePath = Prefix + "/auth/oidc/"

type oidcLoginInput struct {
	Next string `query:"next" maxLength:"2048" doc:"Local path of the console page to return to, e.g. /#/users"`
}

type oidcCallbackInput struct {
	Code   string `query:"code" maxLength:"4096"`
	State  string `query:"state" maxLength:"512"`
	Error  string `query:"error" maxLength:"256"`
	Cookie string `cookie:"roster_oidc" maxLength:"4096" doc:"Set by the login redirect"`
}

type redirectOutput struct {
	Status    int
	Location  string        `header:"Location"`
	SetCookie []http.Cookie `header:"Set-Cookie"`
}

func (s *Server) oidcLoginRoutes() {
	login := public(op("oidcLogin", http.MethodGet, "/auth/oidc/login", "Sign in with the OIDC provider", "auth"))
	login.Description = "Redirects the browser to the identity provider (authorization code flow with PKCE). " +
		"Failures redirect to /#/login?error=<code>."
	login.DefaultStatus = http.StatusFound
	register(s, login, s.oidcLogin)

	cb := public(op("oidcCallback", http.MethodGet, "/auth/oidc/callback", "Where the OIDC provider returns the browser", "auth"))
	cb.Description = "Finishes the sign-in, sets the session cookie as POST /auth/login does and redirects to the page " +
		"the sign-in started from. Failures redirect to /#/login?error=<code> with code one of idp_error, bad_state, " +
		"bad_next, bad_token, unknown_user, blocked, unavailable, server_error, and with just-in-time users bad_claims, account_conflict."
	cb.DefaultStatus = http.StatusFound
	register(s, cb, s.oidcCallback)
	s.ssoLinkRoutes()
}

func (s *Server) oidcLogin(ctx context.Context, in *oidcLoginInput) (*redirectOutput, error) {
	authURL, sealed, err := s.cfg.OIDCLogin.Start(ctx, in.Next)
	if err != nil {
		return s.oidcFailed(ctx, err), nil
	}
	return &redirectOutput{Status: http.StatusFound, Location: authURL,
		SetCookie: []http.Cookie{s.oidcStateCookie(sealed, int(auth.LoginStateTTL.Seconds()))}}, nil
}

func (s *Server) oidcCallback(ctx context.Context, in *oidcCallbackInput) (*redirectOutput, error) {
	sess, err := s.cfg.OIDCLogin.Finish(ctx, auth.Callback{Code: in.Code, State: in.State, Error: in.Error, Sealed: in.Cookie})
	if err != nil {
		return s.oidcFailed(ctx, err), nil
	}
	if sess.Link != nil {
		infoFrom(ctx).userID = sess.Principal.UserID
		return s.finishSSOLink(ctx, sess), nil
	}
	infoFrom(ctx).userID = sess.Principal.UserID
	s.log.InfoContext(ctx, "signed in with OIDC", "user", sess.Principal.UserID)
	// The state is single-use: drop it whatever happened.
	return &redirectOutput{Status: http.StatusFound, Location: sess.Next,
		SetCookie: []http.Cookie{s.oidcStateCookie("", -1), s.cookie(sess.Token, sess.Expires)}}, nil
}

// oidcFailed sends the browser back to the sign-in page with a short code.
// The reason is logged; neither holds anything about the person.
func (s *Server) oidcFailed(ctx context.Context, err error) *redirectOutput {
	code := auth.LoginErrServer
	var le *auth.LoginError
	if errors.As(err, &le) {
		code = le.Code
	}
	switch code {
	case auth.LoginErrServer, auth.LoginErrUnavailable:
		s.log.ErrorContext(ctx, "OIDC sign-in failed", "code", code, "err", err)
	default:
		s.log.WarnContext(ctx, "OIDC sign-in refused", "code", code, "err", err)
	}
	return &redirectOutput{Status: http.StatusFound, Location: "/#/login?error=" + url.QueryEscape(code),
		SetCookie: []http.Cookie{s.oidcStateCookie("", -1)}}
}

func (s *Server) oidcStateCookie(value string, maxAge int) http.Cookie {
	return http.Cookie{
		Name:     OIDCStateCookie,
		Value:    value,
		Path:     oidcCookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.cfg.SecureCookie,
		SameSite: http.SameSiteLaxMode,
	}
}
