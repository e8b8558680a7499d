package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
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

// withSSO is withOIDC wired the way internal/app wires it: user-id
// subjects through KnownUserID and just-in-time users through
// ProvisionSSOUser; change adjusts the configuration.
func withSSO(issuer string, change func(*auth.OIDCConfig)) envOption {
	return func(s *envSetup) {
		cfg := auth.OIDCConfig{Issuer: issuer, ClientID: "roster", Provider: "tn-sso",
			Provision: func(ctx context.Context, p auth.Profile) (string, error) {
				return s.reg.ProvisionSSOUser(ctx, registry.SSOProfile{Provider: p.Provider, IDType: p.IDType, Subject: p.Subject,
					Channel: p.Channel, SchoolExternalID: p.School, TeacherID: p.TeacherID, FirstName: p.FirstName, LastName: p.LastName,
					Email: p.Email, Phone: p.Phone, EmailVerified: p.EmailVerified, PhoneVerified: p.PhoneVerified})
			}}
		if change != nil {
			change(&cfg)
		}
		o, err := auth.NewOIDC(cfg, func(ctx context.Context, q auth.Lookup) (string, error) {
			if q.Type == auth.LookupID {
				return s.reg.KnownUserID(ctx, q.Value)
			}
			return s.reg.LookupUserID(ctx, registry.LookupQuery(q))
		})
		if err != nil {
			s.t.Fatal(err)
		}
		s.auth.OIDC = o
	}
}

func jit(c *auth.OIDCConfig) { c.JIT = true }

// keycloakTeacher is a Keycloak-style ID token of a state teacher: the
// standard claims plus user attributes mapped to custom claim names.
func keycloakTeacher(sub string) map[string]any {
	return map[string]any{"sub": sub, "given_name": "Meena", "family_name": "K", "email": "meena@tn.example",
		"email_verified": true, "phone_number": "9876501234", "channel": "TN", "school_id": "sch-1", "teacher_id": "TCH-9"}
}

