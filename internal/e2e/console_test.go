package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/auth/authtest"
	"github.com/roster-dev/roster/internal/storetest"
)

// TestConsole drives the web console in headless Chromium against the
// whole service, once per storage engine. Screenshots are taken from the
// SQLite run only.
func TestConsole(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv := startServer(t, engine)
			root := startBrowser(t)
			shots := engine == "sqlite"
			t.Run("SignIn", func(t *testing.T) { testSignIn(t, root, srv, shots) })
			t.Run("Users", func(t *testing.T) { testUsers(t, root, srv, shots) })
			t.Run("Upload", func(t *testing.T) { testUpload(t, root, srv, shots) })
			t.Run("UploadKeyboard", func(t *testing.T) { testUploadKeyboard(t, root, srv) })
			t.Run("UploadProgress", func(t *testing.T) { testUploadProgress(t, root, srv, shots) })
			t.Run("CreatorReport", func(t *testing.T) { testCreatorReport(t, root, srv, shots) })
			t.Run("Mentor", func(t *testing.T) { testMentor(t, root, srv, shots) })
			t.Run("OtherTenant", func(t *testing.T) { testOtherTenant(t, root, srv) })
			t.Run("Roles", func(t *testing.T) { testRoles(t, root, srv) })
			// Last: if a forged request got through, it changed the world
			// the other tests rely on.
			t.Run("ForgedRequests", func(t *testing.T) { testForgedRequests(t, root, srv) })
		})
	}
}

// testSignIn: a wrong password is explained without losing what was typed;
// the right one lands on the admin's start page; signing out returns to
// the form and the session is gone.
func testSignIn(t *testing.T, root context.Context, srv *server, shots bool) {
	tb := newTab(t, root, srv)
	tb.open("#/login")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)))
	if tb.visible("#signout") || tb.visible("#nav") {
		t.Error("navigation or sign-out shown before signing in")
	}
	tb.waitFor("auth config read", `document.getElementById('sso').dataset.checked === 'true'`, 10*time.Second)
	if tb.visible("#oidc-login") {
		t.Error("single sign-on offered although no identity provider is configured")
	}
	tb.checkAccessible("sign-in")
	tb.checkPhone("sign-in")
	if shots {
		tb.screenshot("sign-in", false)
	}
	// Nothing typed: each field says what is missing, next to it.
	tb.click(`form button[type=submit]`)
	tb.waitFor("field errors", `document.querySelectorAll('.field-error:not(:empty)').length === 2`, 5*time.Second)
	if got := tb.text(`[data-field=login] .field-error`); !strings.Contains(strings.ToLower(got), "username") {
		t.Errorf("login error = %q", got)
	}
	// Wrong password: the form-level message appears and the login stays.
	tb.do(
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "priya.admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "not-the-password"),
	)
	tb.click(`form button[type=submit]`)
	tb.waitFor("wrong-password message", `document.querySelector('form .notice.error').textContent.includes('do not match')`, 10*time.Second)
	if v := eval[string](tb, `document.querySelector('input[name=login]').value`); v != "priya.admin" {
		t.Errorf("login field lost its value after an error: %q", v)
	}
	if v := eval[string](tb, `document.querySelector('input[name=password]').value`); v != "not-the-password" {
		t.Errorf("password field lost its value after an error")
	}
	// The rest by keyboard only: the focus is on the password after the
	// error; Shift+Tab reaches the login, whose focus ring shows; Tab back,
	// type, Enter.
	if got := eval[string](tb, `document.activeElement.name`); got != "password" {
		t.Errorf("focus after a failed sign-in is on %q, want the password", got)
	}
	tb.do(chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
	if got := eval[string](tb, `document.activeElement.name`); got != "login" {
		t.Errorf("Shift+Tab from the password went to %q", got)
	}
	if ring := eval[string](tb, `getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).outlineWidth`); ring != "solid 3px" {
		t.Errorf("keyboard focus ring is %q, want a visible 3px outline", ring)
	}
	tb.do(chromedp.KeyEvent("\t"))
	tb.fill(`input[name=password]`, testPassword)
	before := tb.nav()
	tb.do(chromedp.KeyEvent("\r"))
	tb.waitFor("upload page", `location.hash === '#/upload' && !!document.querySelector('main h1')`, 15*time.Second)
	tb.settled(before)
	if who := tb.text(`#whoami`); who != "Priya Raman" {
		t.Errorf("whoami = %q", who)
	}
	// An org admin sees the admin pages, not the course dashboard.
	nav := eval[[]string](tb, `[...document.querySelectorAll('#nav li')].filter(li => !li.hidden).map(li => li.textContent)`)
	if fmt.Sprint(nav) != "[Upload users Directory Users Declarations Audit log]" {
		t.Errorf("admin navigation = %v", nav)
	}
	tb.click(`#signout`)
	tb.waitFor("sign-in page after sign-out", `location.hash === '#/login' && !!document.querySelector('input[name=login]')`, 10*time.Second)
	// The cookie is gone: loading an admin page afresh lands on sign-in.
	tb.load("#/users")
	tb.waitFor("sign-in page after reload", `location.hash === '#/login' && !!document.querySelector('input[name=login]')`, 10*time.Second)
	// Signing in from there lands on the page that was asked for.
	tb.fill(`input[name=login]`, "priya.admin@TN.example.org")
	tb.fill(`input[name=password]`, testPassword)
	tb.do(chromedp.KeyEvent("\r"))
	tb.waitFor("the page asked for", `location.hash === '#/users' && !!document.querySelector('input[name=value]')`, 10*time.Second)
}

