package sunbird

import (
	"net/http"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// Contract of /v1/user/consent/update and /read, from userorg-service's
// UserConsentController, UserConsentRequestValidator and
// UserConsentServiceImpl, with the bodies the portal's
// global-consent-pii.component.ts sends (consumerId = the course's channel).
func TestConsentUpdateRead(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newLMSEnv(t, db, "")
		update := func(userID string, consent map[string]any) (int, map[string]any, []byte) {
			return e.call(http.MethodPost, "/v1/user/consent/update", userID, sbReq(map[string]any{"consent": consent}))
		}
		read := func(userID string, filters map[string]any) (int, map[string]any, []byte) {
			return e.call(http.MethodPost, "/v1/user/consent/read", userID, sbReq(map[string]any{"consent": map[string]any{"filters": filters}}))
		}
		consent := func(status string) map[string]any {
			return map[string]any{"status": status, "userId": e.learner, "consumerId": e.State.Channel, "objectId": e.course.ID, "objectType": "Collection"}
		}
		filters := map[string]any{"userId": e.learner, "consumerId": e.State.Channel, "objectId": e.course.ID}

		// Never answered: 404 USER_CONSENT_NOT_FOUND.
		status, body, raw := read(e.learner, filters)
		if status != http.StatusNotFound || dig(body, "params.err") != "USER_CONSENT_NOT_FOUND" ||
			dig(body, "params.errmsg") != "Requested user consent resource not found" || dig(body, "responseCode") != "RESOURCE_NOT_FOUND" {
			t.Errorf("read before any consent: %d %s", status, raw)
		}

		status, body, raw = update(e.learner, consent("ACTIVE"))
		if status != http.StatusOK {
			t.Fatalf("update: %d %s", status, raw)
		}
		wantField(t, body, "id", "api.user.consent.update")
		wantField(t, body, "params.status", "SUCCESS")
		wantField(t, body, "params.resmsgid", "req-1")
		wantField(t, body, "result.consent.userId", e.learner)
		wantField(t, body, "result.message", "User Consent updated successfully.")

		status, body, raw = read(e.learner, filters)
		if status != http.StatusOK {
			t.Fatalf("read: %d %s", status, raw)
		}
		wantField(t, body, "id", "api.user.consent.read")
		wantField(t, body, "result.consents.0.status", "ACTIVE")
		wantField(t, body, "result.consents.0.id", "usr-consent:"+e.learner+":"+e.State.Channel+":"+e.course.ID)
		wantField(t, body, "result.consents.0.consumerType", "ORGANISATION")
		wantField(t, body, "result.consents.0.objectType", "Collection")
		if on, _ := dig(body, "result.consents.0.createdOn").(float64); on < 1e12 {
			t.Errorf("createdOn = %v, want epoch milliseconds", dig(body, "result.consents.0.createdOn"))
		}

		// The latest decision wins; DELETED is recorded as a withdrawal.
		for _, st := range []string{"REVOKED", "ACTIVE", "DELETED"} {
			if status, _, raw := update(e.learner, consent(st)); status != http.StatusOK {
				t.Fatalf("update %s: %d %s", st, status, raw)
			}
		}
		_, body, _ = read(e.learner, filters)
		wantField(t, body, "result.consents.0.status", "REVOKED")
		// The consumer may also be named by the tenant's id (v2 path).
		status, body, raw = e.call(http.MethodPost, "/v2/user/consent/read", e.learner, sbReq(map[string]any{"consent": map[string]any{
			"filters": map[string]any{"userId": e.learner, "consumerId": e.State.ID, "objectId": e.course.ID}}}))
		if status != http.StatusOK || dig(body, "result.consents.0.status") != "REVOKED" {
			t.Errorf("read by tenant id: %d %s", status, raw)
		}

		for _, c := range []struct {
			name    string
			userID  string
			consent map[string]any
			status  int
			code    string
			msg     string
		}{
			{"lower-case status", e.learner, consent("active"), 400, "UOS_UCNSNTUPD0026", "Consent status is invalid"},
			{"no consumer", e.learner, map[string]any{"status": "ACTIVE", "objectId": e.course.ID}, 400, "UOS_UCNSNTUPD0030",
				"Mandatory parameter consumerId is missing."},
			{"another tenant as consumer", e.learner, map[string]any{"status": "ACTIVE", "consumerId": e.Other.ID, "objectId": e.course.ID},
				400, "UOS_UCNSNTUPD0019", "Please provide valid organisationid."},
			{"consent for someone else", e.creator, consent("ACTIVE"), 403, "UOS_UCNSNTUPD0071", ""},
		} {
			status, body, raw := update(c.userID, c.consent)
			if status != c.status || dig(body, "params.err") != c.code || dig(body, "params.status") != "FAILED" {
				t.Errorf("%s: %d %s", c.name, status, raw)
			}
			if c.msg != "" && dig(body, "params.errmsg") != c.msg {
				t.Errorf("%s: errmsg = %v", c.name, dig(body, "params.errmsg"))
			}
		}
		status, body, raw = read(e.learner, map[string]any{"userId": e.learner, "objectId": e.course.ID})
		if status != 400 || dig(body, "params.err") != "UOS_UCNSTRED0030" {
			t.Errorf("read without consumerId: %d %s", status, raw)
		}
		// Unbounded input is refused before any lookup.
		status, _, _ = update(e.learner, map[string]any{"status": "ACTIVE", "consumerId": strings.Repeat("x", 500), "objectId": e.course.ID})
		if status != 400 {
			t.Errorf("long consumerId: %d", status)
		}
	})
}
