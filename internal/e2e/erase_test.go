package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/storetest"
)

// An admin erases a user from the profile page: the section explains what
// goes and what stays, asks for the username and the admin's own
// password, and afterwards the profile shows an erased user with nothing
// personal, who can no longer sign in.
func TestEraseUserFromProfile(t *testing.T) {
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv := startServer(t, engine)
			root := startBrowser(t)
			ctx := context.Background()
			u, err := srv.app.Registry.CreateUser(ctx, roster.SystemPrincipal, registry.NewUser{
				User:     roster.User{Username: "ravi.leaving", FirstName: "Ravi", LastName: "Shankar", Email: "ravi.s@tn.example.org", Phone: "9876500077"},
				Password: testPassword, OrgID: srv.schoolA.ID,
			})
			if err != nil {
				t.Fatal(err)
			}

			tb := newTab(t, root, srv)
			tb.signIn("priya.admin", testPassword)
			tb.open("#/users/" + u.ID)
			tb.do(chromedp.WaitVisible(chromedp.CSS(`[data-testid=erase-start]`)))
			tb.click(`[data-testid=erase-start]`)
			tb.do(chromedp.WaitVisible(chromedp.CSS(`input[name=confirm]`)))
			tb.checkAccessible("erase confirmation")
			if engine == "sqlite" {
				tb.screenshot("user-erase", false)
			}

			// A wrong username or password erases nothing, and says why.
			tb.fill(`input[name=confirm]`, "someone.else")
			tb.fill(`input[name=password]`, testPassword)
			tb.click(`form button.danger[type=submit]`)
			tb.waitFor("confirmation error", `document.querySelector('[data-field=confirm] .field-error').textContent.includes('ravi.leaving')`, 10*time.Second)
			tb.fill(`input[name=confirm]`, "ravi.leaving")
			tb.fill(`input[name=password]`, "not-my-password")
			tb.click(`form button.danger[type=submit]`)
			tb.waitFor("password error", `document.querySelector('[data-field=password] .field-error').textContent.includes('not your password')`, 10*time.Second)
			if got, err := srv.app.Registry.GetUser(ctx, roster.SystemPrincipal, u.ID); err != nil || got.ErasedDate != nil {
				t.Fatalf("a refused erasure erased: %v %v", err, got.ErasedDate)
			}

			tb.fill(`input[name=password]`, testPassword)
			tb.click(`form button.danger[type=submit]`)
			tb.waitFor("erased profile", fmt.Sprintf(`location.hash === '#/users/%s' && document.querySelector('dl.profile .badge')?.dataset.status === 'ERASED'`, u.ID), 10*time.Second)
			if h1 := tb.text(`main h1`); h1 != "Erased user" {
				t.Errorf("heading of the erased profile = %q", h1)
			}
			if email := tb.text(`[data-testid=masked-email]`); email != "—" {
				t.Errorf("erased user's email shown as %q", email)
			}
			if tb.visible(`[data-testid=erase-start]`) {
				t.Error("an erased user is offered for erasure again")
			}
			got, err := srv.app.Registry.GetUser(ctx, roster.SystemPrincipal, u.ID)
			if err != nil || got.ErasedDate == nil || got.Email != "" || got.FirstName != "" || len(got.Memberships) != 1 {
				t.Fatalf("after erasure: %v %+v", err, got)
			}
			if _, err := srv.app.Registry.Authenticate(ctx, "ravi.s@tn.example.org", testPassword); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
				t.Errorf("the erased user signs in: %v", err)
			}
		})
	}
}