// testUsers: an org admin finds a user by email, sees masked contact
// details, organisations and roles, and blocks then unblocks them; a user
// of another tenant is reported as not found.
func testUsers(t *testing.T, root context.Context, srv *server, shots bool) {
	tb := newTab(t, root, srv)
	tb.signIn("priya.admin", testPassword)
	tb.open("#/users")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`input[name=value]`)))
	tb.checkAccessible("user search")
	tb.checkPhone("user search")

	// Another tenant's user does not exist for this admin; the message sits
	// next to the search field and the typed value stays.
	other := "anil.menon@kl.example.org"
	tb.do(chromedp.SendKeys(chromedp.CSS(`input[name=value]`), other))
	tb.click(`form button[type=submit]`)
	tb.waitFor("not-found message", `document.querySelector('[data-field=value] .field-error').textContent.includes('No user')`, 10*time.Second)
	if v := eval[string](tb, `document.querySelector('input[name=value]').value`); v != other {
		t.Errorf("search value lost after not-found: %q", v)
	}

	creator := srv.users["arun.creator"]
	tb.fill(`input[name=value]`, "ARUN.KUMAR@tn.example.org")
	tb.click(`form button[type=submit]`)
	tb.waitFor("profile", fmt.Sprintf(`location.hash === '#/users/%s' && !!document.querySelector('dl.profile')`, creator.ID), 10*time.Second)
	if h1 := tb.text(`main h1`); h1 != "Arun Kumar" {
		t.Errorf("profile heading = %q", h1)
	}
	email := tb.text(`[data-testid=masked-email]`)
	if email != creator.MaskedEmail || strings.Contains(email, "arun.kumar@") {
		t.Errorf("email shown as %q, want the mask %q", email, creator.MaskedEmail)
	}
	if phone := tb.text(`[data-testid=masked-phone]`); phone != creator.MaskedPhone || strings.Contains(phone, "9876500002") {
		t.Errorf("phone shown as %q, want the mask %q", phone, creator.MaskedPhone)
	}
	orgs := tb.text(`main .table-wrap tbody`)
	if !strings.Contains(orgs, "Tamil Nadu") || !strings.Contains(orgs, "CONTENT_CREATOR") {
		t.Errorf("organisations table = %q", orgs)
	}
	tb.checkAccessible("user profile")
	tb.checkPhone("user profile")
	if shots {
		tb.screenshot("user-profile", false)
	}

	// Block, with the inline confirmation, then unblock.
	tb.click(`.actions button.danger`)
	tb.do(chromedp.WaitVisible(chromedp.CSS(`#confirm-q`)))
	tb.click(`.actions button.danger`)
	tb.waitFor("blocked badge", `document.querySelector('dl.profile .badge').dataset.status === 'BLOCKED'`, 10*time.Second)
	u, err := srv.app.Registry.GetUser(context.Background(), rosterSystem(), creator.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != 0 {
		t.Errorf("after Block the user's status is %d", u.Status)
	}
	tb.click(`.actions button`)
	tb.do(chromedp.WaitVisible(chromedp.CSS(`#confirm-q`)))
	tb.click(`.actions button:not(.secondary)`)
	tb.waitFor("active badge", `document.querySelector('dl.profile .badge').dataset.status === 'ACTIVE'`, 10*time.Second)
	if u, _ := srv.app.Registry.GetUser(context.Background(), rosterSystem(), creator.ID); u.Status != 1 {
		t.Errorf("after Unblock the user's status is %d", u.Status)
	}

	// Every other kind of search lands on the right person.
	for _, c := range []struct {
		kind, value      string
		provider, idType string
		login, name      string
	}{
		{kind: "phone", value: "9876500003", login: "meena.mentor", name: "Meena Sundar"},
		{kind: "username", value: "priya.admin", login: "priya.admin", name: "Priya Raman"},
		{kind: "externalid", value: "TN-S-20417", provider: "TN", idType: "studentId", login: "learnera", name: "Lakshmi Narayanan"},
	} {
		tb.open("#/users")
		tb.selectOption(`select[name=type]`, c.kind)
		if tb.visible(`input[name=provider]`) != (c.kind == "externalid") {
			t.Errorf("search by %s: provider and ID type shown = %v", c.kind, !(c.kind == "externalid"))
		}
		tb.fill(`input[name=value]`, c.value)
		if c.kind == "externalid" {
			tb.fill(`input[name=provider]`, c.provider)
			tb.fill(`input[name=idType]`, c.idType)
		}
		tb.click(`form button[type=submit]`)
		want := srv.users[c.login].ID
		tb.waitFor("profile found by "+c.kind, fmt.Sprintf(`location.hash === '#/users/%s' && !!document.querySelector('dl.profile')`, want), 10*time.Second)
		if h1 := tb.text(`main h1`); h1 != c.name {
			t.Errorf("search by %s found %q, want %q", c.kind, h1, c.name)
		}
		if c.kind == "externalid" {
			ext := tb.text(`dl.profile`)
			if strings.Contains(ext, c.value) || !strings.Contains(ext, "studentid") {
				t.Errorf("external ids shown as %q: want the id masked, with its type", ext)
			}
		}
	}
}

