package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

type directoryBody struct {
	Users []struct {
		ID, FirstName, LastName string
	} `json:"users"`
	Next *string `json:"next"`
}

func TestDirectoryAPIPagesSearchesAndExplains422s(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		for _, name := range []string{"rani", "ramesh", "suresh"} {
			e.createUser(e.schoolA.ID, name, name+"@example.org")
		}
		base := "/api/v1/organisations/" + e.stateA.ID + "/users"
		// adminA, rani, ramesh, suresh: two full pages, the second without a next.
		var p1, p2 directoryBody
		e.do(http.MethodGet, base+"?limit=2", admin, nil, &p1).expect(t, http.StatusOK)
		if len(p1.Users) != 2 || p1.Next == nil || *p1.Next == "" {
			t.Fatalf("first page: %+v", p1)
		}
		e.do(http.MethodGet, base+"?limit=2&cursor="+url.QueryEscape(*p1.Next), admin, nil, &p2).expect(t, http.StatusOK)
		if len(p2.Users) != 2 || p2.Next != nil {
			t.Fatalf("last page: %+v (no next wanted)", p2)
		}
		var found directoryBody
		e.do(http.MethodGet, base+"?q=RA", admin, nil, &found).expect(t, http.StatusOK)
		if len(found.Users) != 2 {
			t.Errorf("q=RA: %+v, want rani and ramesh", found.Users)
		}
		for q, loc := range map[string]string{
			"q=" + strings.Repeat("x", 65): "query.q",
			"role=KING":                    "query.role",
			"status=gone":                  "query.status",
			"cursor=bm9wZQ":                "query.cursor",
			"school=" + e.stateB.ID:        "query.school",
			"limit=0":                      "query.limit",
			"declaration=approved":         "query.declaration",
		} {
			res := e.do(http.MethodGet, base+"?"+q, admin, nil, nil).expect(t, http.StatusUnprocessableEntity)
			if !res.contains(`"location":"` + loc + `"`) {
				t.Errorf("%s: %s, want an error at %s", q, res.body, loc)
			}
		}
		e.do(http.MethodGet, base, e.login("adminB"), nil, nil).expect(t, http.StatusNotFound)
		var none directoryBody
		e.do(http.MethodGet, base+"?declaration=pending", admin, nil, &none).expect(t, http.StatusOK)
		if len(none.Users) != 0 {
			t.Errorf("declaration=pending without declarations: %+v", none.Users)
		}
	})
}

func TestDirectoryExportAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		e.createUser(e.schoolA.ID, "rani", "rani.k@example.org")
		base := "/api/v1/organisations/" + e.schoolA.ID + "/users/export.csv"
		masked := e.do(http.MethodGet, base, admin, nil, nil).expect(t, http.StatusOK)
		if masked.contains("rani.k@example.org") || !masked.contains("ra****@example.org") {
			t.Errorf("masked export: %s", masked.body)
		}
		full := e.do(http.MethodGet, base+"?contacts=full&q=ran", admin, nil, nil).expect(t, http.StatusOK)
		if !full.contains("rani.k@example.org") || full.Header.Get("Cache-Control") != "no-store" ||
			!strings.HasPrefix(full.Header.Get("Content-Type"), "text/csv") {
			t.Errorf("full export: %v %s", full.Header, full.body)
		}
		var n int
		if err := db.QueryRow(t.Context(), `SELECT COUNT(*) FROM audit_log WHERE action = 'user.export' AND detail LIKE 'contacts=full%' AND root_org_id = $1`, e.stateA.ID).Scan(&n); err != nil || n != 1 {
			t.Errorf("full exports audited in tenant A: %d, %v", n, err)
		}
		e.do(http.MethodGet, base+"?contacts=all", admin, nil, nil).expect(t, http.StatusUnprocessableEntity)
	})
}

func TestAuditAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db)
		admin := e.login("adminA")
		u := e.createUser(e.schoolA.ID, "rani", "rani.k@example.org")
		var page struct {
			Entries []struct{ Action, ObjectID, Detail string }
			Next    *string
		}
		e.do(http.MethodGet, "/api/v1/audit?objectType=user&objectId="+u.ID, admin, nil, &page).expect(t, http.StatusOK)
		if len(page.Entries) != 1 || page.Entries[0].Action != "user.create" || page.Next != nil {
			t.Fatalf("audit of the new user: %+v", page)
		}
		res := e.do(http.MethodGet, "/api/v1/audit?from=yesterday", admin, nil, nil).expect(t, http.StatusUnprocessableEntity)
		if !res.contains(`"location":"query.from"`) {
			t.Errorf("bad from: %s", res.body)
		}
		e.do(http.MethodGet, "/api/v1/audit?tenant="+e.stateA.ID, e.login("adminB"), nil, nil).expect(t, http.StatusNotFound)
		e.createUser(e.schoolA.ID, "pupil", "pupil@example.org", roster.RolePublic)
		e.do(http.MethodGet, "/api/v1/audit", e.login("pupil"), nil, nil).expect(t, http.StatusForbidden)
	})
}
