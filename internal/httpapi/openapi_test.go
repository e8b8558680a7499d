package httpapi_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/roster-dev/roster/internal/storetest"
)

// TestWriteOpenAPIDocument writes the served document, with every service
// configured, to $ROSTER_OPENAPI_OUT so .ci/run can lint it with Redocly
// and Spectral.
func TestWriteOpenAPIDocument(t *testing.T) {
	out := os.Getenv("ROSTER_OPENAPI_OUT")
	if out == "" {
		t.Skip("ROSTER_OPENAPI_OUT not set")
	}
	e := newEnv(t, storetest.Open(t, "sqlite"), withJobs, withSignUp(false))
	res := e.do("GET", "/openapi.json", "", nil, nil).expect(t, 200)
	if err := os.WriteFile(out, res.body, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Every operation, including ones other packages add later, must say what
// it does, belong to a declared group, say how to authenticate (an empty
// list for public ones) and list a client error: the linters in .ci/run
// refuse the document otherwise, and this says which operation at once.
func TestEveryOperationIsDocumented(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"), withJobs, withSignUp(false))
	doc := e.api.API().OpenAPI()
	declared := map[string]bool{}
	for _, tag := range doc.Tags {
		if tag.Description == "" {
			t.Errorf("tag %s has no description", tag.Name)
		}
		declared[tag.Name] = true
	}
	n := 0
	for path, item := range doc.Paths {
		for method, o := range map[string]*huma.Operation{
			http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
			http.MethodPatch: item.Patch, http.MethodDelete: item.Delete,
		} {
			if o == nil {
				continue
			}
			n++
			where := method + " " + path
			if o.OperationID == "" || o.Summary == "" || o.Description == "" {
				t.Errorf("%s: needs an operationId, a summary and a description", where)
			}
			if len(o.Tags) == 0 {
				t.Errorf("%s: has no tag", where)
			}
			for _, tag := range o.Tags {
				if !declared[tag] {
					t.Errorf("%s: tag %q is not declared in apiTags", where, tag)
				}
			}
			if o.Security == nil {
				t.Errorf("%s: no security (public operations need an explicit empty list)", where)
			}
			has4xx := false
			for code := range o.Responses {
				has4xx = has4xx || strings.HasPrefix(code, "4")
			}
			if !has4xx {
				t.Errorf("%s: documents no 4xx response", where)
			}
		}
	}
	if n == 0 {
		t.Fatal("no operations found")
	}
	if len(doc.Servers) == 0 || doc.Info.License == nil || doc.Info.Contact == nil {
		t.Error("the document needs servers, a licence and a contact")
	}
}
