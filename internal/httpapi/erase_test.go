package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// Erasure over HTTP: a wrong password is a field error and erases
// nothing; the erasure ends the user's token at once and their sign-in for
// good; a second erasure is a clear 409; an admin of another tenant is
// told "not found".
func TestEraseUserAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		u := e.createUser(e.schoolA.ID, "leaver", "leaver@example.org")
		own := e.login("leaver")
		admin, other := e.login("adminA"), e.login("adminB")
		path := "/api/v1/users/" + u.ID + "/erase"

		res := e.do(http.MethodPost, path, other, map[string]string{"password": testPassword}, nil).expect(t, http.StatusNotFound)
		res = e.do(http.MethodPost, path, admin, map[string]string{"password": "wrong-Passw0rd"}, nil).expect(t, http.StatusUnprocessableEntity)
		if !strings.Contains(string(res.body), "body.password") || !strings.Contains(string(res.body), "not your password") {
			t.Errorf("wrong password answer: %s", res.body)
		}
		e.do(http.MethodPost, path, admin, map[string]string{}, nil).expect(t, http.StatusUnprocessableEntity)
		e.do(http.MethodGet, "/api/v1/me", own, nil, nil).expect(t, http.StatusOK)

		e.do(http.MethodPost, path, admin, map[string]string{"password": testPassword}, nil).expect(t, http.StatusNoContent)
		e.do(http.MethodGet, "/api/v1/me", own, nil, nil).expect(t, http.StatusUnauthorized)
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "leaver@example.org", "password": testPassword}, nil).
			expect(t, http.StatusUnauthorized)
		res = e.do(http.MethodPost, path, admin, map[string]string{"password": testPassword}, nil).expect(t, http.StatusConflict)
		if !strings.Contains(string(res.body), "already been erased") {
			t.Errorf("second erasure: %s", res.body)
		}
		var got struct {
			ErasedDate  string `json:"erasedDate"`
			MaskedEmail string `json:"maskedEmail"`
			FirstName   string `json:"firstName"`
		}
		e.do(http.MethodGet, "/api/v1/users/"+u.ID, admin, nil, &got).expect(t, http.StatusOK)
		if got.ErasedDate == "" || got.MaskedEmail != "" || got.FirstName != "" {
			t.Errorf("erased user as read: %+v", got)
		}
		if strings.Contains(e.logs.String(), "leaver@example.org") {
			t.Error("the erased user's email is in the log")
		}
	})
}