// testRoles: each page is offered only to the roles that can use it, and
// asking for another page by its address says it is not available.
func testRoles(t *testing.T, root context.Context, srv *server) {
	notAvailable := func(tb *tab, who string) {
		t.Helper()
		for _, page := range []string{"#/upload", "#/users"} {
			tb.open(page)
			if h := tb.text(`main h1`); h != "Not available" {
				t.Errorf("%s opening %s sees %q, want Not available", who, page, h)
			}
			if tb.visible(`select[name=orgId]`) || tb.visible(`input[name=value]`) {
				t.Errorf("%s opening %s sees the admin form", who, page)
			}
		}
	}

	creator := newTab(t, root, srv)
	creator.signIn("arun.creator", testPassword)
	notAvailable(creator, "a course creator")

	// A learner with only the PUBLIC role has nothing to do here and is
	// told so, with no menu.
	learner := newTab(t, root, srv)
	learner.signIn("learnera", testPassword)
	if h := eval[string](learner, `location.hash`); h != "#/none" {
		t.Errorf("a learner lands on %q", h)
	}
	if msg := learner.text(`main .notice.info`); !strings.Contains(msg, "no role that uses this console") {
		t.Errorf("learner's note = %q", msg)
	}
	if nav := eval[[]string](learner, navItems); len(nav) != 0 {
		t.Errorf("a learner's menu = %v, want none", nav)
	}
	learner.open("#/courses")
	if h := learner.text(`main h1`); h != "Not available" {
		t.Errorf("a learner opening #/courses sees %q", h)
	}

	// The recorded creator of a course who no longer holds CONTENT_CREATOR
	// (only COURSE_MENTOR) sees the course but not the request, which the
	// server would refuse.
	former := newTab(t, root, srv)
	former.signIn("vijay.former", testPassword)
	former.waitFor("course list", `!!document.querySelector('a.course-title')`, 10*time.Second)
	if item := former.text(`.list li`); !strings.Contains(item, srv.formerCourse.Name) || !strings.Contains(item, "You created this course") {
		t.Errorf("former creator's course list item = %q", item)
	}
	former.click(`a.course-title`)
	former.waitFor("batches", fmt.Sprintf(`location.hash === '#/courses/%s' && document.querySelectorAll('tr[data-batch]').length === 1`, srv.formerCourse.ID), 10*time.Second)
	if former.visible(`#request-exhaust`) || eval[bool](former, `!!document.querySelector('input[name=password]')`) {
		t.Error("a creator without the CONTENT_CREATOR role is offered the User Profile Exhaust request")
	}
	if msg := former.text(`main .notice.info`); !strings.Contains(msg, "content creator role") {
		t.Errorf("former creator's notice = %q", msg)
	}
}

