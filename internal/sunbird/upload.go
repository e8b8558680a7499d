package sunbird

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/upload"
)

// Upload routes: the portal posts to /learner/user/v1/upload (Kong:
// /api/user/v1/upload → service /v1/user/upload; the old portal used
// /v2), and polls /learner/data/v1/upload/status/{pid}.
func (s *Server) uploadRoutes() {
	if s.cfg.Uploads == nil {
		return
	}
	s.route(http.MethodPost, []string{"/v1", "/v2"}, "/user/upload", "api.user.upload", s.submitUpload)
	s.route(http.MethodGet, v1, "/upload/status/{processId}", "", s.uploadStatus)
}

// uploadRequest is what createAndInitBulkRequest
// (controller/app/controllers/bulkapimanagement/BaseBulkUploadController.java)
// collects from any of its three bodies: the file, and every other field.
type uploadRequest struct {
	fileName string
	data     []byte
	fields   map[string]string
}

// Bounds of the form besides the file: Sunbird's form has a handful of
// short fields.
const (
	maxFormParts = 16
	maxFormField = 1024
	// formOverhead is what multipart adds around the file.
	formOverhead = 64 << 10
)

// Sunbird's answer to an oversize file: key 0014 "Max allowed size is 10MB"
// (file_upload_max_size); Roster's limit is configurable, so it names it.
func (s *Server) tooLarge() error {
	return &sunbirdError{status: http.StatusBadRequest, key: keySizeLimit,
		msg: sprintf(msgSizeLimit, formatMB(s.cfg.Uploads.Limits.WithDefaults().MaxBytes))}
}

func formatMB(n int64) string {
	return strings.TrimSuffix(sprintf("%.1f", float64(n)/(1<<20)), ".0") + "MB"
}

func (s *Server) readUpload(r *http.Request) (*uploadRequest, error) {
	maxBytes := s.cfg.Uploads.Limits.WithDefaults().MaxBytes
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+formOverhead+1))
	if err != nil {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
	}
	if int64(len(body)) > maxBytes+formOverhead {
		return nil, s.tooLarge()
	}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var in *uploadRequest
	switch ct {
	case "multipart/form-data":
		in, err = readMultipart(body, ctParams["boundary"])
	case "application/x-www-form-urlencoded":
		in, err = readURLEncoded(body)
	default:
		in, err = readJSONUpload(body)
	}
	if err != nil {
		return nil, err
	}
	if in.data == nil {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyMissingFile, msg: msgMissingFile}
	}
	if int64(len(in.data)) > maxBytes {
		return nil, s.tooLarge()
	}
	if len(strings.TrimSpace(string(in.data))) == 0 {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyEmptyCSV, msg: msgEmptyCSV}
	}
	return in, nil
}

// readMultipart takes the first part that is a file, whatever its name
// (the portal names it "user", scripts "file"), as
// createAndInitBulkRequest does; every other part is a field. The form is
// read in memory: the file holds contact details and must not be spooled
// to disk.
func readMultipart(body []byte, boundary string) (*uploadRequest, error) {
	bad := &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
	if boundary == "" {
		return nil, bad
	}
	mr := multipart.NewReader(strings.NewReader(string(body)), boundary)
	in := &uploadRequest{fields: map[string]string{}}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return in, nil
		} else if err != nil || n >= maxFormParts {
			return nil, bad
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, bad
		}
		if part.FileName() != "" {
			if in.data == nil {
				in.fileName, in.data = part.FileName(), b
			}
			continue
		}
		if len(b) > maxFormField {
			return nil, bad
		}
		in.fields[part.FormName()] = string(b)
	}
}

func readURLEncoded(body []byte) (*uploadRequest, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil || len(vals) > maxFormParts {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
	}
	in := &uploadRequest{fields: map[string]string{}, fileName: "upload.csv"}
	for k, v := range vals {
		if k == "data" {
			in.data = []byte(v[0])
			continue
		}
		if len(v[0]) > maxFormField {
			return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
		}
		in.fields[k] = v[0]
	}
	return in, nil
}

