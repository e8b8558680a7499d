package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

func TestUserRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		adminA := e.login("adminA")

		var created registry.UserView
		e.do(http.MethodPost, "/api/v1/users", adminA, map[string]any{
			"firstName": "Meena", "lastName": "Kumari", "email": "Meena.K@Example.org", "phone": "9876543210",
			"password": "Secret123", "orgId": e.schoolA.ID, "roles": []string{"CONTENT_CREATOR"},
			"externalIds": []map[string]string{{"provider": "tn", "idType": "teacherId", "externalId": "T-42"}},
		}, &created).expect(t, http.StatusCreated)
		if created.ID == "" || created.RootOrgID != e.stateA.ID || created.Username == "" {
			t.Fatalf("created user = %+v", created.User)
		}

		// The org admin of the user's tenant reads decrypted contact details.
		var got registry.UserView
		e.do(http.MethodGet, "/api/v1/users/"+created.ID, adminA, nil, &got).expect(t, http.StatusOK)
		if got.Email != "meena.k@example.org" || got.Phone != "+919876543210" || !got.PIIVisible {
			t.Errorf("admin sees email %q phone %q visible %v", got.Email, got.Phone, got.PIIVisible)
		}
		if got.MaskedEmail != "me*****@example.org" || got.MaskedPhone != "98******10" {
			t.Errorf("masks = %q %q", got.MaskedEmail, got.MaskedPhone)
		}

		// A PUBLIC member of the same tenant sees the masked profile only.
		e.createUser(e.stateA.ID, "publicA", "public-a@example.org")
		publicA := e.login("publicA")
		var masked registry.UserView
		res := e.do(http.MethodGet, "/api/v1/users/"+created.ID, publicA, nil, &masked).expect(t, http.StatusOK)
		if masked.Email != "" || masked.Phone != "" || masked.PIIVisible || masked.MaskedEmail == "" {
			t.Errorf("public user sees email %q phone %q visible %v", masked.Email, masked.Phone, masked.PIIVisible)
		}
		if res.contains("meena.k@example.org") || res.contains("9876543210") || res.contains("T-42") {
			t.Errorf("masked response leaks PII: %s", res.body)
		}

		// The user reads their own details.
		self := e.loginWith("meena.k@example.org", "Secret123")
		var me struct {
			Principal roster.Principal
			User      registry.UserView
		}
		e.do(http.MethodGet, "/api/v1/me", self, nil, &me).expect(t, http.StatusOK)
		if me.User.ID != created.ID || me.User.Email != "meena.k@example.org" ||
			!slices.ContainsFunc(me.Principal.Grants, func(g roster.Grant) bool { return slices.Contains(g.Roles, "CONTENT_CREATOR") }) {
			t.Errorf("/me = %+v", me)
		}

		// Another tenant's admin can neither read nor find nor change the user.
		adminB := e.login("adminB")
		e.do(http.MethodGet, "/api/v1/users/"+created.ID, adminB, nil, nil).expect(t, http.StatusNotFound)
		e.do(http.MethodPost, "/api/v1/users/lookup", adminB, map[string]string{"type": "email", "value": "meena.k@example.org"}, nil).
			expect(t, http.StatusNotFound)
		e.do(http.MethodPost, "/api/v1/users", adminB, map[string]any{
			"firstName": "Intruder", "email": "x@example.org", "orgId": e.schoolA.ID,
		}, nil).expect(t, http.StatusForbidden)
		e.do(http.MethodGet, "/api/v1/organisations/"+e.schoolA.ID+"/users", adminB, nil, nil).expect(t, http.StatusNotFound) // other tenants learn nothing
		e.do(http.MethodPut, "/api/v1/organisations/"+e.schoolA.ID+"/members/"+created.ID, adminB,
			map[string]any{"roles": []string{"ORG_ADMIN"}}, nil).expect(t, http.StatusNotFound) // other tenants learn nothing
		for _, path := range []string{"/block", "/unblock", ""} {
			method := http.MethodPost
			if path == "" {
				method = http.MethodDelete
			}
			if res := e.do(method, "/api/v1/users/"+created.ID+path, adminB, nil, nil); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s by other tenant: %d", method, path, res.StatusCode)
			}
		}
		// A PUBLIC user cannot create users even in their own tenant.
		e.do(http.MethodPost, "/api/v1/users", publicA, map[string]any{
			"firstName": "Nobody", "email": "n@example.org", "orgId": e.stateA.ID,
		}, nil).expect(t, http.StatusForbidden)

		// Lookups by every kind of key.
		for _, q := range []map[string]string{
			{"type": "email", "value": " MEENA.K@example.org "},
			{"type": "phone", "value": "+91 98765 43210"},
			{"type": "username", "value": created.Username},
			{"type": "externalid", "value": "T-42", "provider": "tn", "idType": "teacherId"},
		} {
			var found registry.UserView
			e.do(http.MethodPost, "/api/v1/users/lookup", adminA, q, &found).expect(t, http.StatusOK)
			if found.ID != created.ID {
				t.Errorf("lookup %s found %q", q["type"], found.ID)
			}
		}

		// Patch, list, membership.
		var patched registry.UserView
		e.do(http.MethodPatch, "/api/v1/users/"+created.ID, adminA, map[string]any{"lastName": "Devi"}, &patched).expect(t, http.StatusOK)
		if patched.LastName != "Devi" {
			t.Errorf("patched lastName = %q", patched.LastName)
		}
		var list struct{ Users []registry.UserView }
		e.do(http.MethodGet, "/api/v1/organisations/"+e.schoolA.ID+"/users", adminA, nil, &list).expect(t, http.StatusOK)
		if len(list.Users) != 1 || list.Users[0].ID != created.ID {
			t.Errorf("school members = %+v", list.Users)
		}
		var m roster.Membership
		e.do(http.MethodPut, "/api/v1/organisations/"+e.schoolA.ID+"/members/"+created.ID, adminA,
			map[string]any{"roles": []string{"COURSE_MENTOR", "CONTENT_CREATOR"}}, &m).expect(t, http.StatusOK)
		e.do(http.MethodGet, "/api/v1/me", self, nil, &me).expect(t, http.StatusOK)
		if !slices.ContainsFunc(me.Principal.Grants, func(g roster.Grant) bool { return slices.Contains(g.Roles, "COURSE_MENTOR") }) {
			t.Errorf("role change not visible at once: %+v", me.Principal.Grants)
		}
		e.do(http.MethodDelete, "/api/v1/organisations/"+e.schoolA.ID+"/members/"+created.ID, adminA, nil, nil).expect(t, http.StatusNoContent)
		e.do(http.MethodGet, "/api/v1/me", self, nil, &me).expect(t, http.StatusOK)
		if slices.ContainsFunc(me.Principal.Grants, func(g roster.Grant) bool { return g.OrgID == e.schoolA.ID }) {
			t.Errorf("removed membership still granted: %+v", me.Principal.Grants)
		}

		// Blocking stops the user's token at once and for good: unblocking
		// lets the user sign in again, not their old tokens back in.
		e.do(http.MethodPost, "/api/v1/users/"+created.ID+"/block", adminA, nil, nil).expect(t, http.StatusNoContent)
		e.do(http.MethodGet, "/api/v1/me", self, nil, nil).expect(t, http.StatusUnauthorized)
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "meena.k@example.org", "password": "Secret123"}, nil).
			expect(t, http.StatusUnauthorized)
		e.do(http.MethodPost, "/api/v1/users/"+created.ID+"/unblock", adminA, nil, nil).expect(t, http.StatusNoContent)
		e.do(http.MethodGet, "/api/v1/me", self, nil, nil).expect(t, http.StatusUnauthorized)
		self = e.loginWith("meena.k@example.org", "Secret123")
		e.do(http.MethodGet, "/api/v1/me", self, nil, nil).expect(t, http.StatusOK)

		// Soft delete: the token stops working and the user is gone for lookups.
		e.do(http.MethodDelete, "/api/v1/users/"+created.ID, adminA, nil, nil).expect(t, http.StatusNoContent)
		e.do(http.MethodGet, "/api/v1/me", self, nil, nil).expect(t, http.StatusUnauthorized)
		e.do(http.MethodPost, "/api/v1/users/lookup", adminA, map[string]string{"type": "email", "value": "meena.k@example.org"}, nil).
			expect(t, http.StatusNotFound)
	})
}

