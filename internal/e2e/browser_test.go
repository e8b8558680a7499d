package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// EnvUpdateScreenshots makes the tests rewrite docs/screenshots/*.png. It is
// off by default so running the suite (and CI) never dirties the tree.
const EnvUpdateScreenshots = "ROSTER_UPDATE_SCREENSHOTS"

// chromiumPath finds Debian's chromium (what .ci/run installs).
func chromiumPath() string {
	if p := os.Getenv("ROSTER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needBrowser skips when no Chromium is installed, except in CI, where a
// missing browser must fail rather than let the console go untested.
func needBrowser(t *testing.T) string {
	t.Helper()
	p := chromiumPath()
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found; CI must run the browser tests (apt-get install chromium)")
		}
		t.Skip("chromium not found; skipping browser tests")
	}
	return p
}

// startBrowser launches one headless Chromium for a test; tabs opened with
// newTab get separate cookie jars, so several users can be signed in at once.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := needBrowser(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Do binds the browser's life to its context, so it gets the
	// long-lived one, not a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tab is one signed-in (or not yet) browser session.
type tab struct {
	t   *testing.T
	ctx context.Context
	srv *server
	dl  string // download directory

	mu       sync.Mutex
	problems []string // console errors, exceptions, CSP violations
}

// newTab opens a tab in a fresh browser context (own cookies) with
// downloads saved into a temporary directory, and records every script
// error the page logs; the test fails on any at cleanup.
func newTab(t *testing.T, root context.Context, srv *server) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, srv: srv, dl: t.TempDir()}
	console := chromedp.Console(ctx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:         browser.SetDownloadBehaviorBehaviorAllowAndName,
		BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
		DownloadPath:     tb.dl,
		EventsEnabled:    new(true),
	})
	if err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && !expectedNetworkError(m)) {
				tb.mu.Lock()
				tb.problems = append(tb.problems, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, p := range tb.problems {
			t.Errorf("browser console: %s", p)
		}
	})
	return tb
}

// expectedNetworkError: Chrome logs every 4xx answer to fetch as a console
// error; the console expects some (401 before sign-in, 422 on a bad form,
// 403 for another tenant, 412 for a stale edit) and shows them to the user
// itself.
func expectedNetworkError(m chromedp.ConsoleMessage) bool {
	if m.Source != "network" {
		return false
	}
	for _, s := range []string{"status of 401", "status of 403", "status of 404", "status of 409", "status of 412", "status of 422"} {
		if strings.Contains(m.Text, s) {
			return true
		}
	}
	return false
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.fail("%v", err)
	}
}

// fail stops the test with a screenshot of the page, which is usually the
// quickest way to see why.
func (tb *tab) fail(format string, args ...any) {
	tb.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(tb.ctx), 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		p := filepath.Join(os.TempDir(), fmt.Sprintf("roster-e2e-%s.png", strings.ReplaceAll(tb.t.Name(), "/", "_")))
		if os.WriteFile(p, png, 0o644) == nil {
			msg += "\nscreenshot: " + p
		}
	}
	if body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); err == nil {
		msg += "\npage text:\n" + body
	}
	tb.t.Fatal(msg)
}

// open goes to a page of the console and waits until it is drawn. Within
// the console it changes the hash, as a link would, so what the page keeps
// in memory (the chosen organisation, the last search) survives; opening
// the page already shown draws it again.
func (tb *tab) open(hash string) {
	tb.t.Helper()
	before := eval[int](tb, fmt.Sprintf(`(() => { const m = document.getElementById('main');
		return location.origin === %q && m && m.dataset.nav ? Number(m.dataset.nav) : -1; })()`, tb.srv.url))
	if before < 0 {
		tb.do(chromedp.Navigate(tb.srv.url + "/" + hash))
	} else {
		eval[bool](tb, fmt.Sprintf(`(() => { if (location.hash === %q) window.dispatchEvent(new HashChangeEvent('hashchange'));
			else location.hash = %q; return true; })()`, hash, hash))
	}
	tb.settled(before)
}

// load opens a page in a new document, as typing its address would: what
// the console kept in memory is gone and only the cookie remains.
func (tb *tab) load(hash string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate("about:blank"), chromedp.Navigate(tb.srv.url+"/"+hash))
	tb.settled(-1)
}

// settled waits until the console has drawn a page newer than navigation
// number after (see route in app.js), for the hash now in the address bar
// (after any redirect), and is no longer busy loading it. Without it a
// test could read or click the previous page, still on screen.
func (tb *tab) settled(after int) {
	tb.t.Helper()
	tb.waitFor("the page to be drawn", fmt.Sprintf(`(() => { const m = document.getElementById('main');
		if (!m || !m.dataset.nav || m.getAttribute('aria-busy') === 'true') return false;
		const path = (location.hash.replace(/^#/, '') || '/').split('?')[0];
		return Number(m.dataset.nav) > %d && m.dataset.route === path; })()`, after), 15*time.Second)
}

