package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

// attackPage is what another origin serves to a signed-in admin: a form
// that posts text/plain (no preflight, cookie attached) to block a user,
// scripts that post a CSV upload creating an ORG_ADMIN and a block with
// fetch, one of them with Roster's CSRF header (which needs a preflight
// Roster never grants), and an image that reads /me, which shows the
// cookie did ride along.
const attackPage = `<!doctype html><title>You have won</title>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="POST" enctype="text/plain" target="sink" action="%[1]s/api/v1/users/%[2]s/block"><input name="x" value="y"></form>
<img src="%[1]s/api/v1/me" alt="">
<script>
(async () => {
  // A 204 answer leaves the frame as it was, without a load event.
  const formSent = Promise.race([
    new Promise((r) => document.getElementById('sink').addEventListener('load', r, { once: true })),
    new Promise((r) => setTimeout(r, 3000))]);
  document.getElementById('f').submit();
  const fd = new FormData();
  fd.append('orgId', '%[3]s');
  fd.append('file', new Blob(['firstName,email,userName,password,roles\r\nEve,eve.forged@example.org,eve_forged,Upl0adPass1,ORG_ADMIN\r\n'], { type: 'text/csv' }), 'users.csv');
  const tries = [
    fetch('%[1]s/api/v1/uploads', { method: 'POST', body: fd, mode: 'no-cors', credentials: 'include' }),
    fetch('%[1]s/api/v1/users/%[2]s/block', { method: 'POST', mode: 'no-cors', credentials: 'include' }),
    fetch('%[1]s/api/v1/users/%[2]s/block', { method: 'POST', credentials: 'include', headers: { 'X-Roster-CSRF': '1' } }),
  ].map((p) => p.then(() => 'sent', () => 'refused'));
  window.outcomes = await Promise.all(tries);
  await formSent;
  document.body.dataset.done = 'true';
})();
</script>`

// testForgedRequests: a page of another origin (another port of the same
// host, so SameSite=Strict still attaches the cookie) cannot change
// anything with the admin's session.
func testForgedRequests(t *testing.T, root context.Context, srv *server) {
	tb := newTab(t, root, srv)
	tb.signIn("priya.admin", testPassword)
	admin, victim := srv.users["priya.admin"], srv.users["vijay.former"]

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, attackPage, srv.url, victim.ID, srv.tenantA.ID)
	}))
	t.Cleanup(evil.Close)
	if evil.URL == srv.url {
		t.Fatal("the attacker's page must be on another origin")
	}
	probes := strings.Count(srv.logs.String(), admin.ID)

	// A second tab of the same browser profile, as the victim's browser
	// would open it; its console errors (the refused preflight) are the
	// attack failing, not the console misbehaving.
	ctx, cancel := chromedp.NewContext(tb.ctx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	defer cancelTimeout()
	err := chromedp.Do(ctx, chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS(`body[data-done=true]`)))
	var outcomes []string
	if err == nil {
		outcomes, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.outcomes`))
	}
	if err != nil {
		t.Fatalf("attack page: %v", err)
	}
	if len(outcomes) != 3 || outcomes[2] != "refused" {
		t.Errorf("fetch outcomes %v: the request with the CSRF header was sent cross-origin", outcomes)
	}

	// The cookie was sent (the image's GET /me was served as the admin),
	// so only the CSRF defence stood between the page and a change.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(srv.logs.String(), admin.ID) <= probes {
		if time.Now().After(deadline) {
			t.Fatal("the attack page's requests carried no session cookie; the test proves nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctxb := context.Background()
	u, err := srv.app.Registry.GetUser(ctxb, roster.SystemPrincipal, victim.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != roster.StatusActive || u.IsDeleted {
		t.Fatalf("the forged requests blocked the victim: status %d, isDeleted %v", u.Status, u.IsDeleted)
	}
	if _, err := srv.app.Registry.LookupUserID(ctxb, registry.LookupQuery{Type: roster.LookupUsername, Value: "eve_forged"}); roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Fatalf("the forged upload created a user (lookup: %v)", err)
	}

	// The console itself still changes things with the same cookie.
	got := evalAwait[int](tb, fmt.Sprintf(`(async () => (await fetch('/api/v1/users/%s/unblock', { method: 'POST', headers: { 'X-Roster-CSRF': '1' } })).status)()`, victim.ID))
	if got != http.StatusNoContent {
		t.Fatalf("same-origin request with the header: status %d", got)
	}
}