func TestValidationListsEveryField(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		res := e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{
			"firstName": "R2-D2 <script>", "email": "not-an-email", "phone": "12",
			"password": "short", "roles": []string{"KING"}, "dob": "1987-02-30", "orgId": e.stateA.ID,
		}, nil).expect(t, http.StatusUnprocessableEntity)
		p := res.problem(t)
		var locs []string
		for _, f := range p.Errors {
			locs = append(locs, f.Location)
			if f.Message == "" {
				t.Errorf("empty message for %s", f.Location)
			}
		}
		for _, want := range []string{"body.firstName", "body.email", "body.phone", "body.password", "body.roles", "body.DOB"} {
			if !slices.Contains(locs, want) {
				t.Errorf("errors %v lack %s", locs, want)
			}
		}
		if p.Status != http.StatusUnprocessableEntity || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("problem = %+v, content type %q", p, res.Header.Get("Content-Type"))
		}
		// The rejected role is echoed (it is not personal data), the bad email is not.
		if !res.contains(`"KING"`) || res.contains("not-an-email") {
			t.Errorf("problem body %s", res.body)
		}
		// Unknown JSON properties are rejected rather than silently dropped.
		e.do(http.MethodPost, "/api/v1/users", admin, map[string]any{"firstName": "A", "email": "a@example.org", "status": 1}, nil).
			expect(t, http.StatusUnprocessableEntity)
		e.do(http.MethodPost, "/api/v1/users/lookup", admin, map[string]any{"type": "shoe-size", "value": "9"}, nil).
			expect(t, http.StatusUnprocessableEntity)
		e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"login": "", "password": ""}, nil).
			expect(t, http.StatusUnprocessableEntity)
	})
}

