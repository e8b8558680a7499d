package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/auth"
)

// defaultSSOIDType is the id type of links when no OIDC provider is
// configured; auth.NewOIDC defaults to the same.
const defaultSSOIDType = "sso"

// MsgSSOProviderRequired is the refusal of a link without a provider when
// none is configured.
const MsgSSOProviderRequired = "is required: no OIDC provider is configured"

type ssoLinkBody struct {
	Provider string `json:"provider,omitempty" maxLength:"100" doc:"Identity provider name of the link; default the configured OIDC provider (--oidc-provider)"`
	Subject  string `json:"subject" minLength:"1" maxLength:"100" doc:"The user's subject (sub) at the identity provider, e.g. a Keycloak user id or f:<federation>:<id>"`
}

type ssoUnlinkInput struct {
	ID       string `path:"id" maxLength:"64"`
	Provider string `query:"provider" maxLength:"100" doc:"Default the configured OIDC provider"`
}

type ssoLinkStartOutput struct {
	SetCookie []http.Cookie `header:"Set-Cookie"`
	Body      struct {
		URL string `json:"url" doc:"Send the browser here: the identity provider's sign-in"`
	}
}

func (s *Server) ssoRoutes() {
	link := op("linkSSO", http.MethodPost, "/users/{id}/sso-links", "Link a user to an identity provider subject", "users")
	link.Description = "Tenant admins only: signing in at the identity provider as this subject then signs in as the user. " +
		"A subject linked to another user gives 409. Audited (user.sso_link) without the subject. Users link their own " +
		"account with POST /auth/oidc/link, which makes them sign in at the provider to prove it."
	link.DefaultStatus = http.StatusNoContent
	link.Errors = append(link.Errors, http.StatusNotFound, http.StatusConflict)
	register(s, link, s.linkSSO)

	unlink := op("unlinkSSO", http.MethodDelete, "/users/{id}/sso-links", "Remove a user's links to an identity provider", "users")
	unlink.Description = "The user or a tenant admin. Audited (user.sso_unlink). 404 when there is no such link."
	unlink.DefaultStatus = http.StatusNoContent
	unlink.Errors = append(unlink.Errors, http.StatusNotFound)
	register(s, unlink, s.unlinkSSO)
}

// ssoProvider is the provider and id type of links: the configured OIDC
// provider's, or the one given when none is configured. The id type is
// never the caller's choice, so a link cannot overwrite a state's
// teacher id or any other external identity.
func (s *Server) ssoProvider(given string) (provider, idType string, err error) {
	if o := s.auth.OIDC; o != nil {
		if given != "" && !strings.EqualFold(strings.TrimSpace(given), o.Provider()) {
			return "", "", roster.Invalid(roster.FieldError{Field: "provider", Message: "is not the configured OIDC provider"})
		}
		return o.Provider(), o.IDType(), nil
	}
	if strings.TrimSpace(given) == "" {
		return "", "", roster.Invalid(roster.FieldError{Field: "provider", Message: MsgSSOProviderRequired})
	}
	return given, defaultSSOIDType, nil
}

func (s *Server) linkSSO(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"64"`
	Body ssoLinkBody
}) (*struct{}, error) {
	provider, idType, err := s.ssoProvider(in.Body.Provider)
	if err != nil {
		return nil, err
	}
	return nil, s.reg.LinkIdentity(ctx, caller(ctx), in.ID,
		roster.ExternalIdentity{Provider: provider, IDType: idType, ExternalID: in.Body.Subject})
}

func (s *Server) unlinkSSO(ctx context.Context, in *ssoUnlinkInput) (*struct{}, error) {
	provider, idType, err := s.ssoProvider(in.Provider)
	if err != nil {
		return nil, err
	}
	return nil, s.reg.UnlinkIdentity(ctx, caller(ctx), in.ID, provider, idType)
}

// ssoLinkRoutes exist with browser sign-in only: linking one's own account
// is a sign-in at the IdP.
func (s *Server) ssoLinkRoutes() {
	start := op("startSSOLink", http.MethodPost, "/auth/oidc/link", "Begin linking your account to the OIDC provider", "auth")
	start.Description = "Returns the identity provider URL to send the browser to and sets the state cookie. Signing in " +
		"there links that account to the caller's, bound to the caller's current session: signing out everywhere " +
		"voids it. The provider then returns to /auth/oidc/callback, which links and redirects to next (no session " +
		"cookie is set). An IdP account linked to another user adds ssoError=linked_elsewhere to next; other failures " +
		"redirect to /#/login?error=<code> as a sign-in's do (session_changed when the session ended meanwhile)."
	register(s, start, s.startSSOLink)
}

func (s *Server) startSSOLink(ctx context.Context, in *struct {
	Body struct {
		Next string `json:"next,omitempty" maxLength:"2048" doc:"Local path of the console page to return to"`
	}
}) (*ssoLinkStartOutput, error) {
	authURL, sealed, err := s.cfg.OIDCLogin.StartLink(ctx, caller(ctx), in.Body.Next)
	if err != nil {
		return nil, roster.Errorf(roster.EINVALID, "%s", "cannot start the link: "+loginCode(err))
	}
	out := &ssoLinkStartOutput{SetCookie: []http.Cookie{s.oidcStateCookie(sealed, int(auth.LoginStateTTL.Seconds()))}}
	out.Body.URL = authURL
	return out, nil
}

// finishSSOLink links the identity a link-mode callback proved and sends
// the browser back to the page the link began on.
func (s *Server) finishSSOLink(ctx context.Context, sess *auth.Session) *redirectOutput {
	next := sess.Next
	err := s.reg.LinkOwnIdentity(ctx, sess.Principal, *sess.Link)
	if err != nil {
		code := auth.LoginErrServer
		if roster.ErrorCode(err) == roster.ECONFLICT {
			code = auth.LoginErrLinked
			s.log.WarnContext(ctx, "OIDC link refused", "code", code, "user", sess.Principal.UserID)
		} else {
			s.log.ErrorContext(ctx, "OIDC link failed", "user", sess.Principal.UserID, "err", err)
		}
		next = withSSOError(next, code)
	} else {
		s.log.InfoContext(ctx, "linked OIDC identity", "user", sess.Principal.UserID)
	}
	return &redirectOutput{Status: http.StatusFound, Location: next, SetCookie: []http.Cookie{s.oidcStateCookie("", -1)}}
}

// withSSOError adds ssoError=<code> to a console location; the console
// routes on the fragment, so it goes there when there is one.
func withSSOError(next, code string) string {
	sep := "?"
	if i := strings.LastIndexByte(next, '#'); i >= 0 && strings.Contains(next[i:], "?") || !strings.Contains(next, "#") && strings.Contains(next, "?") {
		sep = "&"
	}
	return next + sep + "ssoError=" + url.QueryEscape(code)
}

func loginCode(err error) string {
	if le, ok := errors.AsType[*auth.LoginError](err); ok {
		return le.Code
	}
	return auth.LoginErrServer
}
