package web

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/i18n"
)

// The console's catalogues are served next to its scripts, one per
// language, in that language.
func TestCataloguesAreServed(t *testing.T) {
	h, err := newHandler(static)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range i18n.Languages {
		res := get(t, h, "/assets/"+h.Version()+"/i18n/"+lang+".json")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("%s: %d %s", lang, res.StatusCode, res.Header.Get("Content-Type"))
		}
		var cat map[string]any
		if err := json.Unmarshal([]byte(body(t, res)), &cat); err != nil {
			t.Fatal(err)
		}
		if want := i18n.T(lang, "ui_signin_title", nil); cat["ui_signin_title"] != want {
			t.Errorf("%s: ui_signin_title = %v, want %s", lang, cat["ui_signin_title"], want)
		}
	}
}

// keyUses finds the keys the console names: t('ui_…') in scripts and
// data-i18n / data-i18n-title in the page.
var keyUses = regexp.MustCompile(`\bt\(\s*'(ui_\w+)'|data-i18n(?:-title)?="(ui_\w+)"`)

// TestConsoleKeysExist fails when a script or the page names a key the
// catalogue lacks (every language has every English key, see
// internal/i18n), so a typo shows here rather than as a raw key on screen.
func TestConsoleKeysExist(t *testing.T) {
	known := i18n.Console(i18n.Default)
	n := 0
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".html")) {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		for _, m := range keyUses.FindAllStringSubmatch(string(b), -1) {
			key := m[1] + m[2]
			n++
			if _, ok := known[key]; !ok {
				t.Errorf("%s uses %s, which internal/i18n/locales/en.toml lacks", p, key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 30 {
		t.Errorf("found only %d uses of console keys; the pattern no longer matches the code", n)
	}
}