func TestDuplicateIsConflict(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		body := map[string]any{"firstName": "Ravi", "email": "ravi@example.org", "phone": "9123456780", "orgId": e.stateA.ID}
		e.do(http.MethodPost, "/api/v1/users", admin, body, nil).expect(t, http.StatusCreated)
		body["email"] = "RAVI@example.org"
		res := e.do(http.MethodPost, "/api/v1/users", admin, body, nil).expect(t, http.StatusConflict)
		p := res.problem(t)
		var locs []string
		for _, f := range p.Errors {
			locs = append(locs, f.Location)
		}
		if !slices.Contains(locs, "body.email") || !slices.Contains(locs, "body.phone") {
			t.Errorf("conflict errors = %+v", p.Errors)
		}
		// Same for organisations and locations.
		loc := map[string]any{"code": "33", "name": "Tamil Nadu", "type": "state"}
		e.do(http.MethodPost, "/api/v1/locations", admin, loc, nil).expect(t, http.StatusCreated)
		e.do(http.MethodPost, "/api/v1/locations", admin, loc, nil).expect(t, http.StatusConflict)
	})
}

func TestOrganisationsAndLocations(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		var org roster.Organisation
		e.do(http.MethodPost, "/api/v1/organisations", admin, map[string]any{"name": "School B", "rootOrgId": e.stateA.ID, "externalId": "sch-2"}, &org).
			expect(t, http.StatusCreated)
		if org.RootOrgID != e.stateA.ID || org.Provider != "TN" {
			t.Errorf("org = %+v", org)
		}
		// Only operators create tenants; no admin may create in another tenant.
		e.do(http.MethodPost, "/api/v1/organisations", admin, map[string]any{"name": "Kerala", "channel": "KL", "isTenant": true}, nil).
			expect(t, http.StatusForbidden)
		e.do(http.MethodPost, "/api/v1/organisations", admin, map[string]any{"name": "Intrusion", "rootOrgId": e.stateB.ID}, nil).
			expect(t, http.StatusForbidden)
		var got roster.Organisation
		e.do(http.MethodGet, "/api/v1/organisations/"+org.ID, admin, nil, &got).expect(t, http.StatusOK)
		if got.Name != "School B" {
			t.Errorf("got org %+v", got)
		}
		var list struct{ Organisations []roster.Organisation }
		e.do(http.MethodGet, "/api/v1/organisations", admin, nil, &list).expect(t, http.StatusOK)
		if len(list.Organisations) < 3 { // the tenant, school A, school B
			t.Errorf("organisations = %d", len(list.Organisations))
		}
		e.do(http.MethodGet, "/api/v1/organisations?rootOrgId="+e.stateB.ID, admin, nil, nil).expect(t, http.StatusForbidden)

		var state, district roster.Location
		e.do(http.MethodPost, "/api/v1/locations", admin, map[string]any{"code": "33", "name": "Tamil Nadu", "type": "state"}, &state).
			expect(t, http.StatusCreated)
		e.do(http.MethodPost, "/api/v1/locations", admin, map[string]any{"code": "3301", "name": "Chennai", "type": "district", "parentId": state.ID}, &district).
			expect(t, http.StatusCreated)
		var locs struct{ Locations []roster.Location }
		e.do(http.MethodGet, "/api/v1/locations?parentId="+state.ID, admin, nil, &locs).expect(t, http.StatusOK)
		if len(locs.Locations) != 1 || locs.Locations[0].ID != district.ID {
			t.Errorf("children = %+v", locs.Locations)
		}
		e.do(http.MethodGet, "/api/v1/locations/"+district.ID, admin, nil, nil).expect(t, http.StatusOK)
		e.do(http.MethodGet, "/api/v1/locations/nope", admin, nil, nil).expect(t, http.StatusNotFound)
	})
}
