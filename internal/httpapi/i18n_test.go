package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/roster-dev/roster/internal/i18n"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// Problem bodies follow the request's language: the rule book's messages
// and the title are translated, the locations keep the API's field names,
// and English stays the answer of a request that asks for nothing else.
func TestProblemsAreTranslated(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		body := map[string]any{"firstName": "As\u0000ha", "email": "nul@example.org", "orgId": e.stateA.ID}
		send := func(lang string, set func(*http.Request)) (problem, http.Header) {
			t.Helper()
			b, _ := json.Marshal(body)
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/users", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+admin)
			set(req)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%s: status %d", lang, res.StatusCode)
			}
			var p problem
			if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
				t.Fatal(err)
			}
			return p, res.Header
		}
		cases := []struct {
			lang string
			set  func(*http.Request)
		}{
			{"en", func(*http.Request) {}},
			{"hi", func(r *http.Request) { r.Header.Set("Accept-Language", "hi-IN,hi;q=0.9,en;q=0.5") }},
			{"ta", func(r *http.Request) { r.URL.RawQuery = "lang=ta" }},
			{"hi", func(r *http.Request) {
				r.Header.Set("Accept-Language", "ta")
				r.AddCookie(&http.Cookie{Name: i18n.Cookie, Value: "hi"})
			}},
		}
		for _, c := range cases {
			p, h := send(c.lang, c.set)
			if len(p.Errors) != 1 || p.Errors[0].Location != "body.firstName" {
				t.Fatalf("%s: errors %+v", c.lang, p.Errors)
			}
			want := i18n.Message(c.lang, registry.MsgControl)
			if c.lang != "en" && want == registry.MsgControl {
				t.Fatalf("%s has no translation of %q", c.lang, registry.MsgControl)
			}
			if got := p.Errors[0].Message; got != want {
				t.Errorf("%s: message %q, want %q", c.lang, got, want)
			}
			if wantTitle := i18n.T(c.lang, "title_422", nil); p.Title != wantTitle {
				t.Errorf("%s: title %q, want %q", c.lang, p.Title, wantTitle)
			}
			if c.lang != "en" && h.Get("Content-Language") != c.lang {
				t.Errorf("%s: Content-Language %q", c.lang, h.Get("Content-Language"))
			}
		}
	})
}

// A row's errors reach the admin in the language they asked for, in the
// console's rows and in the result CSV; the column names of the file, the
// result and errors columns and each error's column prefix stay English.
func TestUploadRowErrorsAreTranslated(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		admin := e.login("adminA")
		const file = "firstName,lastName,phone,email,userName,password,provider,phoneVerified,emailVerified\n" +
			"Ravi,Kumar,,,ravi_k,Upl0adPass,,,\n"
		var dry uploadBody
		e.postUpload(admin, map[string]string{"orgId": e.schoolA.ID, "dryRun": "true"}, "users.csv", file, &dry).
			expect(t, http.StatusOK)
		if dry.Failed != 1 {
			t.Fatalf("dry run = %+v", dry)
		}
		hi := i18n.Message("hi", registry.MsgEmailOrPhone)
		var rows struct {
			Rows []struct {
				Errors []struct{ Field, Message string }
			}
		}
		e.do(http.MethodGet, "/api/v1/uploads/"+dry.ID+"/rows?lang=hi", admin, nil, &rows).expect(t, http.StatusOK)
		if len(rows.Rows) != 1 || len(rows.Rows[0].Errors) == 0 || rows.Rows[0].Errors[0].Field != registry.FieldEmail ||
			rows.Rows[0].Errors[0].Message != hi {
			t.Errorf("rows = %+v, want email: %s", rows.Rows, hi)
		}
		res := e.do(http.MethodGet, "/api/v1/uploads/"+dry.ID+"/result.csv?lang=hi", admin, nil, nil).expect(t, http.StatusOK)
		if !res.contains("emailVerified,result,errors") || !res.contains("email: "+hi) {
			t.Errorf("Hindi result CSV = %q", res.body)
		}
		res = e.do(http.MethodGet, "/api/v1/uploads/"+dry.ID+"/result.csv", admin, nil, nil).expect(t, http.StatusOK)
		if !res.contains("email: " + registry.MsgEmailOrPhone) {
			t.Errorf("English result CSV = %q", res.body)
		}
	})
}
