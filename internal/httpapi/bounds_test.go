package httpapi_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/roster-dev/roster/internal/auth/authtest"
	"github.com/roster-dev/roster/internal/httpapi"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/upload"
)

// rawJSON posts body as it is, without marshalling it.
func (e *env) rawJSON(path, token, body string) *response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req, nil)
}

// Every JSON body is bounded in size, depth and array length before it is
// decoded, on public operations (login) as on secured ones; an anonymous
// caller of a secured operation is refused before its body is read.
func TestJSONBodyBounds(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	admin := e.login("adminA")

	big := `{"login":"` + strings.Repeat("x", httpapi.DefaultMaxBodyBytes) + `","password":"x"}`
	p := e.rawJSON("/api/v1/auth/login", "", big).expect(t, http.StatusRequestEntityTooLarge).problem(t)
	if p.Detail != "the request body is larger than the 64 KB limit" {
		t.Fatalf("problem %+v", p)
	}
	e.rawJSON("/api/v1/users", admin, big).expect(t, http.StatusRequestEntityTooLarge)
	e.rawJSON("/api/v1/users", "", big).expect(t, http.StatusUnauthorized)

	deep := `{"login":` + strings.Repeat("[", httpapi.MaxJSONDepth) + strings.Repeat("]", httpapi.MaxJSONDepth) + `,"password":"x"}`
	p = e.rawJSON("/api/v1/auth/login", "", deep).expect(t, http.StatusUnprocessableEntity).problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Message != "values are nested more than 16 levels deep" {
		t.Fatalf("problem %+v", p)
	}
	// Sixteen levels are allowed; huma then judges the value itself.
	ok := `{"login":` + strings.Repeat("[", httpapi.MaxJSONDepth-1) + strings.Repeat("]", httpapi.MaxJSONDepth-1) + `,"password":"x"}`
	if r := e.rawJSON("/api/v1/auth/login", "", ok); r.contains("nested") || r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("15 levels: %d %s", r.StatusCode, r.body)
	}

	long := `{"firstName":"A","framework":{"x":[` + strings.TrimSuffix(strings.Repeat(`1,`, httpapi.MaxJSONItems+1), ",") + `]}}`
	p = e.rawJSON("/api/v1/users", admin, long).expect(t, http.StatusUnprocessableEntity).problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Message != "an array has more than 1000 items" {
		t.Fatalf("problem %+v", p)
	}
	// Below that, each array's own maxItems applies.
	roles := `{"firstName":"A","email":"a@example.org","roles":[` + strings.TrimSuffix(strings.Repeat(`"PUBLIC",`, 21), ",") + `]}`
	p = e.rawJSON("/api/v1/users", admin, roles).expect(t, http.StatusUnprocessableEntity).problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Location != "body.roles" {
		t.Fatalf("problem %+v", p)
	}
}

// Every array in a request body has maxItems and every string parameter a
// maxLength or an enum, so a new operation cannot forget them.
func TestOpenAPIInputsAreBounded(t *testing.T) {
	idp := authtest.NewIdP(t)
	e := newEnv(t, storetest.Open(t, "sqlite"), withJobs, withOIDC(idp.URL), withOIDCLogin)
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct{ Schemas map[string]*schema }
	}
	e.do(http.MethodGet, "/openapi.json", "", nil, &doc).expect(t, http.StatusOK)
	var walk func(where string, s *schema, seen map[string]bool)
	walk = func(where string, s *schema, seen map[string]bool) {
		if s == nil {
			return
		}
		if s.Ref != "" {
			name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
			if !seen[name] {
				seen[name] = true
				walk(where+"→"+name, doc.Components.Schemas[name], seen)
			}
			return
		}
		if s.is("array") && s.MaxItems == nil {
			t.Errorf("%s: array without maxItems", where)
		}
		var values *schema
		if len(s.AdditionalProperties) > 0 && s.AdditionalProperties[0] == '{' {
			values = new(schema)
			if err := json.Unmarshal(s.AdditionalProperties, values); err != nil {
				t.Fatal(err)
			}
			if s.MaxProperties == nil {
				t.Errorf("%s: map without maxProperties", where)
			}
		}
		walk(where+"[]", s.Items, seen)
		if values != nil && values.is("array") && values.Items != nil {
			// A map's value arrays cannot carry a tag; MaxJSONItems
			// bounds them, and their items are still walked.
			walk(where+"{}[]", values.Items, seen)
		} else {
			walk(where+"{}", values, seen)
		}
		for name, p := range s.Properties {
			walk(where+"."+name, p, seen)
		}
	}
	ops := 0
	for path, methods := range doc.Paths {
		for method, raw := range methods {
			var op struct {
				Parameters []struct {
					Name, In string
					Schema   schema
				}
				RequestBody struct {
					Content map[string]struct{ Schema *schema }
				}
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				continue // not an operation
			}
			ops++
			where := method + " " + path
			for _, p := range op.Parameters {
				// Content-Type is the one header huma reads itself.
				if p.Schema.is("string") && p.Schema.MaxLength == nil && p.Schema.Enum == nil && p.Name != "Content-Type" {
					t.Errorf("%s: %s parameter %s without maxLength", where, p.In, p.Name)
				}
			}
			if c, ok := op.RequestBody.Content["application/json"]; ok {
				walk(where, c.Schema, map[string]bool{})
			}
		}
	}
	if _, ok := doc.Paths["/api/v1/auth/oidc/callback"]; !ok {
		t.Fatal("the OIDC callback is not in the document")
	}
	if ops < 40 {
		t.Fatalf("only %d operations found", ops)
	}
}

