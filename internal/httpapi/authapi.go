package httpapi

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

type loginInput struct {
	Body struct {
		Login    string `json:"login" maxLength:"320" doc:"Username, email or phone number"`
		Password string `json:"password" maxLength:"1024" format:"password"`
	}
}

type loginOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      struct {
		Token     string            `json:"token" doc:"Send as 'Authorization: Bearer <token>'"`
		ExpiresAt time.Time         `json:"expiresAt"`
		Principal *roster.Principal `json:"principal"`
	}
}

type logoutOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
}

type authConfigOutput struct {
	Body struct {
		OIDC struct {
			Enabled  bool   `json:"enabled" doc:"IdP tokens are accepted as bearer tokens"`
			Issuer   string `json:"issuer,omitempty"`
			ClientID string `json:"clientId,omitempty"`
			Name     string `json:"name,omitempty" doc:"The IdP's display name for the sign-in button"`
			LoginURL string `json:"loginUrl,omitempty" doc:"Send the browser here to sign in with the IdP; absent when only its tokens are accepted"`
			LinkURL  string `json:"linkUrl,omitempty" doc:"POST here (signed in) to link your account to the IdP; absent without browser sign-in"`
			Provider string `json:"provider,omitempty" doc:"provider of the external identities that link users to IdP subjects"`
			IDType   string `json:"idType,omitempty" doc:"idType of those external identities"`
		} `json:"oidc"`
	}
}

type meOutput struct {
	Body struct {
		Principal *roster.Principal  `json:"principal"`
		User      *registry.UserView `json:"user"`
	}
}

