package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantSecurityHeaders(t *testing.T, res *http.Response, path string) {
	t.Helper()
	if got := res.Header.Get("Content-Security-Policy"); got != CSP {
		t.Errorf("%s: CSP = %q, want %q", path, got, CSP)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options = %q", path, got)
	}
	if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("%s: X-Frame-Options = %q", path, got)
	}
}

// The policy is the page's main defence against injected script: it must
// not be loosened by accident.
func TestCSPIsStrict(t *testing.T) {
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*", "data: 'self'; script"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP contains %q: %s", bad, CSP)
		}
	}
	for _, need := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(CSP, need) {
			t.Errorf("CSP lacks %q: %s", need, CSP)
		}
	}
}

func TestEveryAssetServedWithTypeCacheAndCSP(t *testing.T) {
	h := Handler().(*handler)
	res := get(t, h, "/")
	page := body(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("GET / = %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("GET / Content-Type = %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET / Cache-Control = %q, want no-cache", cc)
	}
	wantSecurityHeaders(t, res, "/")
	if strings.Contains(page, "{{ASSETS}}") {
		t.Error("index.html still holds the {{ASSETS}} placeholder")
	}

	want := map[string]string{
		".js":    "text/javascript; charset=utf-8",
		".css":   "text/css; charset=utf-8",
		".svg":   "image/svg+xml",
		".woff2": "font/woff2",
		".txt":   "text/plain; charset=utf-8",
	}
	static, _ := fs.Sub(static, "static")
	n := 0
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "index.html" {
			return err
		}
		n++
		url := "/assets/" + h.Version() + "/" + p
		res := get(t, h, url)
		b := body(t, res)
		if res.StatusCode != 200 {
			t.Errorf("GET %s = %d", url, res.StatusCode)
			return nil
		}
		ext := p[strings.LastIndex(p, "."):]
		wt, ok := want[ext]
		if !ok {
			t.Errorf("%s: no expected content type for %s files; add one to the test and to newAsset", p, ext)
		} else if got := res.Header.Get("Content-Type"); got != wt {
			t.Errorf("%s: Content-Type = %q, want %q", p, got, wt)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control = %q", p, cc)
		}
		if res.Header.Get("ETag") == "" {
			t.Errorf("%s: no ETag", p)
		}
		wantSecurityHeaders(t, res, p)
		orig, _ := fs.ReadFile(static, p)
		if b != string(orig) {
			t.Errorf("%s: body differs from the embedded file", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("only %d assets embedded", n)
	}
}

// Everything the page loads must come from this server: no CDN, no font
// service, nothing a closed network cannot reach.
func TestNothingLoadedFromElsewhere(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import\s+url\(\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|import\s+[^;]*from\s+["'](https?:)?//|fetch\(\s*["'](https?:)?//`)
	static, _ := fs.Sub(static, "static")
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".svg") {
			return err
		}
		b, _ := fs.ReadFile(static, p)
		if m := external.Find(b); m != nil {
			t.Errorf("%s loads something from another origin: %q", p, m)
		}
		// Inline handlers and style attributes would be blocked by the CSP,
		// silently breaking the page.
		if strings.HasSuffix(p, ".html") {
			if m := regexp.MustCompile(`(?i)\son[a-z]+\s*=|\sstyle\s*=|<script>|<style`).Find(b); m != nil {
				t.Errorf("%s has inline script or style the CSP would block: %q", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConditionalAndStaleRequests(t *testing.T) {
	h := Handler().(*handler)
	res := get(t, h, "/assets/"+h.Version()+"/app.css")
	etag := res.Header.Get("ETag")
	res = get(t, h, "/assets/"+h.Version()+"/app.css", "If-None-Match", etag)
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", res.StatusCode)
	}
	// A page left open across an upgrade asks for the old version: it gets
	// today's file, never cached under the old name.
	res = get(t, h, "/assets/0123456789ab/app.css")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("old version: status %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/nope", "/api/v1/nothing", "/assets/", "/assets/x", "/assets/" + h.(*handler).Version() + "/missing.js", "/assets/v/../index.html"} {
		if res := get(t, h, p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
	if ct := get(t, h, "/api/v1/nothing").Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("unknown API path answered as %q, want a problem document", ct)
	}
	apiPost := httptest.NewRecorder()
	h.ServeHTTP(apiPost, httptest.NewRequest(http.MethodPost, "/api/v1/nothing", nil))
	if apiPost.Code != http.StatusNotFound {
		t.Errorf("POST to an unknown API path = %d, want 404", apiPost.Code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", rec.Code)
	}
	res := get(t, h, "/index.html")
	if res.StatusCode != 200 {
		t.Errorf("GET /index.html = %d", res.StatusCode)
	}
}

// The version must follow the content, or browsers would keep running an
// old script after an upgrade.
func TestVersionFollowsContent(t *testing.T) {
	mk := func(js string) string {
		h, err := newHandler(fstest.MapFS{
			"static/index.html": {Data: []byte(`<script src="{{ASSETS}}/a.js"></script>`)},
			"static/a.js":       {Data: []byte(js)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := body(t, get(t, h, "/")); !strings.Contains(got, "/assets/"+h.Version()+"/a.js") {
			t.Errorf("page does not name the versioned asset: %s", got)
		}
		return h.Version()
	}
	if mk("one") == mk("two") {
		t.Error("different content, same version")
	}
	if mk("one") != mk("one") {
		t.Error("same content, different version")
	}
}