type schema struct {
	Ref                  string          `json:"$ref"`
	Type                 json.RawMessage // "string" or ["array","null"]
	Items                *schema
	Properties           map[string]*schema
	AdditionalProperties json.RawMessage // false or a schema
	MaxItems             *int
	MaxProperties        *int
	MaxLength            *int
	Enum                 []any
}

func (s *schema) is(typ string) bool { return bytes.Contains(s.Type, []byte(`"`+typ+`"`)) }

// The upload form takes a bounded number of parts, one file and short
// fields; the header bomb and the workbook bombs of issue 9 are refused
// with 413 and a short answer; an organisation at its cap gets 409.
func TestUploadFormAndFileBounds(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		admin := e.login("adminA")
		org := map[string]string{"orgId": e.schoolA.ID, "dryRun": "true"}

		send := func(build func(mw *multipart.Writer)) *response {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			build(mw)
			mw.Close()
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/uploads", &buf)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+admin)
			return e.send(req, nil)
		}
		p := send(func(mw *multipart.Writer) {
			for range 9 {
				_ = mw.WriteField("dryRun", "true")
			}
		}).expect(t, http.StatusRequestEntityTooLarge).problem(t)
		if !strings.Contains(p.Detail, "more than 8 parts") {
			t.Fatalf("problem %+v", p)
		}
		p = send(func(mw *multipart.Writer) {
			_ = mw.WriteField("orgId", e.schoolA.ID+strings.Repeat(" x", 600))
			fw, _ := mw.CreateFormFile("file", "u.csv")
			_, _ = fw.Write([]byte(sampleCSV))
		}).expect(t, http.StatusUnprocessableEntity).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.orgId" || p.Errors[0].Message != "is longer than 1024 bytes" {
			t.Fatalf("problem %+v", p)
		}
		p = send(func(mw *multipart.Writer) {
			_ = mw.WriteField("orgId", e.schoolA.ID)
			for range 2 {
				fw, _ := mw.CreateFormFile("file", "u.csv")
				_, _ = fw.Write([]byte(sampleCSV))
			}
		}).expect(t, http.StatusUnprocessableEntity).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Message != "send one file per upload" {
			t.Fatalf("problem %+v", p)
		}

		// The header bomb: 2 MB of "a,a,a,…".
		bomb := strings.Repeat("a,", 1<<20) + "a\r\nx\r\n"
		r := e.postUpload(admin, org, "bomb.csv", bomb, nil).expect(t, http.StatusRequestEntityTooLarge)
		if len(r.body) > 1024 || !r.contains("longer than 16 KB") {
			t.Fatalf("header bomb answer (%d bytes): %s", len(r.body), r.body)
		}
		// The workbook bomb: sharedStrings.xml inflating past the part limit.
		book := excelize.NewFile()
		_ = book.SetCellValue("Sheet1", "A1", "firstName")
		var good bytes.Buffer
		_ = book.Write(&good)
		book.Close()
		zr, _ := zip.NewReader(bytes.NewReader(good.Bytes()), int64(good.Len()))
		var bombed bytes.Buffer
		zw := zip.NewWriter(&bombed)
		for _, f := range zr.File {
			if f.Name == "xl/sharedStrings.xml" {
				continue
			}
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
			rc, _ := f.Open()
			b := new(bytes.Buffer)
			_, _ = b.ReadFrom(rc)
			rc.Close()
			_, _ = w.Write(b.Bytes())
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "xl/sharedStrings.xml", Method: zip.Deflate})
		_, _ = w.Write(bytes.Repeat([]byte(" "), upload.DefaultMaxPartBytes+1))
		zw.Close()
		r = e.postUpload(admin, org, "bomb.xlsx", bombed.String(), nil).expect(t, http.StatusRequestEntityTooLarge)
		if !r.contains("xl/sharedStrings.xml unpacks to more than the 16 MB limit") {
			t.Fatalf("workbook bomb answer: %s", r.body)
		}

		// The cap on stored uploads.
		for range upload.DefaultMaxStored {
			e.postUpload(admin, org, "u.csv", sampleCSV, nil).expect(t, http.StatusOK)
		}
		p = e.postUpload(admin, org, "u.csv", sampleCSV, nil).expect(t, http.StatusConflict).problem(t)
		if !strings.Contains(p.Detail, "reached its limit of 20 stored uploads") {
			t.Fatalf("problem %+v", p)
		}
	})
}