// navItems lists the visible entries of the main menu.
const navItems = `[...document.querySelectorAll('#nav li')].filter(li => !li.hidden && !li.closest('[hidden]')).map(li => li.textContent)`

// TestSignInSingleSignOnOnlyWhenBrowserFlowExists: with an identity
// provider whose tokens are accepted but no browser sign-in configured, the
// sign-in page offers no button that would lead nowhere.
func TestSignInSingleSignOnOnlyWhenBrowserFlowExists(t *testing.T) {
	srv := startServer(t, "sqlite", func(c *app.Config, _ string) {
		// Discovery happens on first use, so no provider needs to answer.
		c.OIDCIssuer, c.OIDCClientID = "https://idp.invalid/realms/tn", "roster-console"
	})
	tb := newTab(t, startBrowser(t), srv)
	tb.open("#/login")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)))
	tb.waitFor("auth config read", `document.getElementById('sso').dataset.checked === 'true'`, 10*time.Second)
	if tb.visible("#oidc-login") {
		t.Error("single sign-on button shown although the server offers no browser sign-in")
	}
}

// TestSignInWithSingleSignOn: a state user signs in through the state's
// identity provider (a fake one, in-process) and lands on the page they
// asked for; a refusal at the provider and an account Roster does not know
// come back as plain messages on the sign-in page.
func TestSignInWithSingleSignOn(t *testing.T) {
	idp := authtest.NewIdP(t)
	srv := startServer(t, "sqlite", func(c *app.Config, baseURL string) {
		c.OIDCIssuer, c.OIDCClientID, c.OIDCName = idp.URL, "roster-console", "Tamil Nadu SSO"
		c.OIDCProvider, c.OIDCIDType = ssoProvider, ssoIDType
		c.OIDCRedirectURL = baseURL + "/api/v1/auth/oidc/callback"
	})
	tb := newTab(t, startBrowser(t), srv)
	coursePage := "#/courses/" + srv.course.ID
	ssoButton := func() {
		t.Helper()
		tb.waitFor("single sign-on button", `!!document.getElementById('oidc-login')`, 10*time.Second)
		tb.click(`#oidc-login`)
	}

	// Refused at the provider: back on the sign-in page, told why.
	idp.Deny("access_denied")
	tb.open("#/login")
	ssoButton()
	tb.waitFor("refusal message", `location.hash === '#/login' && document.querySelector('form .notice.error').textContent.includes('did not complete')`, 15*time.Second)

	// A provider account that matches nobody in Roster.
	idp.SignInAs(map[string]any{"sub": "tn-0000", "preferred_username": "not.in.roster"})
	tb.open("#/login")
	ssoButton()
	tb.waitFor("unknown-user message", `location.hash === '#/login' && document.querySelector('form .notice.error').textContent.includes('not linked')`, 15*time.Second)

	// The mentor, asking for the course page first.
	idp.SignInAs(map[string]any{"sub": "tn-4711", "preferred_username": "meena.mentor"})
	tb.open(coursePage)
	tb.waitFor("sign-in page", `location.hash === '#/login'`, 10*time.Second)
	tb.waitFor("single sign-on button", `!!document.getElementById('oidc-login')`, 10*time.Second)
	if label := tb.text(`#oidc-login`); label != "Sign in with Tamil Nadu SSO" {
		t.Errorf("button says %q", label)
	}
	tb.checkAccessible("sign-in with single sign-on")
	ssoButton()
	tb.waitFor("the course page, signed in", fmt.Sprintf(`location.hash === '%s' && document.querySelectorAll('tr[data-batch]').length === 2`, coursePage), 15*time.Second)
	if who := tb.text(`#whoami`); who != "Meena Sundar" {
		t.Errorf("signed in as %q", who)
	}
	if q := idp.LastAuthorization(); q.Get("code_challenge_method") != "S256" {
		t.Errorf("authorization request without PKCE: %v", q)
	}
}