// readJSONUpload reads {"request": {"data": "<csv text>", …}}.
func readJSONUpload(body []byte) (*uploadRequest, error) {
	var env struct {
		Request map[string]json.RawMessage `json:"request"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Request == nil || len(env.Request) > maxFormParts {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
	}
	in := &uploadRequest{fields: map[string]string{}, fileName: "upload.csv"}
	for k, raw := range env.Request {
		var v string
		if json.Unmarshal(raw, &v) != nil {
			continue // Sunbird's other request keys (lists, objects) name nothing Roster reads
		}
		if k == "data" {
			in.data = []byte(v)
			continue
		}
		if len(v) > maxFormField {
			return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
		}
		in.fields[k] = v
	}
	return in, nil
}

// orgRef reads the organisation of both flows. 1.10 required organisationId,
// or orgExternalId with orgProvider (sunbird-lms-mw
// BulkUploadManagementActor); the current service ignores them and puts
// users in the uploader's root organisation, so without them Roster does
// the same. Roster's own names (orgId, externalId + provider) work too.
func orgRef(p *roster.Principal, f map[string]string) upload.OrgRef {
	get := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(f[n]); v != "" {
				return v
			}
		}
		return ""
	}
	if id := get("organisationId", "orgId"); id != "" {
		return upload.OrgRef{ID: id}
	}
	ext, prov := get("orgExternalId", "externalId"), get("orgProvider", "provider")
	if ext != "" && prov != "" {
		return upload.OrgRef{Provider: prov, ExternalID: ext}
	}
	return upload.OrgRef{ID: p.RootOrgID}
}

func (s *Server) submitUpload(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	in, err := s.readUpload(r)
	if err != nil {
		return nil, err
	}
	up, err := s.cfg.Uploads.Submit(ctx, p, orgRef(p, in.fields), in.fileName, in.data, false)
	if err != nil {
		return nil, err
	}
	return map[string]any{"processId": up.ID}, nil
}

// Sunbird's bulk upload statuses and messages
// (core/platform-common/src/main/java/org/sunbird/util/ProjectUtil.java
// BulkProcessStatus, and BulkUploadManagementActor.getUploadStatus).
var sunbirdStatus = map[string][2]string{
	roster.UploadNew:        {"NOT STARTED", "Operation is not started."},
	roster.UploadInProgress: {"IN PROGRESS", "Operation is in progress."},
	roster.UploadCompleted:  {"COMPLETED", "Operation is completed."},
	// Sunbird has no failed state for a file; the portal tests only for
	// COMPLETED, so Roster's FAILED is shown as it is, with the reason.
	roster.UploadFailed: {"FAILED", "Operation failed."},
}

// maxStatusRows bounds the rows one status answer echoes; an upload has at
// most upload.DefaultMaxRows by default, and the layer reads them in pages.
const maxStatusRows = 100000

func (s *Server) uploadStatus(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	id := r.PathValue("processId")
	up, err := s.cfg.Uploads.Get(ctx, p, id)
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil, &sunbirdError{status: http.StatusNotFound, key: keyResourceNotFound, msg: sprintf(msgResourceNotFound, "processId")}
		}
		return nil, err
	}
	st := sunbirdStatus[up.Status]
	resp := map[string]any{"processId": up.ID, "objectType": "user", "status": st[0], "message": st[1]}
	if up.Status == roster.UploadFailed && up.Failure != "" {
		resp["message"] = sentence(up.Failure)
	}
	if up.Status == roster.UploadCompleted {
		success, failure, err := s.statusRows(ctx, p, up)
		if err != nil {
			return nil, err
		}
		resp["successResult"], resp["failureResult"] = success, failure
	}
	return map[string]any{"response": []any{resp}}, nil
}

// statusRows echoes every row as Sunbird does: its input columns, plus the
// new user's id for a success and err_msg for a failure. Contact values are
// masked the way Sunbird masks success rows (its encEmail/encPhone, the
// values encrypted with Sunbird's key, have no Roster equivalent and are
// left out).
func (s *Server) statusRows(ctx context.Context, p *roster.Principal, up *roster.Upload) (success, failure []map[string]any, err error) {
	success, failure = []map[string]any{}, []map[string]any{}
	const page = 1000
	after := 0
	for n := 0; n < maxStatusRows; n += page {
		rows, err := s.cfg.Uploads.RowResults(ctx, p, up.ID, after, page)
		if err != nil {
			return nil, nil, err
		}
		for _, row := range rows {
			out := map[string]any{}
			for _, c := range up.Columns {
				out[c] = row.Values[c]
			}
			maskContacts(out)
			op := row.Action
			if op == "" {
				op = roster.RowActionCreate
			}
			out["operation"] = op
			if row.Status == roster.UploadRowFailed {
				out["err_msg"] = upload.JoinErrors(row.Errors)
				failure = append(failure, out)
				continue
			}
			out["id"], out["userId"] = row.UserID, row.UserID
			success = append(success, out)
		}
		if len(rows) < page {
			break
		}
		after = rows[len(rows)-1].RowNumber
	}
	return success, failure, nil
}

// maskContacts masks the email and phone cells of an echoed row (its keys
// are seed 002's column names, whatever spelling the file used).
func maskContacts(row map[string]any) {
	if s, _ := row[upload.ColEmail].(string); s != "" {
		row[upload.ColEmail] = pii.MaskEmail(s)
	}
	if s, _ := row[upload.ColPhone].(string); s != "" {
		row[upload.ColPhone] = maskPhoneCell(s)
	}
}

// maskPhoneCell masks a phone as written in the file; a cell that is not a
// valid number is hidden whole rather than echoed.
func maskPhoneCell(s string) string {
	if e164, err := pii.NormalisePhone(s, ""); err == nil {
		return pii.MaskPhone(e164)
	}
	return "******"
}
