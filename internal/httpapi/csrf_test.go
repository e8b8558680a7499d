package httpapi_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/httpapi"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// A form or script on another origin of the same site gets the SameSite
// cookie attached; what it cannot do is send a custom header or claim to
// be same-origin. These are the requests such a page can make.
func TestCookieSessionsRefuseForgedRequests(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs)
		victim := e.createUser(e.stateA.ID, "learner", "learner@example.org")
		session := &http.Cookie{Name: httpapi.SessionCookie, Value: e.login("adminA")}

		send := func(method, path, contentType string, body []byte, headers map[string]string) *response {
			t.Helper()
			req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			req.AddCookie(session)
			return e.send(req, nil)
		}
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		_ = mw.WriteField("orgId", e.stateA.ID)
		fw, _ := mw.CreateFormFile("file", "users.csv")
		_, _ = fw.Write([]byte("firstName,email,userName,password,roles\r\nEve,eve@example.org,eve_x,Upl0adPass1,ORG_ADMIN\r\n"))
		mw.Close()

		block := "/api/v1/users/" + victim.ID + "/block"
		for name, r := range map[string]struct {
			method, path, contentType string
			body                      []byte
			headers                   map[string]string
		}{
			// The reproductions: what a plain HTML form sends.
			"text/plain form":  {http.MethodPost, block, "text/plain", []byte("x=y"), nil},
			"url-encoded form": {http.MethodPost, block, "application/x-www-form-urlencoded", []byte("x=y"), map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:9"}},
			"multipart upload": {http.MethodPost, "/api/v1/uploads", mw.FormDataContentType(), form.Bytes(), nil},
			// A header alone does not do when the browser says another
			// origin sent it.
			"cross-site with header": {http.MethodPost, block, "", nil, map[string]string{httpapi.CSRFHeader: "1", "Sec-Fetch-Site": "cross-site"}},
			"same-site with header":  {http.MethodPost, block, "", nil, map[string]string{httpapi.CSRFHeader: "1", "Sec-Fetch-Site": "same-site"}},
			"foreign Origin":         {http.MethodPost, block, "", nil, map[string]string{httpapi.CSRFHeader: "1", "Origin": "http://evil.example"}},
		} {
			res := send(r.method, r.path, r.contentType, r.body, r.headers)
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403; body %s", name, res.StatusCode, res.body)
			}
			if !strings.Contains(res.Header.Get("Content-Type"), "json") {
				t.Errorf("%s: answer is not a problem document: %q", name, res.Header.Get("Content-Type"))
			}
		}
		if u, err := e.reg.GetUser(context.Background(), roster.SystemPrincipal, victim.ID); err != nil || u.Status != roster.StatusActive {
			t.Fatalf("victim after forged requests: %+v, %v", u, err)
		}
		if n := e.do(http.MethodPost, "/api/v1/users/lookup", e.login("adminA"), map[string]string{"type": "username", "value": "eve_x"}, nil).StatusCode; n != http.StatusNotFound {
			t.Fatalf("forged upload created a user: lookup status %d", n)
		}

		// Reads need no header; the console's own requests get through.
		send(http.MethodGet, "/api/v1/me", "", nil, map[string]string{"Sec-Fetch-Site": "same-origin"}).expect(t, http.StatusOK)
		send(http.MethodPost, block, "", nil, map[string]string{httpapi.CSRFHeader: "1", "Sec-Fetch-Site": "same-origin", "Origin": e.srv.URL}).
			expect(t, http.StatusNoContent)
		// Bearer tokens are not ambient credentials: no header needed.
		e.do(http.MethodPost, "/api/v1/users/"+victim.ID+"/unblock", e.login("adminA"), nil, nil).expect(t, http.StatusNoContent)
	})
}
