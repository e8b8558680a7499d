package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

type tncList struct {
	Terms []roster.TncVersion `json:"terms"`
}

type meBody struct {
	Principal roster.Principal  `json:"principal"`
	User      registry.UserView `json:"user"`
}

func (e *env) publish(kind, version string) {
	e.t.Helper()
	if _, err := e.reg.PublishTnc(context.Background(), roster.SystemPrincipal, kind, version, "https://example.org/terms/"+version); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) accept(token, kind, version string) roster.Principal {
	e.t.Helper()
	var out struct{ Principal roster.Principal }
	e.do(http.MethodPost, "/api/v1/me/tnc", token, map[string]string{"kind": kind, "version": version}, &out).expect(e.t, http.StatusOK)
	return out.Principal
}

func refusedFor(t *testing.T, r *response, msg string) {
	t.Helper()
	r.expect(t, http.StatusForbidden)
	if p := r.problem(t); p.Detail != msg {
		t.Errorf("refusal says %q, want %q", p.Detail, msg)
	}
}

// Publishing new org admin terms stops an admin acting as admin until they
// accept them; their own profile and the terms stay reachable; a second
// version stops them again. Nothing is gated before any terms exist.
func TestOrgAdminTermsGateAdminActs(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		e.auth.CacheTTL = -1 // publishing happens behind the API's back here
		var list tncList
		e.do(http.MethodGet, "/api/v1/tnc", "", nil, &list).expect(t, http.StatusOK)
		if len(list.Terms) != 0 {
			t.Fatalf("fresh start lists terms: %+v", list)
		}
		admin := e.login("adminA")
		newUser := func(n string) *response {
			return e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{"firstName": "T", "email": n + "@example.org", "orgId": e.schoolA.ID}, nil)
		}
		newUser("before").expect(t, http.StatusCreated)

		e.publish(roster.TncPlatform, "13")
		e.publish(roster.TncOrgAdmin, "3.5.0")
		e.do(http.MethodGet, "/api/v1/tnc", "", nil, &list).expect(t, http.StatusOK)
		if len(list.Terms) != 2 || list.Terms[0].Kind != roster.TncOrgAdmin || list.Terms[0].Version != "3.5.0" ||
			list.Terms[1].Kind != roster.TncPlatform || list.Terms[0].URL == "" {
			t.Fatalf("current terms: %+v", list.Terms)
		}

		var signIn struct{ Principal roster.Principal }
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "adminA", "password": testPassword}, &signIn).expect(t, http.StatusOK)
		if got := signIn.Principal.PendingTnc; !slices.Equal(got, []string{roster.TncPlatform, roster.TncOrgAdmin}) {
			t.Errorf("sign-in pendingTnc = %v", got)
		}
		refusedFor(t, newUser("gated"), authz.MsgAcceptOrgAdminTnc)
		refusedFor(t, e.do(http.MethodGet, "/api/v1/organisations/"+e.schoolA.ID+"/users", admin, nil, nil), authz.MsgAcceptOrgAdminTnc)
		var me meBody
		e.do(http.MethodGet, "/api/v1/me", admin, nil, &me).expect(t, http.StatusOK)

		r := e.do(http.MethodPost, "/api/v1/me/tnc", admin, map[string]string{"kind": roster.TncOrgAdmin, "version": "3.4.0"}, nil)
		r.expect(t, http.StatusUnprocessableEntity)
		if p := e.accept(admin, roster.TncOrgAdmin, "3.5.0"); !slices.Equal(p.PendingTnc, []string{roster.TncPlatform}) {
			t.Errorf("after accepting the org admin terms, pending %v", p.PendingTnc)
		}
		newUser("accepted").expect(t, http.StatusCreated)
		if p := e.accept(admin, roster.TncPlatform, "13"); len(p.PendingTnc) != 0 {
			t.Errorf("after accepting both, pending %v", p.PendingTnc)
		}
		e.do(http.MethodGet, "/api/v1/me", admin, nil, &me).expect(t, http.StatusOK)
		if me.User.TncAcceptedVersion != "13" || me.User.TncAcceptedOn == nil || me.User.AllTncAccepted[roster.TncOrgAdmin].Version != "3.5.0" ||
			me.User.AllTncAccepted[roster.TncOrgAdmin].TncAcceptedOn == "" {
			t.Errorf("recorded acceptance: version %q on %v, all %+v", me.User.TncAcceptedVersion, me.User.TncAcceptedOn, me.User.AllTncAccepted)
		}

		e.publish(roster.TncOrgAdmin, "3.6.0")
		refusedFor(t, newUser("v2"), authz.MsgAcceptOrgAdminTnc)
		e.accept(admin, roster.TncOrgAdmin, "3.6.0")
		newUser("v2-accepted").expect(t, http.StatusCreated)

		// A learner has no admin terms to accept and is not asked for them.
		e.createUser(e.schoolA.ID, "learner", "learner@example.org")
		e.do(http.MethodGet, "/api/v1/me", e.login("learner"), nil, &me).expect(t, http.StatusOK)
		if !slices.Equal(me.Principal.PendingTnc, []string{roster.TncPlatform}) {
			t.Errorf("learner pending %v", me.Principal.PendingTnc)
		}
	})
}

// A course creator cannot request a report before accepting the current
// report viewer terms; creating courses is not what those terms cover.
func TestReportViewerTermsGateReportRequests(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		e.auth.CacheTTL = -1
		e.createUser(e.stateA.ID, "creator", "creator@example.org", roster.RoleContentCreator)
		creator := e.login("creator")
		e.publish(roster.TncReportViewer, "4.0.0")
		var c roster.Course
		e.do(http.MethodPost, "/api/v1/courses", creator, map[string]any{"name": "Gated"}, &c).expect(t, http.StatusCreated)
		request := func() *response {
			return e.do(http.MethodPost, "/api/v1/reports", creator, map[string]any{"courseId": c.ID, "password": "Gated-pass1"}, nil)
		}
		refusedFor(t, request(), authz.MsgAcceptReportViewerTnc)
		e.accept(creator, roster.TncReportViewer, "4.0.0")
		request().expect(t, http.StatusAccepted)
	})
}
