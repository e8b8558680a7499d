package httpapi_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// The same bad values get the same field errors from POST /users and from
// a CSV dry run: one rule book behind both (issue 8's reproductions: the
// API took gender "Robot", language "Klingon", a 5,000-character position,
// a letterless name, and a phone with phoneVerified FALSE).
func TestAPIAndCSVGiveTheSameErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		admin := e.login("adminA")
		long := strings.Repeat("p", 5000)
		res := e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{
			"firstName": "Asha", "lastName": ".", "email": "same-rules@example.org", "phone": "9876543210", "phoneVerified": false,
			"gender": "Robot", "language": []string{"Klingon"}, "position": long, "dob": "01-01-2999", "orgId": e.stateA.ID,
		}, nil).expect(t, http.StatusUnprocessableEntity)
		var api []string
		for _, f := range res.problem(t).Errors {
			api = append(api, strings.TrimPrefix(f.Location, "body.")+": "+f.Message)
		}

		csv := "firstName,lastName,email,phone,userName,password,provider,phoneVerified,gender,language,position,DOB\r\n" +
			"Asha,.,same-rules@example.org,9876543210,same_rules,Upl0adPass1,TN,FALSE,Robot,Klingon," + long + ",01-01-2999\r\n"
		var dry uploadBody
		e.postUpload(admin, map[string]string{"orgId": e.stateA.ID, "dryRun": "true"}, "users.csv", csv, &dry).expect(t, http.StatusOK)
		var file []string
		for _, f := range dry.Rows[0].Errors {
			file = append(file, f.String())
		}
		want := []string{
			"lastName: " + registry.MsgNameLetter,
			"phoneVerified: " + registry.MsgPhoneVerified,
			"position: is longer than 100 characters",
			"DOB: " + registry.MsgDOBPast,
			"gender: " + registry.MsgGender,
			`language: unknown language "Klingon"; valid values are ` + strings.Join(registry.Languages, ", "),
		}
		if !reflect.DeepEqual(file, want) {
			t.Errorf("CSV errors\n%q\nwant\n%q", file, want)
		}
		if !sameSet(api, want) {
			t.Errorf("API errors\n%q\nwant\n%q", api, want)
		}
	})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		if seen[s]--; seen[s] < 0 {
			return false
		}
	}
	return true
}

// A NUL in a path id or a body field was a 500 on PostgreSQL and stored as
// is on SQLite; both engines now refuse it with a clear answer.
func TestControlCharactersAreClientErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		for _, path := range []string{"/api/v1/users/a%00b", "/api/v1/organisations/x%00/users", "/api/v1/organisations/" + e.stateA.ID + "/users?cursor=a%00"} {
			res := e.do(http.MethodGet, path, admin, nil, nil).expect(t, http.StatusBadRequest)
			if !res.contains("control characters") {
				t.Errorf("%s: %s", path, res.body)
			}
		}
		e.do(http.MethodPatch, "/api/v1/users/a%00b", admin, map[string]any{"gender": "Male"}, nil).expect(t, http.StatusBadRequest)
		res := e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{
			"firstName": "As\u0000ha", "email": "nul@example.org", "position": "x\u0000", "orgId": e.stateA.ID,
		}, nil).expect(t, http.StatusUnprocessableEntity)
		var got []string
		for _, f := range res.problem(t).Errors {
			got = append(got, f.Location+": "+f.Message)
		}
		if want := []string{"body.firstName: " + registry.MsgControl, "body.position: " + registry.MsgControl}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

// The API document describes the user bodies with the rule book's words,
// the same that docs/UPLOADS.md shows for the CSV.
func TestOpenAPIDescribesTheRuleBook(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		res := e.do(http.MethodGet, "/openapi.json", "", nil, nil).expect(t, http.StatusOK)
		var doc struct {
			Components struct {
				Schemas map[string]struct {
					Properties map[string]struct {
						Description string `json:"description"`
					} `json:"properties"`
				} `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(res.body, &doc); err != nil {
			t.Fatal(err)
		}
		for schema, props := range map[string][]string{
			"CreateUserBody": {"firstName", "lastName", "phone", "countryCode", "email", "userName", "password", "phoneVerified",
				"emailVerified", "roles", "position", "location", "dob", "gender", "language", "profileSummary", "externalIds", "profileLocation"},
			"UserPatch": {"firstName", "lastName", "phone", "countryCode", "email", "password", "dob", "gender", "profileLocation"},
		} {
			for _, p := range props {
				field := p
				if p == "dob" {
					field = registry.FieldDOB
				}
				got := doc.Components.Schemas[schema].Properties[p].Description
				if want := registry.Describe(field); want == "" || got != want {
					t.Errorf("%s.%s: %q, want %q", schema, p, got, want)
				}
			}
			fw := doc.Components.Schemas[schema].Properties["framework"].Description
			if !strings.Contains(fw, registry.Describe(registry.FieldGrade)) || !strings.Contains(fw, registry.Describe(registry.FieldSubject)) {
				t.Errorf("%s.framework: %q", schema, fw)
			}
		}
	})
}
