package httpapi_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// A NUL in any JSON string was a 500 on PostgreSQL (which cannot store it)
// and stored as is on SQLite; every operation now refuses it with the
// rule book's message at the property that holds it.
func TestNULInAnyBodyIsRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		e.do(http.MethodPost, "/api/v1/organisations", admin, map[string]any{"name": "Clean School", "rootOrgId": e.stateA.ID}, nil).
			expect(t, http.StatusCreated)
		for _, c := range []struct {
			path string
			body map[string]any
			want []string
		}{
			{"/api/v1/organisations", map[string]any{"name": "Sch\u0000ool", "rootOrgId": e.stateA.ID}, []string{"body.name"}},
			{"/api/v1/organisations", map[string]any{"name": "School", "externalId": "x\u0000", "rootOrgId": e.stateA.ID}, []string{"body.externalId"}},
			{"/api/v1/users", map[string]any{"firstName": "Asha", "email": "n@example.org", "framework": map[string]any{"board": []string{"a\u0000"}}},
				[]string{"body.framework.board"}},
		} {
			res := e.do(http.MethodPost, c.path, admin, c.body, nil).expect(t, http.StatusUnprocessableEntity)
			var got []string
			for _, f := range res.problem(t).Errors {
				if f.Message != registry.MsgControl {
					t.Errorf("%s: message %q", c.path, f.Message)
				}
				got = append(got, f.Location)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s %v: locations %q, want %q", c.path, c.body, got, c.want)
			}
		}
	})
}
