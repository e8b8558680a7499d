package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/notify/notifytest"
	"github.com/roster-dev/roster/internal/storetest"
)

// TestSignUp: a visitor finds sign-up from the sign-in page, fills the
// form in Chromium, reads the code from the mail server (mailpit, a real
// SMTP server) as they would from their inbox, activates the account and
// signs in with it.
func TestSignUp(t *testing.T) {
	mp := notifytest.NewMailpit(t)
	for _, engine := range storetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv := startServer(t, engine, func(c *app.Config, _ string) {
				c.SMTPAddr, c.SMTPFrom, c.SMTPTLS = mp.SMTPAddr, "roster@example.org", "none"
			})
			ctx := context.Background()
			state, err := srv.app.Registry.CreateLocation(ctx, roster.SystemPrincipal, roster.Location{Code: "29", Name: "Karnataka", Type: roster.LocationState})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.app.Registry.CreateLocation(ctx, roster.SystemPrincipal, roster.Location{Code: "2901", Name: "Bengaluru Urban", Type: roster.LocationDistrict, ParentID: state.ID}); err != nil {
				t.Fatal(err)
			}
			root := startBrowser(t)
			tb := newTab(t, root, srv)
			id := roster.NewID()
			addr := "lakshmi." + id[len(id)-8:] + "@example.org"
			const pw = "Lakshmi-signs-up-1"

			tb.open("#/login")
			before := tb.nav()
			tb.click("#signup-link")
			tb.settled(before)
			tb.do(chromedp.WaitVisible(chromedp.CSS(`#signup-form input[name=firstName]`)))
			tb.fill(`#signup-form input[name=firstName]`, "Lakshmi")
			tb.fill(`#signup-form input[name=lastName]`, "Iyer")
			tb.fill(`#signup-form input[name=contact]`, addr)
			tb.fill(`#signup-form input[name=password]`, pw)
			tb.fill(`#signup-form input[name=yearOfBirth]`, strconv.Itoa(time.Now().Year()-34))
			eval[bool](tb, `(() => { const s = document.querySelector('#signup-form select[name=state]'); s.value = '29'; s.dispatchEvent(new Event('change')); return true; })()`)
			tb.waitFor("the districts of the state", `!!document.querySelector('#signup-form select[name=profileLocation] option[value="2901"]')`, 10*time.Second)
			eval[bool](tb, `(() => { document.querySelector('#signup-form select[name=profileLocation]').value = '2901'; return true; })()`)
			tb.checkAccessible("sign-up")
			tb.checkPhone("sign-up")
			// Without the terms accepted the form says so next to them.
			tb.click(`#signup-form button[type=submit]`)
			tb.waitFor("the terms message", `document.querySelector('[data-field=tncAcceptedVersion] .field-error').textContent !== ''`, 10*time.Second)
			tb.click(`#signup-form input[type=checkbox]`)
			if tb.text(`[data-field=tncAcceptedVersion] .field-error`) != "" {
				t.Error("the terms message stays after the terms were accepted")
			}
			tb.screenshot("sign-up", false)
			tb.click(`#signup-form button[type=submit]`)
			tb.do(chromedp.WaitVisible(chromedp.CSS(`#verify-form input[name=code]`)))
			tb.checkAccessible("sign-up code")

			code := mp.Code(t, addr)
			tb.fill(`#verify-form input[name=code]`, code)
			tb.click(`#verify-form button[type=submit]`)
			tb.do(chromedp.WaitVisible(chromedp.CSS(`#signup-done`)))
			tb.signIn(addr, pw)
			if got := tb.text("#whoami"); got != "Lakshmi Iyer" {
				t.Fatalf("signed in as %q", got)
			}
		})
	}
}
