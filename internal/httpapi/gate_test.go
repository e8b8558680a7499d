package httpapi_test

import (
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// TestUploadsAreGatedBeforeTheirBodyIsRead holds one upload's body open
// with a one-slot gate: a second upload is turned away with 503 and
// Retry-After without its body being needed, and once the first finishes
// the next upload gets in.
func TestUploadsAreGatedBeforeTheirBodyIsRead(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newEnv(t, db, withJobs, func(s *envSetup) { s.cfg.UploadConcurrency = 1 })
		admin := e.login("adminA")
		csv := "firstName,email,userName,password\r\nGated,gated@example.org,gated_user,Upl0adPass1\r\n"

		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/uploads?dryRun=true", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+admin)
		first := make(chan *http.Response, 1)
		go func() {
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				first <- nil
				return
			}
			first <- res
		}()
		// The first part reaches the server, so the request holds the slot
		// while its body is still being sent.
		_ = mw.WriteField("orgId", e.schoolA.ID)
		fw, _ := mw.CreateFormFile("file", "users.csv")
		_, _ = fw.Write([]byte(csv[:10]))

		refused := waitForStatus(t, func() *response {
			return e.postUploadTo("/api/v1/uploads?dryRun=true", admin, map[string]string{"orgId": e.schoolA.ID}, "users.csv", csv, nil)
		}, http.StatusServiceUnavailable)
		if refused.Header.Get("Retry-After") == "" {
			t.Error("503 from the upload gate has no Retry-After")
		}
		if !strings.Contains(string(refused.body), "other uploads") {
			t.Errorf("503 body = %s", refused.body)
		}

		_, _ = fw.Write([]byte(csv[10:]))
		_ = mw.Close()
		_ = pw.Close()
		if res := <-first; res == nil || res.StatusCode != http.StatusAccepted && res.StatusCode != http.StatusOK {
			t.Fatalf("held upload: %v", res)
		} else {
			res.Body.Close()
		}
		e.postUploadTo("/api/v1/uploads?dryRun=true", admin, map[string]string{"orgId": e.schoolA.ID}, "users.csv", csv, nil).
			expect(t, http.StatusOK)
	})
}

// waitForStatus repeats call until it answers want: the held request may
// take a moment to reach the gate.
func waitForStatus(t *testing.T, call func() *response, want int) *response {
	t.Helper()
	var res *response
	for range 20 {
		if res = call(); res.StatusCode == want {
			return res
		}
	}
	t.Fatalf("never got %d; last %d %s", want, res.StatusCode, res.body)
	return nil
}
