// Package web serves Roster's web console: a single page written in plain
// HTML, CSS and JavaScript modules, embedded in the binary so the console
// works on closed networks and needs no build step. Everything the page
// shows comes from the JSON API under /api/v1; this package only serves the
// files, with headers that keep browsers from running anything else.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/i18n"
)

//go:embed static
var static embed.FS

// CSP allows scripts, styles, images and fetches from this origin only. No
// inline script or style is allowed, so injected markup cannot run code or
// restyle the page to fake a form; the console sets dynamic widths through
// the CSSOM, which CSP does not restrict.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// assetPrefix is followed by the version of the embedded files, so a new
// release never meets a stale cached script: index.html always names the
// current version and is itself revalidated on every load.
const assetPrefix = "/assets/"

type asset struct {
	body  []byte
	ctype string
	etag  string
}

type handler struct {
	version string
	index   asset
	assets  map[string]asset // by path below static/, e.g. "js/app.js"
}

// Handler returns the console. It answers "/" (and "/index.html") with the
// page and "/assets/<version>/..." with the embedded files; every other path
// is 404, because the API server mounts it as its catch-all.
func Handler() http.Handler {
	h, err := newHandler(static)
	if err != nil {
		// The files are compiled in; failing here means a broken build.
		panic(err)
	}
	return h
}

func newHandler(fsys fs.FS) (*handler, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	h := &handler{assets: map[string]asset{}}
	sum := sha256.New()
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum.Write([]byte(p))
		sum.Write(body)
		h.assets[p] = newAsset(p, body)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := addCatalogues(h, sum); err != nil {
		return nil, err
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]
	page, ok := h.assets["index.html"]
	if !ok {
		return nil, fs.ErrNotExist
	}
	delete(h.assets, "index.html")
	// Relative module imports inherit the versioned directory, so only the
	// page itself needs rewriting.
	page.body = bytes.ReplaceAll(page.body, []byte("{{ASSETS}}"), []byte(assetPrefix+h.version))
	h.index = newAsset("index.html", page.body)
	return h, nil
}

// addCatalogues serves each language's console texts as i18n/<lang>.json,
// built from internal/i18n's files, and counts them into the version so a
// changed translation is never served from a stale cache.
func addCatalogues(h *handler, sum hash.Hash) error {
	for _, lang := range i18n.Languages {
		body, err := json.Marshal(i18n.Console(lang))
		if err != nil {
			return err
		}
		p := "i18n/" + lang + ".json"
		sum.Write([]byte(p))
		sum.Write(body)
		h.assets[p] = newAsset(p, body)
	}
	return nil
}

func newAsset(name string, body []byte) asset {
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	// Not every system's MIME table knows these; browsers refuse to run a
	// module served with the wrong type.
	case ".js", ".mjs":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".html":
		ctype = "text/html; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	case ".csv":
		ctype = "text/csv; charset=utf-8"
	case ".txt":
		ctype = "text/plain; charset=utf-8"
	case ".woff2":
		ctype = "font/woff2"
	case ".json":
		ctype = "application/json; charset=utf-8"
	case ".webmanifest":
		ctype = "application/manifest+json"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	s := sha256.Sum256(body)
	return asset{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(s[:8]) + `"`}
}

// Version identifies the embedded files; it changes whenever one does.
func (h *handler) Version() string { return h.version }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		// The API server mounts the console as its catch-all, so unknown API
		// paths land here; API clients expect a problem document.
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"title":"Not Found","status":404,"detail":"no such API endpoint"}` + "\n"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	securityHeaders(w.Header())
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		// Revalidate every time: the page names the current asset version.
		h.serve(w, r, h.index, "no-cache")
	case p == "/favicon.ico":
		h.serveAsset(w, r, "favicon.svg", "public, max-age=86400")
	case strings.HasPrefix(p, assetPrefix):
		version, name, ok := strings.Cut(strings.TrimPrefix(p, assetPrefix), "/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		cache := "public, max-age=31536000, immutable"
		if version != h.version {
			// A page from an older release is still open: give it today's
			// file, but don't let a cache pin it under the old name.
			cache = "no-cache"
		}
		h.serveAsset(w, r, name, cache)
	default:
		http.NotFound(w, r)
	}
}

func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, name, cache string) {
	a, ok := h.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.serve(w, r, a, cache)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, a asset, cache string) {
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", cache)
	hd.Set("ETag", a.etag)
	// ServeContent handles If-None-Match, HEAD and ranges. No modification
	// time: replicas started at different times would disagree on it, while
	// the content hash in the ETag is the same everywhere.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

func securityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}