func (e *env) countUsers(where string) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE `+where).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestOIDCJustInTimeUser(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		idp := authtest.NewIdP(t)
		e := newEnv(t, db, withSSO(idp.URL, jit), withOIDCLogin)
		idp.SignInAs(keycloakTeacher("kc-meena"))
		for range 2 {
			b := newBrowser(e)
			if end := b.open("/api/v1/auth/oidc/login?next=" + url.QueryEscape("/#/profile")); end.Fragment != "/profile" {
				t.Fatalf("landed on %s", end)
			}
			if res, p := b.me(); res.StatusCode != http.StatusOK || p.RootOrgID != e.stateA.ID {
				t.Fatalf("/me %d %+v", res.StatusCode, p)
			}
		}
		if n := e.countUsers(`created_by = 'sso'`); n != 1 {
			t.Fatalf("%d users after two first sign-ins, want 1", n)
		}
		id, err := e.reg.LookupUserID(context.Background(), registry.LookupQuery{Type: roster.LookupExternalID, Value: "kc-meena", Provider: "tn-sso", IDType: "sso"})
		if err != nil {
			t.Fatal(err)
		}
		var u registry.UserView
		e.do(http.MethodGet, "/api/v1/users/"+id, e.login("adminA"), nil, &u).expect(t, http.StatusOK)
		if u.FirstName != "Meena" || u.Email != "meena@tn.example" || !u.EmailVerified || u.PhoneVerified || u.Phone == "" ||
			u.FlagsValue&roster.FlagTenantVerified == 0 {
			t.Fatalf("user %+v", u.User)
		}
		if len(u.Memberships) != 1 || u.Memberships[0].OrganisationID != e.schoolA.ID || u.Memberships[0].AssociationType != roster.AssociationSSO {
			t.Fatalf("memberships %+v", u.Memberships)
		}
		if logs := e.logs.String(); strings.Contains(logs, "kc-meena") || strings.Contains(logs, "meena@") || strings.Contains(logs, "TCH-9") {
			t.Fatalf("logs name the person: %s", logs)
		}
	})
}

func TestOIDCJustInTimeClaimNamesAreConfiguration(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		idp := authtest.NewIdP(t)
		e := newEnv(t, db, withSSO(idp.URL, func(c *auth.OIDCConfig) {
			c.JIT = true
			c.Claims = auth.ClaimNames{Channel: "state", School: "udise", FirstName: "name", PhoneVerified: "phone_ok"}
		}), withOIDCLogin)
		// The default claim names now carry nothing Roster reads.
		idp.SignInAs(map[string]any{"sub": "kc-ravi", "name": "Ravi", "state": "tn", "udise": "SCH-1", "channel": "AP",
			"given_name": "Not-This", "phone_number": "9876507777", "phone_ok": "true"})
		b := newBrowser(e)
		b.open("/api/v1/auth/oidc/login")
		res, p := b.me()
		res.expect(t, http.StatusOK)
		var u registry.UserView
		e.do(http.MethodGet, "/api/v1/users/"+p.UserID, e.login("adminA"), nil, &u).expect(t, http.StatusOK)
		if u.FirstName != "Ravi" || !u.PhoneVerified || u.Memberships[0].OrganisationID != e.schoolA.ID {
			t.Fatalf("user %+v in %+v", u.User, u.Memberships)
		}
	})
}

func TestOIDCJustInTimeRefusals(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		idp := authtest.NewIdP(t)
		e := newEnv(t, db, withSSO(idp.URL, jit), withOIDCLogin)
		e.createUser(e.schoolA.ID, "taken", "taken@tn.example")
		refused := func(name, code string, claims map[string]any) {
			t.Helper()
			idp.SignInAs(claims)
			b := newBrowser(e)
			if end := b.open("/api/v1/auth/oidc/login"); end.Fragment != "/login?error="+code {
				t.Errorf("%s: landed on %s, want error %s", name, end, code)
			}
			if res, _ := b.me(); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: signed in", name)
			}
		}
		bad := keycloakTeacher("kc-1")
		bad["channel"] = "Atlantis"
		refused("unknown state", auth.LoginErrClaims, bad)
		bad = keycloakTeacher("kc-2")
		delete(bad, "channel")
		refused("no state", auth.LoginErrClaims, bad)
		bad = keycloakTeacher("kc-3")
		bad["channel"] = "AP"
		refused("school of another state", auth.LoginErrClaims, bad)
		bad = keycloakTeacher("kc-4")
		bad["given_name"] = "<script>"
		refused("invalid name", auth.LoginErrClaims, bad)
		taken := keycloakTeacher("kc-5")
		taken["email"], taken["email_verified"] = "taken@tn.example", false
		refused("unverified email of an existing account", auth.LoginErrConflict, taken)
		if n := e.countUsers(`created_by = 'sso'`); n != 0 {
			t.Fatalf("%d users created from refused sign-ins", n)
		}
		logs := e.logs.String()
		for _, pii := range []string{"Atlantis", "meena@", "taken@", "<script>", "kc-"} {
			if strings.Contains(logs, pii) {
				t.Errorf("logs hold %q: %s", pii, logs)
			}
		}
		if !strings.Contains(logs, "channel") {
			t.Errorf("the log does not say which claim was wrong: %s", logs)
		}
	})
}

func TestOIDCWithoutJITKnowsNoStrangers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		idp := authtest.NewIdP(t)
		e := newEnv(t, db, withSSO(idp.URL, nil), withOIDCLogin)
		idp.SignInAs(keycloakTeacher("kc-stranger"))
		if end := newBrowser(e).open("/api/v1/auth/oidc/login"); end.Fragment != "/login?error="+auth.LoginErrUnknownUser {
			t.Fatalf("landed on %s", end)
		}
		if n := e.countUsers(`created_by = 'sso'`); n != 0 {
			t.Fatalf("JIT off, yet %d users created", n)
		}
	})
}

// signInWithIdP signs a fresh browser in at the IdP as sub and returns the
// Roster user it became, or "" when refused.
func signInWithIdP(e *env, idp *authtest.IdP, sub string) string {
	e.t.Helper()
	idp.SignInAs(map[string]any{"sub": sub})
	b := newBrowser(e)
	b.open("/api/v1/auth/oidc/login")
	res, p := b.me()
	if res.StatusCode != http.StatusOK {
		return ""
	}
	return p.UserID
}

func TestSSOLinkByTenantAdmin(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		idp := authtest.NewIdP(t)
		e := newEnv(t, db, withSSO(idp.URL, nil), withOIDCLogin)
		u := e.createUser(e.schoolA.ID, "teacher", "teacher@tn.example")
		other := e.createUser(e.schoolA.ID, "other", "other@tn.example")
		admin := e.login("adminA")
		if got := signInWithIdP(e, idp, "kc-teacher"); got != "" {
			t.Fatalf("signed in before the link as %s", got)
		}
		e.do(http.MethodPost, "/api/v1/users/"+u.ID+"/sso-links", e.login("adminB"), map[string]string{"subject": "kc-teacher"}, nil).
			expect(t, http.StatusNotFound)
		e.do(http.MethodPost, "/api/v1/users/"+u.ID+"/sso-links", admin, map[string]string{"subject": "kc-teacher", "provider": "another-idp"}, nil).
			expect(t, http.StatusUnprocessableEntity)
		e.do(http.MethodPost, "/api/v1/users/"+u.ID+"/sso-links", admin, map[string]string{"subject": "kc-teacher"}, nil).
			expect(t, http.StatusNoContent)
		if got := signInWithIdP(e, idp, "kc-teacher"); got != u.ID {
			t.Fatalf("after the link signed in as %q", got)
		}
		res := e.do(http.MethodPost, "/api/v1/users/"+other.ID+"/sso-links", admin, map[string]string{"subject": "kc-teacher"}, nil).
			expect(t, http.StatusConflict)
		if !strings.Contains(string(res.body), registry.MsgLinkedElsewhere) || strings.Contains(string(res.body), "kc-teacher") {
			t.Fatalf("conflict body %s", res.body)
		}
		var v registry.UserView
		e.do(http.MethodGet, "/api/v1/users/"+u.ID, admin, nil, &v).expect(t, http.StatusOK)
		if len(v.ExternalIDs) != 1 || v.ExternalIDs[0].ExternalID != "kc-teacher" || v.ExternalIDs[0].IDType != "sso" {
			t.Fatalf("external ids %+v", v.ExternalIDs)
		}
		// The user unlinks; the IdP account no longer signs in.
		e.do(http.MethodDelete, "/api/v1/users/"+u.ID+"/sso-links", e.login("teacher"), nil, nil).expect(t, http.StatusNoContent)
		if got := signInWithIdP(e, idp, "kc-teacher"); got != "" {
			t.Fatalf("after unlinking signed in as %s", got)
		}
		e.do(http.MethodDelete, "/api/v1/users/"+u.ID+"/sso-links", admin, nil, nil).expect(t, http.StatusNotFound)
		var n int
		_ = db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE object_id = $1 AND action IN ('user.sso_link', 'user.sso_unlink')`, u.ID).Scan(&n)
		if n != 2 {
			t.Fatalf("%d link/unlink audit rows, want 2", n)
		}
	})
}

