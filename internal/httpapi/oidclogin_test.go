package httpapi_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/auth/authtest"
	"github.com/roster-dev/roster/internal/httpapi"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// callbackHost stands for Roster's public address in the redirect URL
// registered at the IdP; the test browser sends it to the test server.
const callbackHost = "roster.test"

// withOIDCLogin turns on browser sign-in with the IdP that withOIDC set up.
func withOIDCLogin(s *envSetup) {
	l, err := auth.NewOIDCLogin(s.auth, auth.OIDCLoginConfig{
		RedirectURL:  "https://" + callbackHost + "/api/v1/auth/oidc/callback",
		ClientSecret: "s3cret",
		Name:         "TN State Login",
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.cfg.OIDCLogin = l
}

// browser follows redirects like a web browser, keeping cookies, and
// remembers every response on the way.
type browser struct {
	e      *env
	jar    *cookiejar.Jar
	client *http.Client
	hops   []*http.Response
	// intercept may change where a redirect goes before it is followed,
	// as an attacker between the IdP and the browser could.
	intercept func(*url.URL)
}

func newBrowser(e *env) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, jar: jar, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// open starts at path on the Roster server and follows redirects; it
// returns the address the browser ends up at, fragment included.
func (b *browser) open(path string) *url.URL {
	b.e.t.Helper()
	return b.follow(b.e.srv.URL + path)
}

// follow is open for an absolute address, such as the IdP's.
func (b *browser) follow(raw string) *url.URL {
	b.e.t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for range 10 {
		if u.Host == callbackHost {
			srv, _ := url.Parse(b.e.srv.URL)
			u.Scheme, u.Host = srv.Scheme, srv.Host
		}
		if u.Hostname() != "127.0.0.1" {
			// Sent off to another site: stop there, without any network.
			return u
		}
		res, err := b.client.Get(u.String())
		if err != nil {
			b.e.t.Fatal(err)
		}
		res.Body.Close()
		b.hops = append(b.hops, res)
		if res.StatusCode != http.StatusFound {
			return u
		}
		next, err := u.Parse(res.Header.Get("Location"))
		if err != nil {
			b.e.t.Fatal(err)
		}
		if b.intercept != nil {
			b.intercept(next)
		}
		u = next
	}
	b.e.t.Fatal("redirect loop")
	return nil
}

// me is GET /api/v1/me with the browser's cookies.
func (b *browser) me() (*response, roster.Principal) {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+"/api/v1/me", nil)
	var out struct{ Principal roster.Principal }
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	return b.e.send(req, &out), out.Principal
}

// setCookie is the cookie name set by the hop at path, or nil.
func (b *browser) setCookie(path, name string) *http.Cookie {
	for _, res := range b.hops {
		if res.Request.URL.Path != path {
			continue
		}
		for _, c := range res.Cookies() {
			if c.Name == name {
				return c
			}
		}
	}
	return nil
}

func TestOIDCBrowserSignIn(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		idp := authtest.NewIdP(t)
		idp.RequireClientSecret("s3cret")
		e := newEnv(t, db, withOIDC(idp.URL), withOIDCLogin)
		u, err := e.reg.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
			User:        roster.User{FirstName: "Sso", Email: "sso-user@example.org"},
			OrgID:       e.schoolA.ID,
			Roles:       []string{roster.RoleCourseMentor},
			ExternalIDs: []roster.ExternalIdentity{{Provider: "tn-sso", IDType: "sso", ExternalID: "idp-subject-9"}},
		})
		if err != nil {
			t.Fatal(err)
		}

		var cfg struct {
			OIDC struct {
				Enabled  bool
				Name     string
				LoginURL string `json:"loginUrl"`
			} `json:"oidc"`
		}
		e.do(http.MethodGet, "/api/v1/auth/config", "", nil, &cfg).expect(t, http.StatusOK)
		if !cfg.OIDC.Enabled || cfg.OIDC.Name != "TN State Login" || cfg.OIDC.LoginURL != "/api/v1/auth/oidc/login" {
			t.Fatalf("auth config = %+v", cfg)
		}

		idp.SignInAs(map[string]any{"sub": "idp-subject-9", "email": "sso-user@example.org"})
		b := newBrowser(e)
		end := b.open(cfg.OIDC.LoginURL + "?next=" + url.QueryEscape("/#/courses"))
		if end.Path != "/" || end.Fragment != "/courses" {
			t.Errorf("signed in and landed on %s", end)
		}
		state := b.setCookie("/api/v1/auth/oidc/login", httpapi.OIDCStateCookie)
		if state == nil || !state.HttpOnly || state.SameSite != http.SameSiteLaxMode || state.MaxAge != 600 ||
			state.Path != "/api/v1/auth/oidc/" {
			t.Errorf("state cookie = %+v", state)
		}
		session := b.setCookie("/api/v1/auth/oidc/callback", httpapi.SessionCookie)
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Value == "" {
			t.Errorf("session cookie = %+v", session)
		}
		if c := b.setCookie("/api/v1/auth/oidc/callback", httpapi.OIDCStateCookie); c == nil || c.MaxAge >= 0 {
			t.Errorf("state cookie not cleared after use: %+v", c)
		}
		res, p := b.me()
		res.expect(t, http.StatusOK)
		if p.UserID != u.ID || !p.HasRole(e.schoolA.ID, roster.RoleCourseMentor) {
			t.Errorf("signed in as %+v", p)
		}
		if q := idp.LastAuthorization(); q.Get("code_challenge_method") != "S256" || q.Get("scope") != "openid profile email" {
			t.Errorf("authorization request %v", q)
		}
		if logs := e.logs.String(); strings.Contains(logs, "idp-subject-9") || strings.Contains(logs, "sso-user@") {
			t.Errorf("logs name the person: %s", logs)
		}
	})
}

func TestOIDCBrowserSignInRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		idp := authtest.NewIdP(t)
		e := newEnv(t, db, withOIDC(idp.URL), withOIDCLogin)
		u, err := e.reg.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
			User:        roster.User{FirstName: "Sso", Username: "sso.user", Email: "sso-user@example.org"},
			OrgID:       e.schoolA.ID,
			Roles:       []string{roster.RoleCourseMentor},
			ExternalIDs: []roster.ExternalIdentity{{Provider: "tn-sso", IDType: "sso", ExternalID: "idp-subject-9"}},
		})
		if err != nil {
			t.Fatal(err)
		}

		refused := func(name, next, code string, setup func(b *browser)) {
			t.Helper()
			b := newBrowser(e)
			if setup != nil {
				setup(b)
			}
			end := b.open("/api/v1/auth/oidc/login?next=" + url.QueryEscape(next))
			if end.Path != "/" || end.Fragment != "/login?error="+code {
				t.Errorf("%s: landed on %s, want /#/login?error=%s", name, end, code)
			}
			if c := b.setCookie("/api/v1/auth/oidc/callback", httpapi.SessionCookie); c != nil {
				t.Errorf("%s: session cookie set", name)
			}
			if res, _ := b.me(); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: /me answered %d", name, res.StatusCode)
			}
		}

		idp.SignInAs(map[string]any{"sub": "idp-subject-9"})
		refused("state changed on the way back", "/", auth.LoginErrState, func(b *browser) {
			b.intercept = func(u *url.URL) {
				if u.Host == callbackHost {
					q := u.Query()
					q.Set("state", "forged-"+q.Get("state"))
					u.RawQuery = q.Encode()
				}
			}
		})
		refused("callback in another browser", "/", auth.LoginErrState, func(b *browser) {
			// Login CSRF: the victim's browser gets a code meant for the
			// attacker's session, without the attacker's state cookie.
			b.intercept = func(u *url.URL) {
				if u.Host == callbackHost {
					jar, _ := cookiejar.New(nil)
					b.client.Jar, b.jar = jar, jar
				}
			}
		})
		for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
			refused("next "+next, next, auth.LoginErrNext, nil)
		}

		idp.ModifyIDToken(func(c map[string]any) { c["nonce"] = "nonce-of-another-sign-in" })
		refused("tampered nonce", "/", auth.LoginErrToken, nil)
		idp.ModifyIDToken(nil)

		idp.SignInAs(map[string]any{"sub": "stranger", "preferred_username": "nobody-here"})
		refused("unknown IdP user", "/", auth.LoginErrUnknownUser, nil)

		idp.Deny("access_denied")
		refused("IdP refused", "/", auth.LoginErrIdP, nil)

		idp.SignInAs(map[string]any{"sub": "idp-subject-9"})
		if err := e.reg.BlockUser(ctx, roster.SystemPrincipal, u.ID); err != nil {
			t.Fatal(err)
		}
		refused("blocked user", "/", auth.LoginErrBlocked, nil)
		if err := e.reg.UnblockUser(ctx, roster.SystemPrincipal, u.ID); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(e)
		b.open("/api/v1/auth/oidc/login")
		if res, p := b.me(); res.StatusCode != http.StatusOK || p.UserID != u.ID {
			t.Errorf("unblocked user: /me %d as %q", res.StatusCode, p.UserID)
		}
		if logs := e.logs.String(); strings.Contains(logs, "idp-subject-9") || strings.Contains(logs, "stranger") ||
			strings.Contains(logs, "sso.user") || strings.Contains(logs, "sso-user@") || !strings.Contains(logs, `"code":"unknown_user"`) {
			t.Errorf("refusals logged with personal data, or not at all: %s", logs)
		}
	})
}

func TestOIDCLoginOffWithoutRedirectURL(t *testing.T) {
	idp := authtest.NewIdP(t)
	e := newEnv(t, storetest.Open(t, "sqlite"), withOIDC(idp.URL))
	res := e.do(http.MethodGet, "/api/v1/auth/config", "", nil, nil).expect(t, http.StatusOK)
	if res.contains("loginUrl") || !res.contains(`"enabled":true`) {
		t.Errorf("auth config without browser sign-in: %s", res.body)
	}
	e.do(http.MethodGet, "/api/v1/auth/oidc/login", "", nil, nil).expect(t, http.StatusNotFound)
}
