package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/auth/authtest"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// publicOps are the only operations anonymous callers may use.
// The current terms are public: they are read before signing in.
var publicOps = map[string]bool{"login": true, "logout": true, "authConfig": true, "currentTnc": true}

// Every operation the OpenAPI document marks as secured must refuse
// anonymous callers, including operations added later by other packages.
func TestEverySecuredOperationNeedsAToken(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"), withJobs)
	param := regexp.MustCompile(`\{[^}]+\}`)
	checked := 0
	for path, item := range e.api.API().OpenAPI().Paths {
		for method, hop := range map[string]*huma.Operation{
			http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
			http.MethodPatch: item.Patch, http.MethodDelete: item.Delete,
		} {
			if hop == nil {
				continue
			}
			url := param.ReplaceAllString(path, "00000000-0000-0000-0000-000000000000")
			if len(hop.Security) == 0 {
				if !publicOps[hop.OperationID] {
					t.Errorf("%s %s is not secured", method, path)
				}
				continue
			}
			checked++
			for _, token := range []string{"", "not-a-token"} {
				res := e.do(method, url, token, map[string]any{}, nil)
				if res.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s with token %q: status %d, want 401", method, path, token, res.StatusCode)
				}
				if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s: no WWW-Authenticate challenge", method, path)
				}
			}
		}
	}
	// 4 public + 61 secured when every service is configured.
	if checked != 61 {
		t.Errorf("%d secured operations found, want 61", checked)
	}
}

func TestCookieSession(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	res := e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "admin-a@example.org", "password": testPassword}, nil).
		expect(t, http.StatusOK)
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "roster_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Value == "" {
		t.Fatalf("session cookie = %+v", cookie)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/me", nil)
	req.AddCookie(cookie)
	e.send(req, nil).expect(t, http.StatusOK)

	res = e.do(http.MethodPost, "/api/v1/auth/logout", "", nil, nil).expect(t, http.StatusNoContent)
	// The session cookie and its hint for the console (sessionhint.go).
	if c := res.Cookies(); len(c) != 2 || c[0].Value != "" || c[0].MaxAge >= 0 || c[1].Value != "" || c[1].MaxAge >= 0 {
		t.Errorf("logout cookies = %+v", c)
	}
}

func TestOIDCToken(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		idp := authtest.NewIdP(t)
		e := newEnv(t, db, withOIDC(idp.URL))
		u, err := e.reg.CreateUser(context.Background(), roster.SystemPrincipal, registry.NewUser{
			User:        roster.User{FirstName: "Sso", Email: "sso@example.org"},
			OrgID:       e.schoolA.ID,
			Roles:       []string{roster.RoleCourseMentor},
			ExternalIDs: []roster.ExternalIdentity{{Provider: "tn-sso", IDType: "sso", ExternalID: "idp-subject-7"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			OIDC struct {
				Enabled bool
				Issuer  string
			} `json:"oidc"`
		}
		e.do(http.MethodGet, "/api/v1/auth/config", "", nil, &cfg).expect(t, http.StatusOK)
		if !cfg.OIDC.Enabled || cfg.OIDC.Issuer != idp.URL {
			t.Errorf("auth config = %+v", cfg)
		}
		var me struct{ Principal roster.Principal }
		e.do(http.MethodGet, "/api/v1/me", idp.Token(map[string]any{"sub": "idp-subject-7", "aud": "roster"}), nil, &me).
			expect(t, http.StatusOK)
		if me.Principal.UserID != u.ID || !me.Principal.HasRole(e.schoolA.ID, roster.RoleCourseMentor) {
			t.Errorf("OIDC principal = %+v", me.Principal)
		}
		// Roles come from Roster, whatever the IdP claims.
		tok := idp.Token(map[string]any{"sub": "idp-subject-7", "aud": "roster", "roles": []string{"ORG_ADMIN"}})
		e.do(http.MethodPost, "/api/v1/users", tok, map[string]any{"firstName": "X", "email": "x@example.org", "orgId": e.stateA.ID}, nil).
			expect(t, http.StatusForbidden)
		e.do(http.MethodGet, "/api/v1/me", idp.Token(map[string]any{"sub": "someone-else", "aud": "roster"}), nil, nil).
			expect(t, http.StatusUnauthorized)
		e.do(http.MethodGet, "/api/v1/me", idp.ForeignToken(map[string]any{"sub": "idp-subject-7", "aud": "roster"}), nil, nil).
			expect(t, http.StatusUnauthorized)
	})
}

// With the IdP down before its first use, a token that may be the IdP's
// answers 503 with Retry-After, not 500; one that cannot be (not a JWT,
// another issuer) is still refused with 401, and Roster's own tokens work.
func TestOIDCIssuerUnreachable(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		idp := authtest.NewIdP(t)
		e := newEnv(t, db, withOIDC(idp.URL))
		idp.Stop()
		for _, tok := range []string{idp.Token(map[string]any{"sub": "idp-subject-7", "aud": "roster"}),
			idp.ForeignToken(map[string]any{"sub": "idp-subject-7", "aud": "roster"})} {
			res := e.do(http.MethodGet, "/api/v1/me", tok, nil, nil).expect(t, http.StatusServiceUnavailable)
			if res.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		}
		for name, tok := range map[string]string{
			"garbage":        "garbage",
			"three parts":    "a.b.c",
			"another issuer": idp.Token(map[string]any{"sub": "idp-subject-7", "aud": "roster", "iss": "https://evil.example"}),
		} {
			if res := e.do(http.MethodGet, "/api/v1/me", tok, nil, nil); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s token with the IdP down = %d, want 401", name, res.StatusCode)
			}
		}
		e.do(http.MethodGet, "/api/v1/me", e.login("adminA"), nil, nil).expect(t, http.StatusOK)
	})
}