func TestSSOLinkByUserProvingBothAccounts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		idp := authtest.NewIdP(t)
		e := newEnv(t, db, withSSO(idp.URL, nil), withOIDCLogin)
		u := e.createUser(e.schoolA.ID, "teacher", "teacher@tn.example")
		start := func(b *browser, token, next string) string {
			t.Helper()
			var out struct{ URL string }
			body, _ := json.Marshal(map[string]string{"next": next})
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/auth/oidc/link", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := b.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("start link: %d", res.StatusCode)
			}
			if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			return out.URL
		}
		e.do(http.MethodPost, "/api/v1/auth/oidc/link", "", map[string]string{"next": "/"}, nil).expect(t, http.StatusUnauthorized)

		// Proved at the IdP and signed in at Roster: linked.
		idp.SignInAs(map[string]any{"sub": "kc-own"})
		b := newBrowser(e)
		end := b.follow(start(b, e.login("teacher"), "/#/users/"+u.ID))
		if end.Fragment != "/users/"+u.ID {
			t.Fatalf("landed on %s", end)
		}
		if c := b.setCookie("/api/v1/auth/oidc/callback", httpapi.SessionCookie); c != nil {
			t.Fatal("a link sets a session cookie: it must not sign anyone in")
		}
		if got := signInWithIdP(e, idp, "kc-own"); got != u.ID {
			t.Fatalf("after linking signed in as %q", got)
		}

		// The IdP account is someone else's already.
		other := e.createUser(e.schoolA.ID, "other", "other@tn.example")
		b = newBrowser(e)
		end = b.follow(start(b, e.login("other"), "/#/users/"+other.ID))
		if end.Fragment != "/users/"+other.ID+"?ssoError="+auth.LoginErrLinked {
			t.Fatalf("conflict landed on %s", end)
		}

		// Signing out everywhere between start and callback voids it.
		idp.SignInAs(map[string]any{"sub": "kc-other"})
		b = newBrowser(e)
		authURL := start(b, e.login("other"), "/")
		if _, err := e.reg.UpdateUser(context.Background(), roster.SystemPrincipal, other.ID, registry.UserPatch{Password: ptr("Another-pass-7")}); err != nil {
			t.Fatal(err)
		}
		if end := b.follow(authURL); end.Fragment != "/login?error="+auth.LoginErrSession {
			t.Fatalf("stale session landed on %s", end)
		}
		if got := signInWithIdP(e, idp, "kc-other"); got != "" {
			t.Fatalf("stale link signed in as %s", got)
		}
		var n int
		_ = db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'user.sso_link' AND detail = 'by=self'`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d self-link audit rows, want 1", n)
		}
	})
}

func TestKeycloakFederatedSubjects(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		idp := authtest.NewIdP(t)
		e := newEnv(t, db, withSSO(idp.URL, func(c *auth.OIDCConfig) { c.FederationIDs = []string{"cassandrafederation"} }), withOIDCLogin)
		u := e.createUser(e.schoolA.ID, "fed", "fed@tn.example")
		me := func(sub string) int {
			t.Helper()
			return e.do(http.MethodGet, "/api/v1/me", idp.Token(map[string]any{"sub": sub, "aud": "roster"}), nil, nil).StatusCode
		}
		// Sunbird's Keycloak: the Roster user id after the configured
		// federation id.
		if got := me("f:cassandrafederation:" + u.ID); got != http.StatusOK {
			t.Fatalf("federated subject: %d", got)
		}
		if got := signInWithIdP(e, idp, "f:cassandrafederation:"+u.ID); got != u.ID {
			t.Fatalf("browser sign-in as a federated subject: %q", got)
		}
		// Another federation is not trusted to name Roster ids ...
		if got := me("f:someone-else:" + u.ID); got != http.StatusUnauthorized {
			t.Fatalf("untrusted federation: %d", got)
		}
		// ... but its user id may be the user's linked subject.
		if err := e.reg.LinkIdentity(context.Background(), roster.SystemPrincipal, u.ID,
			roster.ExternalIdentity{Provider: "tn-sso", IDType: "sso", ExternalID: "legacy-77"}); err != nil {
			t.Fatal(err)
		}
		if got := me("f:someone-else:legacy-77"); got != http.StatusOK {
			t.Fatalf("federated subject linked by its id: %d", got)
		}
		for _, sub := range []string{"f:cassandrafederation:", "f::" + u.ID, "f:cassandrafederation:no-such-user"} {
			if got := me(sub); got != http.StatusUnauthorized {
				t.Fatalf("%q: %d", sub, got)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