func (s *Server) authRoutes() {
	login := public(op("login", http.MethodPost, "/auth/login", "Log in with a password", "auth"))
	login.Description = "Returns a bearer token and sets it as an HttpOnly, SameSite=Strict cookie for the web console. " +
		"Wrong login, wrong password and unknown user get the same answer. " +
		"Failed attempts slow further ones down instead of locking the account: " +
		"after 5 failures for one account (however the login is written: one phone number in any format is one account) " +
		"each attempt for it must wait 1 s after the previous failure, doubling up to 30 s; " +
		"after 10 failures from one client address (the connection's; IPv6 by /64) its attempts wait 1 s, doubling up to 15 minutes. " +
		"An attempt made too early gets 429 with Retry-After in seconds. " +
		"Counts are forgotten a quarter hour after their delay has passed; a successful sign-in clears the account's count. " +
		"When more sign-ins arrive than the server can check at once and queue, it answers 503 with Retry-After."
	login.Errors = []int{http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	register(s, login, s.login)

	// Logout only clears the cookie: tokens are stateless, so a stolen one
	// stays valid until it expires unless the user is blocked or their
	// password changes (which ends every session).
	register(s, public(described(op("logout", http.MethodPost, "/auth/logout", "Clear the session cookie", "auth"),
		"Clears the session cookie of the web console. A bearer token stays valid until it expires.")),
		s.logout)

	// Lets clients (the web console) find out whether IdP tokens are
	// accepted, and where browser sign-in with the IdP starts when it is
	// configured.
	register(s, public(described(op("authConfig", http.MethodGet, "/auth/config", "How callers can authenticate", "auth"),
		"Which ways of signing in this server offers (password, OIDC) so a client can show the right form. Needs no caller.")),
		s.authConfig)
	if s.cfg.OIDCLogin != nil {
		s.oidcLoginRoutes()
	}

	pw := op("changeOwnPassword", http.MethodPost, "/me/password", "Change your own password", "auth")
	pw.Description = "Needs the current password; PATCH /users/{id} refuses to change the caller's own password. " +
		"Every session and token issued before the change ends, on every device; the answer carries a new token " +
		"(and cookie) so the client that made the change stays signed in. " +
		"A wrong current password gives 422 on currentPassword and counts towards the same growing delays as sign-in (429 with Retry-After)."
	pw.Errors = append(pw.Errors, http.StatusUnprocessableEntity, http.StatusTooManyRequests)
	register(s, pw, s.changePassword)

	register(s, described(op("me", http.MethodGet, "/me", "The caller, their grants and profile", "auth"),
		"The signed-in caller: their profile, the roles they hold in each organisation, and the terms they still have to accept."),
		s.me)
}
func (s *Server) logout(ctx context.Context, _ *struct{}) (*logoutOutput, error) {
	out := &logoutOutput{SetCookie: s.cookie("", time.Unix(0, 0))}
	out.SetCookie.MaxAge = -1
	return out, nil
}

func (s *Server) authConfig(ctx context.Context, _ *struct{}) (*authConfigOutput, error) {
	out := &authConfigOutput{}
	if o := s.auth.OIDC; o != nil {
		out.Body.OIDC.Enabled = true
		out.Body.OIDC.Issuer, out.Body.OIDC.ClientID = o.Issuer(), o.ClientID()
		out.Body.OIDC.Provider, out.Body.OIDC.IDType = o.Provider(), o.IDType()
	}
	if l := s.cfg.OIDCLogin; l != nil {
		out.Body.OIDC.Name, out.Body.OIDC.LoginURL, out.Body.OIDC.LinkURL = l.Name(), OIDCLoginPath, Prefix+"/auth/oidc/link"
	}
	return out, nil
}

func (s *Server) me(ctx context.Context, _ *struct{}) (*meOutput, error) {
	p := caller(ctx)
	u, err := s.reg.GetUser(ctx, p, p.UserID)
	if err != nil {
		return nil, err
	}
	out := &meOutput{}
	out.Body.Principal, out.Body.User = p, u
	return out, nil
}

type changePasswordInput struct {
	Body struct {
		CurrentPassword string `json:"currentPassword" maxLength:"1024" format:"password"`
		NewPassword     string `json:"newPassword" maxLength:"1024" format:"password" doc:"8 to 128 characters"`
	}
}

// changePassword is the only way to change one's own password: it needs the
// current one, so a session left open or a stolen token cannot take the
// account over for good.
func (s *Server) changePassword(ctx context.Context, in *changePasswordInput) (*loginOutput, error) {
	p := caller(ctx)
	// Guesses of the current password are throttled like sign-ins, under
	// an account key of their own.
	accounts, client := []string{"user:" + p.UserID}, infoFrom(ctx).client
	if ok, wait := s.throttle.Allowed(accounts, client); !ok {
		return nil, tooManySignIns(wait)
	}
	err := s.reg.ChangeOwnPassword(ctx, p, in.Body.CurrentPassword, in.Body.NewPassword)
	if err == registry.ErrWrongPassword {
		s.throttle.Failed(accounts, client)
	}
	if err != nil {
		return nil, err
	}
	s.throttle.Succeeded(accounts)
	token, exp, np, err := s.auth.Reissue(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := &loginOutput{SetCookie: s.cookie(token, exp)}
	out.Body.Token, out.Body.ExpiresAt, out.Body.Principal = token, exp, np
	return out, nil
}

func (s *Server) login(ctx context.Context, in *loginInput) (*loginOutput, error) {
	if in.Body.Login == "" || in.Body.Password == "" {
		var fields []roster.FieldError
		if in.Body.Login == "" {
			fields = append(fields, roster.FieldError{Field: "login", Message: "is required"})
		}
		if in.Body.Password == "" {
			fields = append(fields, roster.FieldError{Field: "password", Message: "is required"})
		}
		return nil, roster.Invalid(fields...)
	}
	accounts, client := s.reg.LoginKeys(in.Body.Login), infoFrom(ctx).client
	if ok, wait := s.throttle.Allowed(accounts, client); !ok {
		return nil, tooManySignIns(wait)
	}
	token, exp, p, err := s.auth.Login(ctx, in.Body.Login, in.Body.Password)
	if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
		s.throttle.Failed(accounts, client)
	}
	if err != nil {
		return nil, err
	}
	s.throttle.Succeeded(accounts)
	infoFrom(ctx).userID = p.UserID
	out := &loginOutput{SetCookie: s.cookie(token, exp)}
	out.Body.Token, out.Body.ExpiresAt, out.Body.Principal = token, exp, p
	return out, nil
}

func tooManySignIns(wait time.Duration) error {
	return retryLater{huma.NewError(http.StatusTooManyRequests,
		"too many failed sign-ins; wait and try again").(*huma.ErrorModel), wait}
}

// retryLater is a 429 with the Retry-After header.
type retryLater struct {
	*huma.ErrorModel
	wait time.Duration
}

func (e retryLater) GetHeaders() http.Header {
	return http.Header{"Retry-After": {strconv.Itoa(max(1, int(math.Ceil(e.wait.Seconds()))))}}
}

func (s *Server) cookie(value string, exp time.Time) http.Cookie {
	return http.Cookie{
		Name:     SessionCookie,
		Value:    value,
		Path:     "/",
		Expires:  exp,
		HttpOnly: true,
		Secure:   s.cfg.SecureCookie,
		SameSite: http.SameSiteStrictMode,
	}
}
