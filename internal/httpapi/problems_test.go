package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// locations lists where a problem's errors point.
func (p problem) locations() []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Location)
	}
	return out
}

// A body the schema alone would stop at its first fault (the missing
// firstName) must still get every fault listed, and the answer must not
// send the request's password or contact details back.
func TestValidationDoesNotStopAtSchemaNorEchoValues(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		const password, email = "TopSecretPw1", "bad-address-7731"
		res := e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{
			"email": email, "phone": "12", "password": password, "orgId": e.stateA.ID,
			"userName":    "x",
			"externalIds": []map[string]string{{"provider": "tn", "idType": "teacherId", "externalId": strings.Repeat("9", 101)}},
		}, nil).expect(t, http.StatusUnprocessableEntity)
		locs := res.problem(t).locations()
		for _, want := range []string{"body.firstName", "body.email", "body.phone", "body.userName", "body.externalIds"} {
			if !slices.Contains(locs, want) {
				t.Errorf("errors %v lack %s", locs, want)
			}
		}
		for _, secret := range []string{password, email, strings.Repeat("9", 101)} {
			if res.contains(secret) {
				t.Errorf("problem echoes %q: %s", secret, res.body)
			}
		}

		// Schema violations huma itself reports carry no values either:
		// a wrong type in the body, an unknown property, a bad query
		// parameter.
		for _, tc := range []struct {
			method, path string
			body         map[string]any
			secret, loc  string
		}{
			{http.MethodPost, "/api/v1/users", map[string]any{"firstName": "Asha", "email": []string{"leak-1@example.org"}, "password": password}, "leak-1@example.org", "body.email"},
			{http.MethodPost, "/api/v1/users", map[string]any{"firstName": "Asha", "email": "leak-2@example.org", "password": password, "status": 1}, "leak-2@example.org", "body"},
			{http.MethodPost, "/api/v1/users/lookup", map[string]any{"type": "shoe-size", "value": "leak-3@example.org"}, "shoe-size", "body.type"},
			{http.MethodGet, "/api/v1/organisations/" + e.stateA.ID + "/users?limit=leak-4", nil, "leak-4", "query.limit"},
			{http.MethodPost, "/api/v1/auth/login", map[string]any{"login": "someone", "password": strings.Repeat("p", 1025)}, strings.Repeat("p", 1025), "body.password"},
		} {
			res := e.do(tc.method, tc.path, admin, tc.body, nil).expect(t, http.StatusUnprocessableEntity)
			if locs := res.problem(t).locations(); !slices.ContainsFunc(locs, func(l string) bool { return strings.HasPrefix(l, tc.loc) }) {
				t.Errorf("%s %s: errors %v lack %s", tc.method, tc.path, locs, tc.loc)
			}
			if res.contains(tc.secret) || res.contains(password) || res.contains(`"value"`) {
				t.Errorf("%s %s: problem echoes the request: %s", tc.method, tc.path, res.body)
			}
		}
	})
}

func TestRecoveryContacts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		var created registry.UserView
		e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{
			"firstName": "Kavya", "email": "kavya@example.org", "orgId": e.stateA.ID,
			"recoveryEmail": "kavya.backup@example.org", "recoveryPhone": "+919811122233",
		}, &created).expect(t, http.StatusCreated)

		var got registry.UserView
		e.do(http.MethodGet, "/api/v1/users/"+created.ID, admin, nil, &got).expect(t, http.StatusOK)
		if got.RecoveryEmail != "kavya.backup@example.org" || got.RecoveryPhone != "+919811122233" {
			t.Errorf("admin sees recovery email %q phone %q", got.RecoveryEmail, got.RecoveryPhone)
		}

		e.createUser(e.stateA.ID, "peerA", "peer-a@example.org")
		var masked registry.UserView
		res := e.do(http.MethodGet, "/api/v1/users/"+created.ID, e.login("peerA"), nil, &masked).expect(t, http.StatusOK)
		if masked.RecoveryEmail != "" || masked.RecoveryPhone != "" || masked.PIIVisible || res.contains("kavya.backup") || res.contains("9811122233") {
			t.Errorf("a PUBLIC peer sees recovery contacts: %s", res.body)
		}

		// PATCH changes them, normalised like the primary contacts.
		var patched registry.UserView
		e.do(http.MethodPatch, "/api/v1/users/"+created.ID, admin, map[string]any{
			"recoveryEmail": " Kavya.New@Example.org ", "recoveryPhone": "+91 98111 22244",
		}, &patched).expect(t, http.StatusOK)
		var reread registry.UserView
		e.do(http.MethodGet, "/api/v1/users/"+created.ID, admin, nil, &reread).expect(t, http.StatusOK)
		if reread.RecoveryEmail != "kavya.new@example.org" || reread.RecoveryPhone != "+919811122244" {
			t.Errorf("after PATCH admin sees recovery email %q phone %q", reread.RecoveryEmail, reread.RecoveryPhone)
		}
		res = e.do(http.MethodGet, "/api/v1/users/"+created.ID, e.login("peerA"), nil, nil).expect(t, http.StatusOK)
		if res.contains("kavya.new") || res.contains("9811122244") || res.contains("recoveryEmail") || res.contains("recoveryPhone") {
			t.Errorf("a PUBLIC peer sees patched recovery contacts: %s", res.body)
		}

		// Bad values are field errors, on create and on PATCH, not echoed.
		res = e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{
			"firstName": "Ravi", "email": "ravi@example.org", "orgId": e.stateA.ID,
			"recoveryEmail": "no-at-sign-1", "recoveryPhone": "12",
		}, nil).expect(t, http.StatusUnprocessableEntity)
		res2 := e.do(http.MethodPatch, "/api/v1/users/"+created.ID, admin, map[string]any{
			"recoveryEmail": "no-at-sign-1", "recoveryPhone": "12",
		}, nil).expect(t, http.StatusUnprocessableEntity)
		for _, r := range []*response{res, res2} {
			locs := r.problem(t).locations()
			if !slices.Contains(locs, "body.recoveryEmail") || !slices.Contains(locs, "body.recoveryPhone") || r.contains("no-at-sign-1") {
				t.Errorf("%s: problem %s", r.Request.Method, r.body)
			}
		}
	})
}
