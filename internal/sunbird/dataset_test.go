package sunbird

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

const encryptionKey = "Exhaust2024"

func sevenZip(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"7zz", "7z"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("7-Zip (7zz) is not installed; CI must open the portal's report with it")
	}
	t.Skip("7-Zip not installed")
	return ""
}

// portalSubmit is the body SunbirdEd-portal's on-demand-reports.component.ts
// builds (submitRequest): tag courseId_batchId, the dataset, the batch in
// datasetConfig, csv and the password the creator typed.
func (e *lmsEnv) portalSubmit(key string) map[string]any {
	return sbReq(map[string]any{"tag": e.course.ID + "_" + e.batch.ID, "requestedBy": e.creator, "dataset": "userinfo-exhaust",
		"datasetConfig": map[string]any{"batchId": e.batch.ID}, "output_format": "csv", "encryptionKey": key})
}

// The portal's report flow, as its code issues it: the learner enrols and
// consents, the creator submits, lists until SUCCESS, reads the job (as the
// portal does once expiresAt passed), downloads the file from downloadUrls
// and opens it with 7-Zip and the encryptionKey.
func TestPortalReportFlow(t *testing.T) {
	bin := sevenZip(t)
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newLMSEnv(t, db, roster.ReportSunbirdUserInfo)
		channel := []string{"X-Channel-ID", e.State.ID}
		status, body, raw := e.call(http.MethodPost, "/v1/course/enroll", e.learner,
			sbReq(map[string]any{"courseId": e.course.ID, "userId": e.learner, "batchId": e.batch.ID}))
		if status != http.StatusOK {
			t.Fatalf("enrol: %d %s", status, raw)
		}
		status, _, raw = e.call(http.MethodPost, "/v1/user/consent/update", e.learner, sbReq(map[string]any{"consent": map[string]any{
			"status": "ACTIVE", "userId": e.learner, "consumerId": e.State.Channel, "objectId": e.course.ID, "objectType": "Collection"}}))
		if status != http.StatusOK {
			t.Fatalf("consent: %d %s", status, raw)
		}

		status, body, raw = e.call(http.MethodPost, "/dataset/v1/request/submit", e.creator, e.portalSubmit(encryptionKey), channel...)
		if status != http.StatusOK {
			t.Fatalf("submit: %d %s", status, raw)
		}
		wantField(t, body, "id", "ekstep.analytics.dataset.request.submit")
		wantField(t, body, "ver", "1.0")
		wantField(t, body, "params.status", "successful")
		wantField(t, body, "responseCode", "OK")
		wantField(t, body, "result.dataset", "userinfo-exhaust")
		wantField(t, body, "result.tag", e.course.ID+"_"+e.batch.ID+":"+e.State.ID)
		wantField(t, body, "result.requestedChannel", e.State.ID)
		wantField(t, body, "result.datasetConfig.batchId", e.batch.ID)
		if ts, _ := body["ts"].(string); !strings.HasSuffix(ts, "+00:00") || len(ts) != len("2023-01-01T10:00:00.000+00:00") {
			t.Errorf("ts = %q, want Joda's yyyy-MM-ddTHH:mm:ss.SSS+00:00", ts)
		}
		if dig(body, "params.msgid") != nil || dig(body, "params.err") != nil {
			t.Errorf("params = %v; msgid and err are null on success", body["params"])
		}
		requestID, _ := dig(body, "result.requestId").(string)
		if s := dig(body, "result.status"); s != "SUBMITTED" && s != "PROCESSING" && s != "SUCCESS" {
			t.Errorf("status = %v", s)
		}
		tag := url.PathEscape(e.course.ID + "_" + e.batch.ID)

		var job map[string]any
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			status, body, raw = e.call(http.MethodGet, "/dataset/v1/request/list/"+tag+"?limit=10", e.creator, nil, channel...)
			if status != http.StatusOK {
				t.Fatalf("list: %d %s", status, raw)
			}
			wantField(t, body, "id", "ekstep.analytics.dataset.request.list")
			if dig(body, "result.count") != 1.0 {
				t.Fatalf("list = %s", raw)
			}
			if job, _ = dig(body, "result.jobs.0").(map[string]any); job["status"] == "SUCCESS" || job["status"] == "FAILED" {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if job["status"] != "SUCCESS" {
			t.Fatalf("job = %v", job)
		}
		if job["requestId"] != requestID || dig(job, "jobStats.dtJobSubmitted") == nil || dig(job, "jobStats.dtJobCompleted") == nil {
			t.Errorf("job = %v", job)
		}

		status, body, raw = e.call(http.MethodGet, "/dataset/v1/request/read/"+tag+"?requestId="+requestID, e.creator, nil, channel...)
		if status != http.StatusOK {
			t.Fatalf("read: %d %s", status, raw)
		}
		wantField(t, body, "id", "ekstep.analytics.dataset.request.info")
		wantField(t, body, "result.status", "SUCCESS")
		exp, _ := dig(body, "result.expiresAt").(float64)
		if exp < float64(time.Now().UnixMilli()) {
			t.Errorf("expiresAt = %v, want a future epoch ms", dig(body, "result.expiresAt"))
		}
		link, _ := dig(body, "result.downloadUrls.0").(string)
		if !strings.HasPrefix(link, e.srv.URL+"/dataset/v1/request/download?token=") {
			t.Fatalf("downloadUrls = %v", dig(body, "result.downloadUrls"))
		}

		// Without the user's token the link alone opens nothing.
		if status, _, _ := e.call(http.MethodGet, link, "", nil); status != http.StatusUnauthorized {
			t.Errorf("download without a token: %d", status)
		}
		// Someone else's token does not open it either.
		if status, _, _ := e.call(http.MethodGet, link, e.learner, nil); status != http.StatusForbidden {
			t.Errorf("download by the learner: %d", status)
		}
		status, _, zip := e.call(http.MethodGet, link, e.creator, nil)
		if status != http.StatusOK || len(zip) < 22 || string(zip[:2]) != "PK" {
			t.Fatalf("download: %d (%d bytes)", status, len(zip))
		}
		dir := t.TempDir()
		archive := filepath.Join(dir, "report.zip")
		if err := os.WriteFile(archive, zip, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "x", "-y", "-p"+encryptionKey, "-o"+dir, archive).CombinedOutput(); err != nil {
			t.Fatalf("7zz: %v\n%s", err, out)
		}
		name := e.batch.ID + "_userinfo_" + time.Now().UTC().Format("20060102") + ".csv"
		csv, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("Sunbird's file name: %v", err)
		}
		text := strings.TrimPrefix(string(csv), "\xEF\xBB\xBF")
		lines := strings.Split(strings.TrimSpace(text), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "Collection Id,Collection Name,Batch Id,Batch Name,User UUID,User Name,User Type") ||
			!strings.Contains(lines[1], "BatchId_"+e.batch.ID) || !strings.Contains(lines[1], "Asha Devi") ||
			!strings.Contains(lines[1], "asha@example.org") || !strings.Contains(lines[1], ",true,") {
			t.Errorf("csv = %q", text)
		}
		// The wrong key does not open it.
		if err := exec.Command(bin, "t", "-pWrong12345", archive).Run(); err == nil {
			t.Error("7zz opened the archive with the wrong key")
		}
	})
}

