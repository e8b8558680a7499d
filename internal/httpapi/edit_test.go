package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// doIfMatch is e.do with an If-Match header.
func (e *env) doIfMatch(method, path, token, ifMatch string, body any, out any) *response {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	return e.send(req, out)
}

func TestETagAndIfMatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		u := e.createUser(e.schoolA.ID, "etag", "etag@example.org")
		path := "/api/v1/users/" + u.ID
		tag := e.do(http.MethodGet, path, admin, nil, nil).expect(t, http.StatusOK).Header.Get("ETag")
		if !strings.HasPrefix(tag, `"v`) {
			t.Fatalf("ETag = %q", tag)
		}

		var edited registry.UserView
		res := e.doIfMatch(http.MethodPatch, path, admin, tag, map[string]any{"lastName": "First"}, &edited).expect(t, http.StatusOK)
		next := res.Header.Get("ETag")
		if next == "" || next == tag || edited.LastName != "First" {
			t.Fatalf("after the edit: ETag %q (was %q), lastName %q", next, tag, edited.LastName)
		}
		if got := e.do(http.MethodGet, path, admin, nil, nil).Header.Get("ETag"); got != next {
			t.Fatalf("GET ETag %q, PATCH answered %q", got, next)
		}

		// The second admin's form was loaded before the first edit.
		res = e.doIfMatch(http.MethodPatch, path, admin, tag, map[string]any{"lastName": "Second"}, nil).expect(t, http.StatusPreconditionFailed)
		if p := res.problem(t); p.Detail != store.MsgStale {
			t.Errorf("412 detail %q", p.Detail)
		}
		for _, bad := range []string{`W/` + next, `"something"`, `"v-1"`} {
			e.doIfMatch(http.MethodPatch, path, admin, bad, map[string]any{"lastName": "Bad"}, nil).expect(t, http.StatusPreconditionFailed)
		}
		// Without If-Match, or with *, the last write wins (documented).
		e.doIfMatch(http.MethodPatch, path, admin, "*", map[string]any{"lastName": "Star"}, nil).expect(t, http.StatusOK)
		e.doIfMatch(http.MethodPatch, path, admin, "", map[string]any{"lastName": "None"}, nil).expect(t, http.StatusOK)
		// A role change through a membership moves the ETag on too.
		before := e.do(http.MethodGet, path, admin, nil, nil).Header.Get("ETag")
		e.do(http.MethodPut, "/api/v1/organisations/"+e.schoolA.ID+"/members/"+u.ID, admin, map[string]any{"roles": []string{roster.RoleCourseMentor}}, nil).expect(t, http.StatusOK)
		if after := e.do(http.MethodGet, path, admin, nil, nil).Header.Get("ETag"); after == before {
			t.Errorf("membership change kept the ETag %q", after)
		}
	})
}

// Two browsers save from the same copy at the same moment: one 200, one 412.
func TestRacingPatchesOne412(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		u := e.createUser(e.schoolA.ID, "racer", "racer@example.org")
		path := "/api/v1/users/" + u.ID
		tag := e.do(http.MethodGet, path, admin, nil, nil).Header.Get("ETag")
		codes := make([]int, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, name := range []string{"Alpha", "Bravo"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				codes[i] = e.doIfMatch(http.MethodPatch, path, admin, tag, map[string]any{"lastName": name}, nil).StatusCode
			}()
		}
		close(start)
		wg.Wait()
		if !(codes[0] == 200 && codes[1] == 412 || codes[0] == 412 && codes[1] == 200) {
			t.Fatalf("statuses %v, want one 200 and one 412", codes)
		}
	})
}

func TestTransferAndHistoryAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		school2, err := e.reg.CreateOrg(context.Background(), roster.SystemPrincipal, roster.Organisation{Name: "GHS Egmore", RootOrgID: e.stateA.ID})
		if err != nil {
			t.Fatal(err)
		}
		u := e.createUser(e.schoolA.ID, "mover", "mover@example.org", roster.RoleContentCreator)
		path := "/api/v1/users/" + u.ID
		tag := e.do(http.MethodGet, path, admin, nil, nil).Header.Get("ETag")
		body := map[string]any{"from": e.schoolA.ID, "to": school2.ID, "roles": []string{"COURSE_MENTOR"}}
		e.doIfMatch(http.MethodPost, path+"/transfer", admin, `"v999"`, body, nil).expect(t, http.StatusPreconditionFailed)
		res := e.doIfMatch(http.MethodPost, path+"/transfer", admin, tag, body, nil).expect(t, http.StatusOK)
		if res.Header.Get("ETag") == tag {
			t.Error("transfer kept the ETag")
		}
		var h struct{ Organisations []registry.Stint }
		e.do(http.MethodGet, path+"/organisations", admin, nil, &h).expect(t, http.StatusOK)
		if len(h.Organisations) != 2 || h.Organisations[0].OrgName != e.schoolA.Name || h.Organisations[0].Current ||
			h.Organisations[0].OrgLeftDate == nil || h.Organisations[1].OrgName != "GHS Egmore" || !h.Organisations[1].Current {
			t.Fatalf("history = %+v", h.Organisations)
		}
		// Field errors name the body's fields.
		p := e.do(http.MethodPost, path+"/transfer", admin, map[string]any{"from": e.schoolA.ID, "to": school2.ID}, nil).
			expect(t, http.StatusUnprocessableEntity).problem(t)
		if len(p.Errors) != 2 || p.Errors[0].Location != "body.from" || p.Errors[1].Location != "body.to" {
			t.Errorf("problem = %+v", p)
		}
	})
}
