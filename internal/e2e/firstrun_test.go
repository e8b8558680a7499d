package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-dev/roster/internal/demo"
)

// A newcomer's first page load, before anyone signs in, shows nothing red
// in the browser's developer console: no script error and no failed
// request (before the fix every load logged a 401 from GET /me). Then the
// demo's creator signs in, a reload keeps her signed in, and a reload
// after signing out is clean again.
func TestFirstRunCleanConsole(t *testing.T) {
	srv := startServer(t, "sqlite")
	const pw = "Demo-firstrun2345"
	if _, err := demo.Load(context.Background(), srv.app.DB, srv.app.Registry, srv.app.Courses,
		demo.Options{Learners: 20, Password: pw}); err != nil {
		t.Fatal(err)
	}
	root := startBrowser(t)
	tb := newTab(t, root, srv)
	errs := recordConsoleErrors(tb)

	tb.load("")
	if got := eval[string](tb, `location.hash`); got != "#/login" {
		t.Fatalf("a fresh load landed on %q, want the sign-in page", got)
	}
	tb.noFailedRequests("a fresh page load")
	if e := errs.take(); len(e) > 0 {
		t.Fatalf("a fresh page load logged errors in the browser console:\n%s", strings.Join(e, "\n"))
	}

	tb.signIn("demo.creator", pw)
	if who := tb.text("#whoami"); !strings.Contains(who, "Kavya") {
		t.Fatalf("signed in as %q, want the demo creator Kavya", who)
	}
	// The hint cookie, not the HttpOnly session cookie, is what the page
	// can read.
	if c := eval[string](tb, `document.cookie`); !strings.Contains(c, "roster_signed_in=1") || strings.Contains(c, "roster_session") {
		t.Fatalf("document.cookie = %q, want the hint and not the session", c)
	}
	tb.load("")
	if tb.visible("#account") == false || strings.HasPrefix(eval[string](tb, `location.hash`), "#/login") {
		t.Fatal("a reload after signing in lost the session")
	}
	tb.noFailedRequests("a reload while signed in")

	tb.click("#signout")
	tb.waitFor("the sign-in form", `location.hash === '#/login' && !!document.querySelector('form input[name=login]')`, 15*time.Second)
	errs.take() // signing out may meet a 401 by design; the next load must not
	tb.load("")
	tb.noFailedRequests("a page load after signing out")
	if e := errs.take(); len(e) > 0 {
		t.Fatalf("a page load after signing out logged errors:\n%s", strings.Join(e, "\n"))
	}
}

// consoleErrors keeps every error the browser console shows, including
// the failed requests newTab's own check lets pass.
type consoleErrors struct {
	mu   sync.Mutex
	msgs []string
}

func recordConsoleErrors(tb *tab) *consoleErrors {
	ce := &consoleErrors{}
	console := chromedp.Console(tb.ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				ce.mu.Lock()
				ce.msgs = append(ce.msgs, m.String())
				ce.mu.Unlock()
			}
		}
	}()
	return ce
}

func (ce *consoleErrors) take() []string {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	m := ce.msgs
	ce.msgs = nil
	return m
}

// noFailedRequests reads the page's own record of what it fetched: a
// request answered 4xx or 5xx, or not answered at all, is a failure.
func (tb *tab) noFailedRequests(when string) {
	tb.t.Helper()
	bad := eval[[]string](tb, `performance.getEntriesByType('resource')
		.filter((e) => e.responseStatus >= 400 || (e.responseStatus === 0 && e.transferSize === 0 && e.decodedBodySize === 0 && e.name.includes('/api/')))
		.map((e) => e.name + ' ' + e.responseStatus)`)
	if len(bad) > 0 {
		tb.t.Fatalf("%s made failed requests: %v", when, bad)
	}
}
