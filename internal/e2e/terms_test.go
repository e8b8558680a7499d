package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/storetest"
)

// TestTermsAtSignIn: after new org admin terms are published, an admin
// who signs in sees the accept page before anything else, cannot pass it
// without ticking the box, accepts, and lands on the page they wanted; the
// acceptance is recorded in the seed's allTncAccepted.
func TestTermsAtSignIn(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv := startServer(t, engine)
			ctx := context.Background()
			if _, err := srv.app.Registry.PublishTnc(ctx, roster.SystemPrincipal, roster.TncOrgAdmin, "3.6.0",
				"https://example.org/terms/org-admin-3.6.0.html"); err != nil {
				t.Fatal(err)
			}
			tb := newTab(t, startBrowser(t), srv)
			tb.signIn("priya.admin", testPassword)
			tb.waitFor("the accept page", `location.hash === '#/terms' && !!document.querySelector('#tnc-orgAdminTnc')`, 15*time.Second)
			if h := tb.text(`main h1`); h != "Accept the terms to continue" {
				t.Errorf("heading %q", h)
			}
			if got := tb.text(`main section[data-kind=orgAdminTnc]`); !strings.Contains(got, "version 3.6.0") {
				t.Errorf("terms card says %q", got)
			}
			if href := eval[string](tb, `document.querySelector('section[data-kind=orgAdminTnc] a').href`); href != "https://example.org/terms/org-admin-3.6.0.html" {
				t.Errorf("link to the text: %q", href)
			}
			tb.checkAccessible("terms")
			tb.checkPhone("terms")
			if engine == "sqlite" {
				tb.screenshot("terms-accept", false)
			}
			// Another page asked for by address still shows the terms.
			tb.open("#/users")
			tb.waitFor("the accept page again", `location.hash === '#/terms' && !!document.querySelector('#tnc-accept')`, 10*time.Second)

			tb.click(`#tnc-accept`)
			tb.waitFor("the unticked message", `document.querySelector('main form .notice.error').textContent.includes('Tick every box')`, 5*time.Second)
			tb.click(`#tnc-orgAdminTnc`)
			before := tb.nav()
			tb.click(`#tnc-accept`)
			tb.waitFor("the page asked for", `location.hash === '#/users' && !!document.querySelector('input[name=value]')`, 15*time.Second)
			tb.settled(before)

			u, err := srv.app.Registry.GetUser(ctx, roster.SystemPrincipal, srv.users["priya.admin"].ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.AllTncAccepted[roster.TncOrgAdmin]; got.Version != "3.6.0" || got.TncAcceptedOn == "" {
				t.Errorf("allTncAccepted = %+v", u.AllTncAccepted)
			}
		})
	}
}
