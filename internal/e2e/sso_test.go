package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/auth/authtest"
)

// TestSingleSignOnFirstVisitAndLink: a teacher whom Roster has never seen
// signs in through the state's identity provider (the suite's in-process
// OIDC provider, a real HTTP server) and lands in the console as a new
// user of her school, registered through state SSO (associationType 1).
// Then a user with a password links her own provider account by signing
// in there from "My account", and signs in with it afterwards.
func TestSingleSignOnFirstVisitAndLink(t *testing.T) {
	idp := authtest.NewIdP(t)
	srv := startServer(t, "sqlite", func(c *app.Config, baseURL string) {
		c.OIDCIssuer, c.OIDCClientID, c.OIDCName = idp.URL, "roster-console", "Tamil Nadu SSO"
		c.OIDCProvider, c.OIDCIDType = ssoProvider, ssoIDType
		c.OIDCRedirectURL = baseURL + "/api/v1/auth/oidc/callback"
		c.OIDCJIT = true
	})
	root := startBrowser(t)
	tb := newTab(t, root, srv)
	ssoButton := func() {
		t.Helper()
		tb.waitFor("single sign-on button", `!!document.getElementById('oidc-login')`, 10*time.Second)
		tb.click(`#oidc-login`)
	}

	// Keycloak's standard claims, and user attributes mapped to the
	// default claim names for the state, the school and the teacher id.
	idp.SignInAs(map[string]any{"sub": "3f0c2a9e-5d1b-4c77-9e61-1a2b3c4d5e6f", "given_name": "Kavitha", "family_name": "Rao",
		"email": "kavitha.rao@tn.example.org", "email_verified": true, "channel": "TN", "school_id": "sch-33-0201", "teacher_id": "TN-T-88123"})
	tb.open("#/login")
	ssoButton()
	tb.waitFor("the console, signed in", `location.hash === '#/none' && document.getElementById('whoami').textContent === 'Kavitha Rao'`, 15*time.Second)

	me := evalAwait[map[string]any](tb, `fetch('/api/v1/me').then((r) => r.json()).then((j) => ({
		assoc: j.user.organisations.map((m) => m.associationType), org: j.user.organisations[0].organisationId,
		flags: j.user.flagsValue, verified: j.user.emailVerified}))`)
	if assoc, _ := me["assoc"].([]any); len(assoc) != 1 || assoc[0] != float64(1) {
		t.Errorf("association types %v, want [1]", me["assoc"])
	}
	if me["org"] != srv.schoolA.ID || int(me["flags"].(float64))&4 == 0 || me["verified"] != true {
		t.Errorf("new SSO user %v", me)
	}
	tb.click(`main a[href="#/account"]`)
	tb.waitFor("her account", `location.hash === '#/account' && !!document.querySelector('[data-testid=sso-subject]')`, 10*time.Second)
	if got := tb.text(`[data-testid=association]`); got != "state single sign-on" {
		t.Errorf("registered through %q", got)
	}
	if s := tb.text(`[data-testid=sso-subject]`); strings.Contains(s, "5d1b-4c77") {
		t.Errorf("subject shown unmasked: %q", s)
	}
	tb.checkAccessible("my account")
	tb.screenshot("sso-first-sign-in", false)

	// A teacher with a password links her provider account herself.
	tab2 := newTab(t, root, srv)
	tab2.signIn("arun.creator", testPassword)
	tab2.open("#/account")
	tab2.waitFor("link button", `!!document.getElementById('sso-link-own')`, 10*time.Second)
	if tab2.visible(`[data-testid=sso-subject]`) {
		t.Fatal("a link shown before linking")
	}
	idp.SignInAs(map[string]any{"sub": "tn-arun-0042"})
	tab2.click(`#sso-link-own`)
	tab2.waitFor("linked", `location.hash === '#/account' && !!document.querySelector('[data-testid=sso-subject]')`, 15*time.Second)
	tab2.screenshot("sso-linked-account", false)

	// A tenant admin links a learner to the subject the state gave them.
	admin := newTab(t, root, srv)
	admin.signIn("priya.admin", testPassword)
	learner := srv.users["learnerb"]
	admin.open("#/users/" + learner.ID)
	admin.waitFor("link form", `!!document.getElementById('sso-link-form')`, 10*time.Second)
	admin.fill(`#sso-link-form input`, "tn-karthik-0077")
	admin.click(`#sso-link-form button[type=submit]`)
	admin.waitFor("linked by the admin", `!!document.querySelector('[data-testid=sso-subject]') && document.querySelector('main [role=status]').textContent.includes('linked')`, 10*time.Second)
	admin.screenshot("sso-admin-link", false)
	// The same subject for another user is a clear conflict.
	admin.open("#/users/" + srv.users["learnerc"].ID)
	admin.waitFor("link form", `!!document.getElementById('sso-link-form')`, 10*time.Second)
	admin.fill(`#sso-link-form input`, "tn-karthik-0077")
	admin.click(`#sso-link-form button[type=submit]`)
	admin.waitFor("conflict message", `document.getElementById('sso-link-form').textContent.includes('already linked to another account')`, 10*time.Second)

	// Signed out, the provider account signs in as him.
	tab2.click(`#signout`)
	tab2.waitFor("signed out", `location.hash === '#/login'`, 10*time.Second)
	tab2.waitFor("single sign-on button", `!!document.getElementById('oidc-login')`, 10*time.Second)
	tab2.click(`#oidc-login`)
	tab2.waitFor("signed in by SSO", `document.getElementById('whoami').textContent === 'Arun Kumar'`, 15*time.Second)
}
