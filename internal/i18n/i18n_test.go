package i18n_test

import (
	"maps"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/roster-dev/roster/internal/i18n"
	"github.com/roster-dev/roster/internal/registry"
)

// TestEveryLanguageHasEveryKey fails when a file lacks a key English has,
// has one English lacks, or gives a message other plural forms or
// placeholders than English: a translator must keep {{.N}} and the rest.
func TestEveryLanguageHasEveryKey(t *testing.T) {
	en := i18n.Keys(i18n.Default)
	if len(en) < 50 {
		t.Fatalf("English has %d keys; the catalogue did not load", len(en))
	}
	for _, lang := range i18n.Languages[1:] {
		keys := i18n.Keys(lang)
		for _, k := range en {
			if !slices.Contains(keys, k) {
				t.Errorf("%s.toml lacks %s", lang, k)
			}
		}
		for _, k := range keys {
			if !slices.Contains(en, k) {
				t.Errorf("%s.toml has %s, which en.toml lacks", lang, k)
				continue
			}
			want, _ := i18n.Raw(i18n.Default, k)
			got, _ := i18n.Raw(lang, k)
			if a, b := placeholders(want), placeholders(got); !slices.Equal(a, b) {
				t.Errorf("%s.toml %s has placeholders %v, English %v", lang, k, b, a)
			}
			if a, b := forms(want), forms(got); a == "" || b == "" || (a == "string") != (b == "string") {
				t.Errorf("%s.toml %s is a %s, English a %s", lang, k, b, a)
			}
		}
	}
}

var placeholderRE = regexp.MustCompile(`\{\{\s*\.\w+\s*\}\}`)

func placeholders(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = placeholderRE.FindAllString(v, -1)
	case map[string]any:
		for _, f := range v {
			out = append(out, placeholders(f)...)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func forms(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case map[string]any:
		if _, ok := v["other"]; ok {
			return "plural"
		}
	}
	return ""
}

// TestRuleBookMessagesAreTranslated keeps the catalogue in step with the
// rule book: a new Msg constant without an entry stays English in Hindi
// and Tamil answers, and this test names it.
func TestRuleBookMessagesAreTranslated(t *testing.T) {
	msgs := []string{
		registry.MsgRequired, registry.MsgNameChars, registry.MsgNameLetter, registry.MsgControl,
		registry.MsgPhone, registry.MsgPhoneExcel, registry.MsgPhoneCountry, registry.MsgCountryCode,
		registry.MsgEmailOrPhone, registry.MsgUsernameLength, registry.MsgUsernameChars,
		registry.MsgPasswordLength, registry.MsgPhoneVerified, registry.MsgProviderChars,
		registry.MsgDOBFormat, registry.MsgDOBReal, registry.MsgDOB1900, registry.MsgDOBPast,
		registry.MsgGender, registry.MsgAssociation, registry.MsgStatus, registry.MsgStatusNew,
		registry.MsgBlockSelf, registry.MsgNotMember, registry.MsgNotCleared, registry.MsgManagedContact,
		registry.MsgYearOfBirth, registry.MsgMinorParent, registry.MsgOneContact,
		registry.MsgStateDistrict, registry.MsgTncStale,
		registry.MsgTrueOnlyWith(registry.FieldPhone), registry.MsgPairedWith(registry.FieldProvider),
		registry.MsgTooLong(100),
	}
	for _, lang := range i18n.Languages[1:] {
		for _, m := range msgs {
			if got := i18n.Message(lang, m); got == m {
				t.Errorf("%s: %q is not translated", lang, m)
			}
		}
	}
}

func TestMessageFillsPlaceholdersAndKeepsFieldNames(t *testing.T) {
	cases := []struct{ lang, in, want string }{
		{"hi", registry.MsgTooLong(64), "64 वर्णों से लंबा है"},
		{"ta", registry.MsgTrueOnlyWith(registry.FieldPhone), "phone கொடுக்கப்பட்டால் மட்டுமே TRUE ஆக இருக்கலாம்"},
		{"hi", "entry 2: " + registry.MsgControl, "प्रविष्टि 2: में नियंत्रण वर्ण नहीं होने चाहिए"},
		{"hi", registry.MsgRequired, "आवश्यक है"},
		{"en", registry.MsgRequired, registry.MsgRequired},
		// Unknown texts stay English rather than disappear.
		{"ta", "a text nobody catalogued", "a text nobody catalogued"},
	}
	for _, c := range cases {
		if got := i18n.Message(c.lang, c.in); got != c.want {
			t.Errorf("Message(%s, %q) = %q, want %q", c.lang, c.in, got, c.want)
		}
	}
}

// TestPluralsFollowCLDR: Hindi counts 0 and 1 as "one", Tamil only 1.
func TestPluralsFollowCLDR(t *testing.T) {
	cases := []struct {
		lang string
		n    int
		want string
	}{
		{"en", 1, "1 row has problems"}, {"en", 0, "0 rows have problems"},
		{"hi", 0, "0 पंक्ति में समस्या है"}, {"hi", 1, "1 पंक्ति में समस्या है"}, {"hi", 2, "2 पंक्तियों में समस्याएँ हैं"},
		{"ta", 0, "0 வரிசைகளில் சிக்கல்கள் உள்ளன"}, {"ta", 1, "1 வரிசையில் சிக்கல் உள்ளது"},
	}
	for _, c := range cases {
		if got := i18n.Plural(c.lang, "ui_upload_rows_problems", c.n, nil); got != c.want {
			t.Errorf("Plural(%s, %d) = %q, want %q", c.lang, c.n, got, c.want)
		}
	}
}

func TestFromRequest(t *testing.T) {
	cases := []struct{ query, cookie, accept, want string }{
		{"", "", "", "en"},
		{"", "", "hi-IN,hi;q=0.9,en;q=0.8", "hi"},
		{"", "", "ta-IN", "ta"},
		{"", "", "fr-FR,fr;q=0.9", "en"},
		{"", "", "fr, ta;q=0.5", "ta"},
		{"", "ta", "hi", "ta"},
		{"hi", "ta", "en", "hi"},
		{"xx", "yy", "hi", "hi"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/x", nil)
		if c.query != "" {
			r.URL.RawQuery = "lang=" + c.query
		}
		if c.cookie != "" {
			r.Header.Set("Cookie", i18n.Cookie+"="+c.cookie)
		}
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		if got := i18n.FromRequest(r); got != c.want {
			t.Errorf("%+v: %s, want %s", c, got, c.want)
		}
	}
}

func TestConsoleHoldsOnlyUIKeys(t *testing.T) {
	for _, lang := range i18n.Languages {
		c := i18n.Console(lang)
		if _, ok := c["ui_signin_title"]; !ok {
			t.Fatalf("%s console catalogue lacks ui_signin_title", lang)
		}
		for _, k := range slices.Collect(maps.Keys(c)) {
			if k[:3] != "ui_" {
				t.Errorf("%s console catalogue has %s", lang, k)
			}
		}
	}
}