// nav is the console's navigation number (see settled).
func (tb *tab) nav() int {
	tb.t.Helper()
	return eval[int](tb, `Number((document.getElementById('main') || { dataset: {} }).dataset.nav || -1)`)
}

// click clicks an element with the DOM's click() once it is rendered and
// enabled. Unlike a synthetic mouse click at the element's coordinates it
// cannot land on whatever a late layout change (a viewport reset, a
// message appearing above) moved there.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.waitFor("clickable "+sel, fmt.Sprintf(`(() => { const e = document.querySelector(%q);
		if (!e || e.disabled || e.closest('[hidden]') || !(e.offsetWidth || e.offsetHeight || e.getClientRects().length)) return false;
		e.click(); return true; })()`, sel), 10*time.Second)
}

// key presses keys on whatever has the focus, as a keyboard user would.
func (tb *tab) key(keys string, opts ...chromedp.KeyOption) {
	tb.t.Helper()
	tb.do(chromedp.KeyEvent(keys, opts...))
}

// focused describes the focused element: its name, else its id, else its
// tag and text.
func (tb *tab) focused() string {
	tb.t.Helper()
	return eval[string](tb, `(() => { const e = document.activeElement; if (!e) return '';
		return e.name || e.id || (e.tagName.toLowerCase() + ':' + e.textContent.trim().slice(0, 60)); })()`)
}

// evalAwait evaluates an expression whose value is a promise.
func evalAwait[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.fail("eval %s: %v", expr, err)
	}
	return v
}

// dropFile drags a file from outside the browser onto sel: dragenter,
// dragover and drop events carrying a DataTransfer with the file, as the
// browser sends them. It fails unless the page accepted the drop (by
// cancelling dragover and drop, without which no browser delivers it).
func (tb *tab) dropFile(sel, path, mimeType string) {
	tb.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.t.Fatal(err)
	}
	ok := eval[bool](tb, fmt.Sprintf(`(() => {
		const bin = atob(%q); const bytes = new Uint8Array(bin.length);
		for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
		const dt = new DataTransfer();
		dt.items.add(new File([bytes], %q, { type: %q }));
		const target = document.querySelector(%q);
		const fire = (type) => { const ev = new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }); target.dispatchEvent(ev); return ev.defaultPrevented; };
		fire('dragenter');
		const over = fire('dragover');
		return over && fire('drop'); })()`, base64.StdEncoding.EncodeToString(b), filepath.Base(path), mimeType, sel))
	if !ok {
		tb.fail("%s did not accept a dropped file", sel)
	}
}

// chooseFileWithKeyboard presses Space on the focused file input and
// answers the file chooser that opens with path, as a keyboard user
// picking a file in the system dialog.
func (tb *tab) chooseFileWithKeyboard(path string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.SetInterceptFileChooserDialog, page.SetInterceptFileChooserDialogParams{Enabled: true}); err != nil {
		tb.fail("intercept file chooser: %v", err)
	}
	defer chromedp.Call(context.WithoutCancel(tb.ctx), page.SetInterceptFileChooserDialog, page.SetInterceptFileChooserDialogParams{Enabled: false})
	opened := chromedp.Events(ctx, page.FileChooserOpened)
	tb.key(" ")
	for ev, err := range opened {
		if err != nil {
			tb.fail("no file chooser opened by Space on %s: %v", tb.focused(), err)
		}
		if _, err := chromedp.Call(ctx, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: []string{path}, BackendNodeID: ev.BackendNodeID}); err != nil {
			tb.fail("choose %s: %v", path, err)
		}
		return
	}
}

// eval runs a JavaScript expression and decodes its value.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.fail("eval %s: %v", expr, err)
	}
	return v
}

// waitFor evaluates a JavaScript predicate every 100ms until it is true.
// Evaluation errors are retried, not fatal: a navigation (sign-in through
// the identity provider, a download) replaces the page's script context
// while the test waits.
func (tb *tab) waitFor(what, predicate string, timeout time.Duration) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](predicate))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) || tb.ctx.Err() != nil {
			if lastErr == nil {
				lastErr = errors.New("still false")
			}
			tb.fail("waiting for %s: %v", what, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fill replaces a field's text by typing, as a user who selects what is
// there and types over it.
func (tb *tab) fill(sel, text string) {
	tb.t.Helper()
	eval[bool](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.focus(); e.select(); return true; })()`, sel))
	tb.do(chromedp.KeyEvent("\b"), chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		tb.fail("text of %s: %v", sel, err)
	}
	return s
}

