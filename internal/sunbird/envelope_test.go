package sunbird

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roster-dev/roster"
)

func TestSunbirdTime(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	got := sunbirdTime(time.Date(2020, 12, 1, 16, 24, 35, 250_400_000, ist))
	if got != "2020-12-01 16:24:35:250+0530" {
		t.Errorf("got %q", got)
	}
}

func TestErrorCodes(t *testing.T) {
	for _, c := range []struct {
		apiID, key, want string
	}{
		{"api.user.upload", keyInvalidColumns, "UOS_USRUPLD0020"},
		{"api.upload.status.abc", keyResourceNotFound, "UOS_BLKSTSRED0013"},
		{"api.user.unblock", keyUserStatus, "UOS_USRUNBLOK0008"},
		{"api.user.read.x", keyUnauthorized, "UOS_0070"},
	} {
		if got := errorCode(c.apiID, c.key); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.apiID, c.key, got, c.want)
		}
	}
	status, key, msg := classify(roster.Invalid(roster.FieldError{Field: "email", Message: "is not a valid email address", Value: "secret"},
		roster.FieldError{Field: "firstName", Message: "is required"}))
	if status != http.StatusBadRequest || key != keyInvalidRequestData ||
		msg != "email: is not a valid email address. firstName: is required." {
		t.Errorf("%d %s %q", status, key, msg)
	}
	if status, key, msg := classify(context.DeadlineExceeded); status != 500 || key != keyServerError || msg != msgServerError {
		t.Errorf("unknown error: %d %s %q", status, key, msg)
	}
}

// While every upload slot is taken, an upload is told to come back (503,
// Retry-After) before its body is read.
func TestUploadSlots(t *testing.T) {
	s := &Server{uploadSlots: make(chan struct{}, 1)}
	s.uploadSlots <- struct{}{}
	_, err := s.submitUpload(context.Background(), &roster.Principal{UserID: "u"}, httptest.NewRequest(http.MethodPost, "/v1/user/upload", nil))
	if status, _, _ := classify(err); status != http.StatusServiceUnavailable {
		t.Fatalf("busy: %v", err)
	}
	w := httptest.NewRecorder()
	fail(w, httptest.NewRequest(http.MethodPost, "/v1/user/upload", nil), "api.user.upload", err)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("%d %v", w.Code, w.Header())
	}
}