func TestOperationalEndpoints(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.do(http.MethodGet, "/healthz", "", nil, nil).expect(t, http.StatusOK)
	e.do(http.MethodGet, "/readyz", "", nil, nil).expect(t, http.StatusOK)
	e.login("adminA")
	e.do(http.MethodGet, "/api/v1/me", "", nil, nil).expect(t, http.StatusUnauthorized)

	res := e.do(http.MethodGet, "/metrics", "", nil, nil).expect(t, http.StatusOK)
	for _, want := range []string{
		`roster_http_requests_total{method="POST",route="POST /api/v1/auth/login",status="200"} 1`,
		`roster_http_requests_total{method="GET",route="GET /api/v1/me",status="401"} 1`,
		`roster_http_request_duration_seconds_bucket{method="GET",route="GET /readyz"`,
	} {
		if !res.contains(want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	res = e.do(http.MethodGet, "/openapi.json", "", nil, nil).expect(t, http.StatusOK)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(res.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") || doc.Paths["/api/v1/users/{id}"]["get"] == nil {
		t.Errorf("openapi %s with %d paths", doc.OpenAPI, len(doc.Paths))
	}
	if res.contains("passwordHash") || res.contains("PasswordHash") {
		t.Error("the OpenAPI schema exposes the password hash")
	}
}

func TestNotReady(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	e := newEnv(t, db)
	db.Close()
	e.do(http.MethodGet, "/readyz", "", nil, nil).expect(t, http.StatusServiceUnavailable)
	e.do(http.MethodGet, "/healthz", "", nil, nil).expect(t, http.StatusOK)
}

// Internal errors reach the log but never the client.
func TestInternalErrorIsGeneric(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	e := newEnv(t, db)
	admin := e.login("adminA")
	if _, err := db.Exec(context.Background(), "DROP TABLE user_lookup"); err != nil {
		t.Fatal(err)
	}
	res := e.do(http.MethodPost, "/api/v1/users/lookup", admin, map[string]string{"type": "username", "value": "adminA"}, nil).
		expect(t, http.StatusInternalServerError)
	if p := res.problem(t); p.Detail != "internal error" || len(p.Errors) != 0 || res.contains("user_lookup") {
		t.Errorf("500 body leaks: %s", res.body)
	}
	if !strings.Contains(e.logs.String(), "user_lookup") {
		t.Error("the cause of the 500 was not logged")
	}
}

// Logs must never contain contact details or passwords, whatever happens.
func TestLogsHaveNoPII(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		secrets := []string{"priya.secret@example.org", "9811122233", "+919811122233", "Hunter2Secret", "WrongPass99", "T-secret-77"}
		e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{
			"firstName": "Priya", "email": secrets[0], "phone": secrets[1], "password": secrets[3], "orgId": e.stateA.ID,
			"externalIds": []map[string]string{{"provider": "tn", "idType": "tid", "externalId": secrets[5]}},
		}, nil).expect(t, http.StatusCreated)
		e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{
			"firstName": "Priya", "email": secrets[0], "phone": secrets[1], "password": secrets[3], "orgId": e.stateA.ID,
		}, nil).expect(t, http.StatusConflict)
		e.do(http.MethodPost, "/api/v1/users/lookup", admin, map[string]string{"type": "email", "value": secrets[0]}, nil).expect(t, http.StatusOK)
		e.do(http.MethodPost, "/api/v1/users/lookup", admin, map[string]string{"type": "phone", "value": secrets[1]}, nil).expect(t, http.StatusOK)
		e.do(http.MethodGet, "/api/v1/users/lookup?type=email&value="+secrets[0], admin, nil, nil) // not an endpoint; still must not be logged
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": secrets[0], "password": secrets[4]}, nil).expect(t, http.StatusUnauthorized)
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": secrets[0], "password": secrets[3]}, nil).expect(t, http.StatusOK)
		e.do(http.MethodGet, "/api/v1/users/"+secrets[0], admin, nil, nil)

		logs := e.logs.String()
		if !strings.Contains(logs, `"route":"POST /api/v1/users/lookup"`) {
			t.Fatalf("access log missing: %s", logs)
		}
		for _, s := range append(secrets, admin, testPassword) {
			if strings.Contains(strings.ToLower(logs), strings.ToLower(s)) {
				t.Errorf("log contains %q", s)
			}
		}
	})
}

func TestAuthConfig(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	var cfg struct {
		OIDC struct{ Enabled bool } `json:"oidc"`
	}
	e.do(http.MethodGet, "/api/v1/auth/config", "", nil, &cfg).expect(t, http.StatusOK)
	if cfg.OIDC.Enabled {
		t.Error("OIDC advertised without an issuer")
	}
}