// visible reports whether an element is present and rendered.
func (tb *tab) visible(sel string) bool {
	tb.t.Helper()
	return eval[bool](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) && !e.closest('[hidden]'); })()`, sel))
}

// checkAccessible fails the test for controls without a label (a screen
// reader would announce them as "edit text" or "button") and for images
// without alt text, and for a page wider than the screen (things a user on
// a phone could not reach without scrolling the whole page sideways).
func (tb *tab) checkAccessible(page string) {
	tb.t.Helper()
	unlabelled := eval[[]string](tb, `[...document.querySelectorAll('input, select, textarea, button, a[href]')]
		.filter(e => !e.closest('[hidden]') && e.type !== 'hidden')
		.filter(e => {
			if (e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')) return false;
			if (e.labels && e.labels.length) return false;
			if (e.tagName === 'BUTTON' || e.tagName === 'A') return !e.textContent.trim();
			return true;
		})
		.map(e => e.outerHTML.slice(0, 120))`)
	for _, u := range unlabelled {
		tb.t.Errorf("%s: control without a label: %s", page, u)
	}
	if n := eval[int](tb, `document.querySelectorAll('img:not([alt])').length`); n > 0 {
		tb.t.Errorf("%s: %d images without alt text", page, n)
	}
	if w := eval[int](tb, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 0 {
		tb.t.Errorf("%s: the page is %dpx wider than the window", page, w)
	}
}

// signIn fills the sign-in form as a user would and waits for the console
// to show the signed-in user's start page.
func (tb *tab) signIn(login, password string) {
	tb.t.Helper()
	tb.open("#/login")
	tb.do(
		chromedp.WaitVisible(chromedp.CSS(`form input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), login),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
	)
	before := tb.nav()
	tb.click(`form button[type=submit]`)
	tb.waitFor("the signed-in page", `!document.getElementById('account').hidden && !location.hash.startsWith('#/login') && !!document.querySelector('main h1')`, 15*time.Second)
	tb.settled(before)
}

// download clicks sel and returns the saved file's path and the name the
// server suggested.
func (tb *tab) download(sel string) (path, name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	begin := chromedp.BrowserEvents(ctx, browser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	tb.click(sel)
	var guid string
	for ev, err := range begin {
		if err != nil {
			tb.fail("no download started by %s: %v", sel, err)
		}
		guid, name = ev.GUID, ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			tb.fail("download of %s did not finish: %v", name, err)
		}
		if ev.GUID != guid {
			continue
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			return filepath.Join(tb.dl, guid), name
		case browser.DownloadProgressStateCanceled:
			tb.fail("download of %s was cancelled", name)
		}
	}
	tb.fail("download of %s: %v", name, errors.New("event stream ended"))
	return "", ""
}

// phoneWidth runs fn with the tab emulating a 375px-wide phone screen.
// The browser applies a new viewport asynchronously, so each change waits
// until the page has been laid out at the new width; otherwise a check
// could measure, or a later click land on, the layout of the other width.
func (tb *tab) phoneWidth(fn func()) {
	tb.t.Helper()
	wide := eval[int](tb, `window.innerWidth`)
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
		tb.fail("viewport: %v", err)
	}
	defer func() {
		ctx := context.WithoutCancel(tb.ctx)
		_, err1 := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		_, err2 := chromedp.Call(ctx, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: false})
		if err := errors.Join(err1, err2); err != nil {
			tb.fail("reset viewport: %v", err)
		}
		if !tb.t.Failed() {
			tb.laidOutAt(wide)
		}
	}()
	tb.laidOutAt(375)
	fn()
}

// laidOutAt waits until the window is width CSS pixels wide and two
// animation frames have passed, so style, layout and paint at that width
// are done.
func (tb *tab) laidOutAt(width int) {
	tb.t.Helper()
	tb.waitFor(fmt.Sprintf("a %dpx wide window", width), fmt.Sprintf(`window.innerWidth === %d`, width), 10*time.Second)
	evalAwait[bool](tb, `new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok(true))))`)
}

// checkPhone runs checkAccessible at phone width.
func (tb *tab) checkPhone(page string) {
	tb.t.Helper()
	tb.phoneWidth(func() { tb.checkAccessible(page + " at 375px") })
}

// screenshot saves the page into docs/screenshots when asked to (see
// EnvUpdateScreenshots); phone takes it at 375px width.
func (tb *tab) screenshot(name string, phone bool) {
	tb.t.Helper()
	if os.Getenv(EnvUpdateScreenshots) == "" {
		return
	}
	if phone {
		tb.phoneWidth(func() { tb.screenshot(name, false) })
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	// Blur so the picture shows the page, not wherever the test's last
	// click left the focus ring; then let the layout settle.
	_ = chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`), chromedp.Sleep(150*time.Millisecond))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.fail("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}
