// Package i18n holds every translated text of Roster: one catalogue file per
// language in locales/ (English, Hindi, Tamil), read at start-up into a
// go-i18n bundle with CLDR plural rules. English is the source: services
// keep writing their English message constants, and the edges (problem
// bodies, the upload result CSV, messages sent to users, the console's
// catalogue) translate them here. Field and column names are never
// translated: they are names the seeds define.
package i18n

import (
	"context"
	"embed"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.toml
var locales embed.FS

// Default is the language of every text nobody asked otherwise for.
const Default = "en"

// Languages are the supported languages, by their BCP 47 base code; the
// first is the default.
var Languages = []string{"en", "hi", "ta"}

// Names are the languages in their own script, for the console's switcher.
var Names = map[string]string{"en": "English", "hi": "हिन्दी", "ta": "தமிழ்"}

// Cookie and Query name the request's explicit choice, which wins over
// Accept-Language: the console sets the cookie when the user picks a language.
const (
	Cookie = "roster_lang"
	Query  = "lang"
)

var matcher = language.NewMatcher([]language.Tag{language.English, language.Hindi, language.Tamil})

type catalogue struct {
	bundle *goi18n.Bundle
	// raw holds each file's messages as written, key -> string or plural
	// forms, for the completeness test and the console's JSON.
	raw map[string]map[string]any
	// byText finds the key of an English text, for messages that services
	// write in English; patterns do the same for texts with placeholders.
	byText   map[string]string
	patterns []pattern
	locs     map[string]*goi18n.Localizer
}

type pattern struct {
	re    *regexp.Regexp
	key   string
	names []string
}

var load = sync.OnceValue(func() *catalogue {
	c, err := parse()
	if err != nil {
		// The files are compiled in; failing here is a broken build.
		panic(err)
	}
	return c
})

var placeholderRE = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

func parse() (*catalogue, error) {
	c := &catalogue{
		bundle: goi18n.NewBundle(language.English),
		raw:    map[string]map[string]any{},
		byText: map[string]string{},
		locs:   map[string]*goi18n.Localizer{},
	}
	c.bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, lang := range Languages {
		name := "locales/" + lang + ".toml"
		b, err := locales.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if _, err := c.bundle.ParseMessageFileBytes(b, name); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		raw := map[string]any{}
		if err := toml.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		c.raw[lang] = raw
		c.locs[lang] = goi18n.NewLocalizer(c.bundle, lang, Default)
	}
	for key, v := range c.raw[Default] {
		s, ok := v.(string)
		if !ok || !strings.HasPrefix(key, "msg_") {
			continue
		}
		if !placeholderRE.MatchString(s) {
			c.byText[s] = key
			continue
		}
		p := pattern{key: key}
		expr := "^"
		last := 0
		for _, m := range placeholderRE.FindAllStringSubmatchIndex(s, -1) {
			expr += regexp.QuoteMeta(s[last:m[0]]) + "(.+?)"
			p.names = append(p.names, s[m[2]:m[3]])
			last = m[1]
		}
		p.re = regexp.MustCompile(expr + regexp.QuoteMeta(s[last:]) + "$")
		c.patterns = append(c.patterns, p)
	}
	// Longest first, so a specific text wins over a general one.
	sort.Slice(c.patterns, func(i, j int) bool {
		return len(c.patterns[i].re.String()) > len(c.patterns[j].re.String())
	})
	return c, nil
}

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool { return slices.Contains(Languages, lang) }

// Match picks the supported language closest to an Accept-Language header
// (or a single code such as "hi-IN"), else Default.
func Match(accept string) string {
	tags, _, err := language.ParseAcceptLanguage(accept)
	if err != nil || len(tags) == 0 {
		return Default
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Default
	}
	return Languages[i]
}

// FromRequest is the language a request asks for: ?lang=, then the
// console's cookie, then Accept-Language.
func FromRequest(r *http.Request) string {
	if l := r.URL.Query().Get(Query); Supported(l) {
		return l
	}
	if ck, err := r.Cookie(Cookie); err == nil && Supported(ck.Value) {
		return ck.Value
	}
	return Match(r.Header.Get("Accept-Language"))
}

type ctxKey struct{}

// WithLang returns ctx carrying lang.
func WithLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, ctxKey{}, lang)
}

// Lang is the language ctx carries, else Default.
func Lang(ctx context.Context) string {
	if l, ok := ctx.Value(ctxKey{}).(string); ok && Supported(l) {
		return l
	}
	return Default
}

// Middleware puts the request's language in its context and says it in
// Vary, since answers differ by it.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Language")
		next.ServeHTTP(w, r.WithContext(WithLang(r.Context(), FromRequest(r))))
	})
}

// T is the message key in lang with data's placeholders filled in; a key
// lang lacks is English, and a key no file has comes back as itself, so a
// mistake shows rather than blanks.
func T(lang, key string, data map[string]any) string {
	return localize(lang, key, data, nil)
}

// Plural is T choosing the plural form for n by lang's CLDR rules; data
// gets N = n.
func Plural(lang, key string, n int, data map[string]any) string {
	d := map[string]any{"N": n}
	for k, v := range data {
		d[k] = v
	}
	return localize(lang, key, d, n)
}

func localize(lang, key string, data map[string]any, count any) string {
	c := load()
	loc, ok := c.locs[lang]
	if !ok {
		loc = c.locs[Default]
	}
	// A key lang lacks comes back in English, with an error that says so;
	// the English text is the better answer.
	s, _ := loc.Localize(&goi18n.LocalizeConfig{MessageID: key, TemplateData: data, PluralCount: count})
	if s == "" {
		return key
	}
	return s
}

// Message translates an English text a service wrote (a rule book
// message, a problem's detail) into lang. A text the catalogue does not
// know is returned as it is: an English answer beats none.
func Message(lang, english string) string {
	if lang == Default || english == "" {
		return english
	}
	c := load()
	if key, ok := c.byText[english]; ok {
		return T(lang, key, nil)
	}
	for _, p := range c.patterns {
		m := p.re.FindStringSubmatch(english)
		if m == nil {
			continue
		}
		data := map[string]any{}
		for i, name := range p.names {
			// A captured part may itself be a known message, as in
			// "entry 2: code is required".
			data[name] = Message(lang, m[i+1])
		}
		return T(lang, p.key, data)
	}
	return english
}

// Keys lists the keys of lang's file, sorted.
func Keys(lang string) []string {
	raw := load().raw[lang]
	out := make([]string, 0, len(raw))
	for k := range raw {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Raw is lang's message for key as written: a string, or a map of CLDR
// plural forms.
func Raw(lang, key string) (any, bool) {
	v, ok := load().raw[lang][key]
	return v, ok
}

// Console is lang's catalogue for the web console: the keys starting
// "ui_", each a string or a map of plural forms, which the console picks
// with Intl.PluralRules.
func Console(lang string) map[string]any {
	out := map[string]any{}
	for k, v := range load().raw[lang] {
		if strings.HasPrefix(k, "ui_") {
			out[k] = v
		}
	}
	return out
}
