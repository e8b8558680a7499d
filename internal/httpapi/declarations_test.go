package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// The declaration flow over HTTP: a self-signed-up teacher finds a school
// of a state, declares, sees their status; the school's admin approves,
// after which the teacher's own token carries the new tenant at once.
func TestDeclarationOverHTTP(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		e.createUser("", "teacherone", "t1@example.org")
		e.createUser("", "teachertwo", "t2@example.org")
		e.createUser(e.schoolA.ID, "head", "head@example.org", roster.RoleOrgAdmin)
		t1, t2, head := e.login("teacherone"), e.login("teachertwo"), e.login("head")

		var schools struct {
			Schools []roster.Organisation
			Next    string
		}
		e.do(http.MethodGet, "/api/v1/states/"+e.stateA.ID+"/schools?q="+strings.ToLower(e.schoolA.Name[:3]), t1, nil, &schools).expect(t, http.StatusOK)
		if len(schools.Schools) != 1 || schools.Schools[0].ID != e.schoolA.ID {
			t.Fatalf("schools %+v", schools)
		}
		e.do(http.MethodGet, "/api/v1/me/declaration", t1, nil, nil).expect(t, http.StatusNotFound)

		body := map[string]string{"stateId": e.stateA.ID, "schoolId": e.schoolA.ID, "teacherId": "TCH-100"}
		var d registry.DeclarationView
		e.do(http.MethodPost, "/api/v1/me/declaration", t1, body, &d).expect(t, http.StatusCreated)
		var d2 registry.DeclarationView
		body["teacherId"] = "TCH-100" // the same id: refused only when the second is approved
		e.do(http.MethodPost, "/api/v1/me/declaration", t2, body, &d2).expect(t, http.StatusCreated)

		// A school of another state than the one declared: 422 naming schoolId.
		res := e.do(http.MethodPost, "/api/v1/me/declaration", t2, map[string]string{"stateId": e.stateB.ID, "schoolId": e.schoolA.ID, "teacherId": "X"}, nil)
		res.expect(t, http.StatusUnprocessableEntity)
		if p := res.problem(t); len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Location, "schoolId") || p.Errors[0].Message != registry.MsgSchoolNotInState {
			t.Errorf("problem %+v", p)
		}

		var queue struct{ Declarations []registry.DeclarationView }
		e.do(http.MethodGet, "/api/v1/organisations/"+e.schoolA.ID+"/declarations?status=pending", head, nil, &queue).expect(t, http.StatusOK)
		if len(queue.Declarations) != 2 {
			t.Fatalf("queue %+v", queue)
		}
		var bulk struct {
			Results []struct {
				ID, Status string
				Error      *struct {
					Code    string
					Message string
					Fields  []roster.FieldError
				}
			}
		}
		e.do(http.MethodPost, "/api/v1/organisations/"+e.schoolA.ID+"/declarations/decisions", head,
			map[string]any{"decision": "approve", "ids": []string{d.ID, d2.ID, "missing"}}, &bulk).expect(t, http.StatusOK)
		if len(bulk.Results) != 3 || bulk.Results[0].Status != "approved" || bulk.Results[1].Error == nil ||
			bulk.Results[1].Error.Code != roster.ECONFLICT || bulk.Results[1].Error.Fields[0].Field != "teacherId" ||
			bulk.Results[2].Error == nil || bulk.Results[2].Error.Code != roster.ENOTFOUND {
			t.Fatalf("bulk %+v", bulk)
		}
		res = e.do(http.MethodPost, "/api/v1/declarations/"+d.ID+"/approve", head, map[string]string{}, nil)
		res.expect(t, http.StatusConflict)
		if !res.contains("already approved") {
			t.Errorf("double approval says %s", res.body)
		}
		e.do(http.MethodPost, "/api/v1/declarations/"+d2.ID+"/reject", head, map[string]string{}, nil).expect(t, http.StatusUnprocessableEntity)
		e.do(http.MethodPost, "/api/v1/declarations/"+d2.ID+"/reject", head, map[string]string{"reason": "Teacher id belongs to someone else"}, nil).expect(t, http.StatusOK)

		var me struct{ Principal roster.Principal }
		e.do(http.MethodGet, "/api/v1/me", t1, nil, &me).expect(t, http.StatusOK)
		if me.Principal.RootOrgID != e.stateA.ID || len(me.Principal.Grants) != 1 || me.Principal.Grants[0].OrgID != e.schoolA.ID {
			t.Errorf("approved teacher's token still says %+v", me.Principal)
		}
		var mine registry.DeclarationView
		e.do(http.MethodGet, "/api/v1/me/declaration", t2, nil, &mine).expect(t, http.StatusOK)
		if mine.Status != roster.DeclarationRejected || mine.Reason != "Teacher id belongs to someone else" {
			t.Errorf("rejected teacher sees %+v", mine)
		}
	})
}