// Contract of the submit errors, from APIValidator.validateSubmitReq and
// authorizeDataExhaustRequest: CLIENT_ERROR 400 for a missing tag, dataset
// or datasetConfig; FORBIDDEN 403 without X-Channel-ID or with another
// tenant's; no result on errors.
func TestDatasetSubmitErrors(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		e := newLMSEnv(t, db, "")
		channel := []string{"X-Channel-ID", e.State.ID}
		ok := e.portalSubmit(encryptionKey)
		without := func(key string) map[string]any {
			r := map[string]any{}
			for k, v := range ok["request"].(map[string]any) {
				if k != key {
					r[k] = v
				}
			}
			return sbReq(r)
		}
		with := func(key string, v any) map[string]any {
			r := without(key)
			r["request"].(map[string]any)[key] = v
			return r
		}
		for _, c := range []struct {
			name   string
			body   map[string]any
			header []string
			status int
			code   string
			msg    string
		}{
			{"no tag", without("tag"), channel, 400, "CLIENT_ERROR", "tag is empty"},
			{"no dataset", without("dataset"), channel, 400, "CLIENT_ERROR", "dataset is empty"},
			{"no datasetConfig", without("datasetConfig"), channel, 400, "CLIENT_ERROR", "datasetConfig is empty"},
			{"progress exhaust", with("dataset", "progress-exhaust"), channel, 400, "CLIENT_ERROR", msgDatasetNotBuilt},
			{"no channel", ok, nil, 403, "FORBIDDEN", "X-Channel-ID is missing in request header"},
			{"another tenant's channel", ok, []string{"X-Channel-ID", e.Other.ID}, 403, "FORBIDDEN", "You are not authorized."},
			{"six-character key", with("encryptionKey", "abc123"), channel, 400, "CLIENT_ERROR", msgEncryptionKey},
			{"tag of another batch", with("tag", e.course.ID+"_nobatch"), channel, 400, "CLIENT_ERROR", msgTagNotABatch},
			{"unknown course", with("tag", "do_nocourse_"+e.batch.ID), channel, 400, "CLIENT_ERROR", msgTagNotABatch},
		} {
			status, body, raw := e.call(http.MethodPost, "/dataset/v1/request/submit", e.creator, c.body, c.header...)
			if status != c.status || dig(body, "responseCode") != c.code || dig(body, "params.status") != "failed" ||
				dig(body, "params.err") != c.code || dig(body, "params.errmsg") != c.msg {
				t.Errorf("%s: %d %s", c.name, status, raw)
			}
			if _, has := body["result"]; has {
				t.Errorf("%s: an error carries no result: %s", c.name, raw)
			}
		}
		// A learner of the course's tenant may not request it: 403.
		if status, body, raw := e.call(http.MethodPost, "/dataset/v1/request/submit", e.learner, ok, channel...); status != 403 ||
			dig(body, "params.errmsg") != "You are not authorized." {
			t.Errorf("learner: %d %s", status, raw)
		}
		// Unknown request id: Sunbird's responseCode OK with status failed.
		tag := e.course.ID + "_" + e.batch.ID
		status, body, raw := e.call(http.MethodGet, "/dataset/v1/request/read/"+tag+"?requestId=nope", e.creator, nil, channel...)
		if status != http.StatusOK || dig(body, "params.status") != "failed" || dig(body, "params.errmsg") != msgNoJob {
			t.Errorf("unknown request: %d %s", status, raw)
		}
		// With the default kind the file is seed 000's exhaust.
		status, body, raw = e.call(http.MethodPost, "/dataset/v1/request/submit", e.creator, ok, channel...)
		if status != http.StatusOK {
			t.Fatalf("submit: %d %s", status, raw)
		}
		id, _ := dig(body, "result.requestId").(string)
		r, err := store.GetReportRequest(t.Context(), db, id)
		if err != nil || r.Kind != roster.ReportUserProfileExhaust {
			t.Errorf("default kind = %+v, %v", r, err)
		}
		// The same submit again returns the same request (de-duplication).
		if _, body, _ := e.call(http.MethodPost, "/dataset/v1/request/submit", e.creator, ok, channel...); dig(body, "result.requestId") != id {
			if st, _ := store.GetReportRequest(t.Context(), db, id); st.Status == roster.ReportSubmitted || st.Status == roster.ReportProcessing {
				t.Errorf("resubmit = %v, want %s", dig(body, "result.requestId"), id)
			}
		}
	})
}
