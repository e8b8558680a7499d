package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-dev/roster/internal/i18n"
	"github.com/roster-dev/roster/internal/registry"
)

// TestLanguages: a visitor picks Hindi in the header on the sign-in page;
// the page redraws in Hindi with the embedded Devanagari font, the choice
// survives signing in, the upload form is in Hindi and the server's row
// errors of a checked file come back in Hindi while the column names stay
// as the file has them. Then Tamil, the same way.
func TestLanguages(t *testing.T) {
	srv := startServer(t, "sqlite")
	root := startBrowser(t)
	tb := newTab(t, root, srv)

	tb.load("#/login")
	if got := tb.text("main h1"); got != i18n.T("en", "ui_signin_title", nil) {
		t.Fatalf("sign-in title before choosing = %q", got)
	}
	tb.chooseLanguage("hi")
	tb.checkSignIn("hi")
	// The font is the embedded subset, not whatever the machine has.
	tb.waitFor("the Devanagari font", `document.fonts.ready.then(() => 0) && [...document.fonts].some((f) => f.family.includes('Roster Devanagari') && f.status === 'loaded')`, 10*time.Second)
	tb.screenshot("sign-in-hi", false)

	// Empty form: the console's own messages are in Hindi.
	tb.click(`form button[type=submit]`)
	tb.waitFor("field errors", `document.querySelectorAll('.field-error:not(:empty)').length === 2`, 5*time.Second)
	if got := tb.text(`[data-field=login] .field-error`); got != i18n.T("hi", "ui_signin_enter_login", nil) {
		t.Errorf("login field error = %q", got)
	}

	tb.signIn("priya.admin", testPassword)
	tb.open("#/upload")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`select[name=orgId]`)))
	tb.checkUpload("hi")
	tb.selectOption(`select[name=orgId]`, srv.tenantA.ID)
	file := filepath.Join(t.TempDir(), "users-hi.csv")
	if err := os.WriteFile(file, []byte("firstName,lastName,phone,email,userName,password\nरवि,कुमार,,,ravi_k,Welcome@2024\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.dropFile(`label.drop`, file, "text/csv")
	tb.waitFor("file chosen", `document.getElementById('chosen-file').textContent.includes('users-hi.csv')`, 5*time.Second)
	tb.click(`#check`)
	tb.waitFor("check result", `!!document.querySelector('#check-result table')`, 20*time.Second)
	result := tb.text(`#check-result`)
	if want := i18n.Message("hi", registry.MsgEmailOrPhone); !strings.Contains(result, want) {
		t.Errorf("check result lacks the Hindi %q: %q", want, result)
	}
	for _, column := range []string{"firstName", "email"} {
		if !strings.Contains(result, column) {
			t.Errorf("check result lacks the column name %s: %q", column, result)
		}
	}
	tb.screenshot("upload-hi", false)

	// Tamil, chosen on the upload page, holds after a fresh load too.
	tb.chooseLanguage("ta")
	tb.load("#/upload")
	tb.do(chromedp.WaitVisible(chromedp.CSS(`select[name=orgId]`)))
	tb.checkUpload("ta")
	tb.click("#signout")
	tb.waitFor("the sign-in page", `location.hash === '#/login' && !!document.querySelector('form input[name=login]')`, 10*time.Second)
	tb.checkSignIn("ta")
}

// chooseLanguage picks lang in the header's menu, as a user would, and
// waits for the page to come back in it.
func (tb *tab) chooseLanguage(lang string) {
	tb.t.Helper()
	tb.selectOption(`#lang`, lang)
	tb.waitFor("the page in "+lang, `document.documentElement.lang === '`+lang+`' && document.getElementById('main').dataset.nav === '1' && document.getElementById('main').getAttribute('aria-busy') !== 'true'`, 15*time.Second)
	if got := eval[string](tb, `localStorage.getItem('roster.lang') + ' ' + document.cookie`); !strings.Contains(got, lang+" ") || !strings.Contains(got, i18n.Cookie+"="+lang) {
		tb.t.Errorf("choice of %s not remembered: %q", lang, got)
	}
}

func (tb *tab) checkSignIn(lang string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(`form input[name=login]`)))
	for sel, key := range map[string]string{
		"main h1":                     "ui_signin_title",
		`[data-field=login] label`:    "ui_signin_login",
		`[data-field=password] label`: "ui_signin_password",
		`form button[type=submit]`:    "ui_signin_submit",
		`#signup-link`:                "ui_signin_create",
		`label[for=lang]`:             "ui_language",
	} {
		if got, want := tb.text(sel), i18n.T(lang, key, nil); got != want {
			tb.t.Errorf("%s sign-in %s = %q, want %q", lang, sel, got, want)
		}
	}
}

func (tb *tab) checkUpload(lang string) {
	tb.t.Helper()
	for sel, key := range map[string]string{
		"main h1":                 "ui_upload_title",
		`#nav a[href="#/upload"]`: "ui_nav_upload",
		`#signout`:                "ui_sign_out",
		`#check`:                  "ui_upload_check",
		`#upload`:                 "ui_upload_submit",
		`#mode legend`:            "ui_upload_mode",
		`#template`:               "ui_upload_template",
	} {
		if got, want := tb.text(sel), i18n.T(lang, key, nil); got != want {
			tb.t.Errorf("%s upload %s = %q, want %q", lang, sel, got, want)
		}
	}
}
