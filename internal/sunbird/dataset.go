package sunbird

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/report"
)

// The on-demand exhaust API of Sunbird-Obsrv/sunbird-analytics-service
// (analytics-api/conf/routes, mounted under /dataset/v1), onto
// internal/report's requests, links and downloads. The portal reaches it
// as /report/request/* (SunbirdEd-portal src/app/routes/reportRoutes.js).

// datasetPrefix is where Kong's data-product routes point.
const datasetPrefix = "/dataset/v1"

// Sunbird's API ids (analytics-api-core …/api/Model.scala, APIIds).
const (
	apiDatasetSubmit = "ekstep.analytics.dataset.request.submit"
	apiDatasetRead   = "ekstep.analytics.dataset.request.info"
	apiDatasetList   = "ekstep.analytics.dataset.request.list"
	apiDatasetFile   = "ekstep.analytics.dataset.request.download"
)

// datasetUserInfo is the only dataset Roster builds.
const datasetUserInfo = "userinfo-exhaust"

// Messages in Sunbird's words (APIValidator.scala, JobAPIService.scala).
const (
	msgChannelMissing  = "X-Channel-ID is missing in request header"
	msgNotAuthorized   = "You are not authorized."
	msgTagEmpty        = "tag is empty"
	msgDatasetEmpty    = "dataset is empty"
	msgDatasetConfig   = "datasetConfig is empty"
	msgNoJob           = "no job available with the given request_id and tag"
	msgDatasetNotBuilt = "only the userinfo-exhaust dataset is available from this server"
	msgTagNotABatch    = "tag must be <courseId>_<batchId> of a batch of the course"
	msgEncryptionKey   = "encryptionKey must be 8 to 99 characters long and contain at least one letter and one digit"
)

// Bounds of the dataset inputs.
const (
	maxTag       = 200
	maxListLimit = report.MaxList
)

// analyticsEnvelope is the analytics service's Response: ver "1.0", a
// fresh resmsgid, msgid null, status "successful"/"failed", and no
// result at all on errors (CommonUtil.OK, CommonUtil.errorResponse).
type analyticsEnvelope struct {
	ID           string          `json:"id"`
	Ver          string          `json:"ver"`
	Ts           string          `json:"ts"`
	Params       analyticsParams `json:"params"`
	ResponseCode string          `json:"responseCode"`
	Result       any             `json:"result,omitempty"`
}

type analyticsParams struct {
	ResMsgID string  `json:"resmsgid"`
	MsgID    *string `json:"msgid"`
	Err      *string `json:"err"`
	Status   string  `json:"status"`
	ErrMsg   *string `json:"errmsg"`
}

// analyticsTs is Joda's "yyyy-MM-dd'T'HH:mm:ss.SSSZZ" in UTC.
const analyticsTs = "2006-01-02T15:04:05.000-07:00"

// datasetError is an answer of the analytics service: its responseCode
// names the HTTP status (BaseController.result).
type datasetError struct {
	code string // CLIENT_ERROR, FORBIDDEN, OK (sic, for an unknown request id), SERVER_ERROR
	msg  string
}

func (e *datasetError) Error() string { return e.msg }

func datasetStatus(code string) int {
	switch code {
	case "OK":
		return http.StatusOK
	case "CLIENT_ERROR":
		return http.StatusBadRequest
	case "FORBIDDEN":
		return http.StatusForbidden
	case "UNAUTHORIZED":
		return http.StatusUnauthorized
	case "RESOURCE_NOT_FOUND":
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

func writeAnalytics(w http.ResponseWriter, apiID string, status int, env analyticsEnvelope) {
	env.ID, env.Ver, env.Ts = apiID, "1.0", time.Now().UTC().Format(analyticsTs)
	env.Params.ResMsgID = newUUID()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

// failDataset answers err as the analytics service does: Roster's own
// errors are translated to the nearest responseCode; internal errors are
// logged, never shown.
func (s *Server) failDataset(w http.ResponseWriter, r *http.Request, apiID string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	var de *datasetError
	if !errors.As(err, &de) {
		de = &datasetError{code: "SERVER_ERROR", msg: msgServerError}
		switch roster.ErrorCode(err) {
		case roster.EINVALID, roster.ECONFLICT:
			var re *roster.Error
			errors.As(err, &re)
			de = &datasetError{code: "CLIENT_ERROR", msg: datasetFieldMessage(re)}
		case roster.ENOTFOUND:
			de = &datasetError{code: "OK", msg: msgNoJob}
		case roster.EFORBIDDEN:
			de = &datasetError{code: "FORBIDDEN", msg: msgNotAuthorized}
		case roster.EUNAUTHORIZED:
			de = &datasetError{code: "UNAUTHORIZED", msg: msgUnauthorized}
		default:
			s.log.ErrorContext(r.Context(), "sunbird dataset request failed", "path", r.URL.Path, "err", err)
		}
	}
	code, msg := de.code, de.msg
	writeAnalytics(w, apiID, datasetStatus(code), analyticsEnvelope{ResponseCode: code,
		Params: analyticsParams{Err: &code, Status: "failed", ErrMsg: &msg}})
}

// datasetFieldMessage names Sunbird's field where Roster's differs.
func datasetFieldMessage(re *roster.Error) string {
	for _, f := range re.Fields {
		if f.Field == "password" {
			return msgEncryptionKey
		}
	}
	return fieldMessage(re)
}

func (s *Server) datasetRoute(method, path, apiID string, fn func(ctx context.Context, p *roster.Principal, r *http.Request) (any, error)) {
	s.mux.HandleFunc(method+" "+datasetPrefix+path, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.failDataset(w, r, apiID, err)
			return
		}
		out, err := fn(r.Context(), p, r)
		if err != nil {
			s.failDataset(w, r, apiID, err)
			return
		}
		writeAnalytics(w, apiID, http.StatusOK, analyticsEnvelope{ResponseCode: "OK", Result: out,
			Params: analyticsParams{Status: "successful"}})
	})
}

func (s *Server) datasetRoutes() {
	if s.cfg.Reports == nil {
		return
	}
	s.datasetRoute(http.MethodPost, "/request/submit", apiDatasetSubmit, s.submitDataset)
	s.datasetRoute(http.MethodGet, "/request/list/{tag}", apiDatasetList, s.listDatasets)
	s.datasetRoute(http.MethodGet, "/request/read/{tag}", apiDatasetRead, s.readDataset)
	s.mux.HandleFunc(http.MethodGet+" "+datasetPrefix+"/request/download", s.downloadDataset)
}

// jobResponse is Sunbird's JobResponse (Model.scala); absent options are
// left out, as its JSON serialiser leaves out None.
type jobResponse struct {
	RequestID        string            `json:"requestId"`
	Tag              string            `json:"tag"`
	Dataset          string            `json:"dataset"`
	RequestedBy      string            `json:"requestedBy"`
	RequestedChannel string            `json:"requestedChannel"`
	Status           string            `json:"status"`
	LastUpdated      int64             `json:"lastUpdated"`
	DatasetConfig    map[string]string `json:"datasetConfig"`
	Attempts         int               `json:"attempts"`
	JobStats         jobStats          `json:"jobStats"`
	DownloadURLs     []string          `json:"downloadUrls,omitempty"`
	ExpiresAt        *int64            `json:"expiresAt,omitempty"`
	StatusMessage    string            `json:"statusMessage,omitempty"`
}

type jobStats struct {
	DtJobSubmitted int64  `json:"dtJobSubmitted"`
	DtJobCompleted *int64 `json:"dtJobCompleted,omitempty"`
	ExecutionTime  *int64 `json:"executionTime,omitempty"`
}

// datasetRequest is the portal's submit body (on-demand-reports.component.ts).
type datasetRequest struct {
	Tag           string         `json:"tag"`
	RequestedBy   string         `json:"requestedBy"`
	Dataset       string         `json:"dataset"`
	DatasetConfig map[string]any `json:"datasetConfig"`
	OutputFormat  string         `json:"output_format"`
	EncryptionKey string         `json:"encryptionKey"`
}

// channel is the X-Channel-ID the portal sets to the requester's rootOrgId;
// Sunbird refuses a request from a user of another tenant
// (APIValidator.authorizeDataExhaustRequest compares it with rootOrg.id).
func channel(r *http.Request, p *roster.Principal) (string, error) {
	ch := strings.TrimSpace(r.Header.Get("X-Channel-ID"))
	if ch == "" {
		return "", &datasetError{code: "FORBIDDEN", msg: msgChannelMissing}
	}
	if !strings.EqualFold(ch, p.RootOrgID) {
		return "", &datasetError{code: "FORBIDDEN", msg: msgNotAuthorized}
	}
	return ch, nil
}

// courseBatch splits the portal's tag, "<courseId>_<batchId>". Course ids
// ("do_…") hold underscores themselves, so the batch id is cut from the end.
func courseBatch(tag, batchID string) (courseID string, ok bool) {
	if batchID != "" {
		if c, found := strings.CutSuffix(tag, "_"+batchID); found && c != "" {
			return c, true
		}
		return "", false
	}
	i := strings.LastIndex(tag, "_")
	if i <= 0 || i == len(tag)-1 {
		return "", false
	}
	return tag[:i], true
}

func (s *Server) submitDataset(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	var in datasetRequest
	if err := readRequest(r, &in); err != nil {
		return nil, &datasetError{code: "CLIENT_ERROR", msg: msgInvalidRequest}
	}
	in.Tag, in.Dataset = strings.TrimSpace(in.Tag), strings.TrimSpace(in.Dataset)
	switch {
	case in.Tag == "":
		return nil, &datasetError{code: "CLIENT_ERROR", msg: msgTagEmpty}
	case in.Dataset == "":
		return nil, &datasetError{code: "CLIENT_ERROR", msg: msgDatasetEmpty}
	case len(in.DatasetConfig) == 0:
		return nil, &datasetError{code: "CLIENT_ERROR", msg: msgDatasetConfig}
	case len(in.Tag) > maxTag:
		return nil, &datasetError{code: "CLIENT_ERROR", msg: msgTagNotABatch}
	case in.Dataset != datasetUserInfo:
		// The portal offers progress-exhaust and response-exhaust too;
		// Roster records no progress or responses to build them from.
		return nil, &datasetError{code: "CLIENT_ERROR", msg: msgDatasetNotBuilt}
	}
	ch, err := channel(r, p)
	if err != nil {
		return nil, err
	}
	batchID, _ := in.DatasetConfig["batchId"].(string)
	courseID, ok := courseBatch(in.Tag, strings.TrimSpace(batchID))
	if !ok {
		return nil, &datasetError{code: "CLIENT_ERROR", msg: msgTagNotABatch}
	}
	batchID = in.Tag[len(courseID)+1:]
	// requestedBy is the caller: Roster takes the requester from the token,
	// never from the body, so the body's value is not trusted.
	req, err := s.cfg.Reports.Request(ctx, p, report.NewRequest{Kind: s.cfg.ExhaustKind, CourseID: courseID, BatchID: batchID,
		Password: in.EncryptionKey})
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		// An unknown course: the tag names no batch Roster knows. (Read's
		// "no job available", which ENOTFOUND otherwise becomes, would be
		// a 200 here.)
		return nil, &datasetError{code: "CLIENT_ERROR", msg: msgTagNotABatch}
	} else if err != nil {
		return nil, err
	}
	return s.job(r, req, ch), nil
}

// job renders a report request as Sunbird's JobResponse.
func (s *Server) job(r *http.Request, req *report.Request, ch string) jobResponse {
	tag := req.CourseID + "_" + req.BatchID
	j := jobResponse{RequestID: req.ID, Tag: tag + ":" + ch, Dataset: datasetUserInfo, RequestedBy: req.RequestedBy,
		RequestedChannel: ch, Status: req.Status, LastUpdated: req.RequestedAt.UnixMilli(),
		DatasetConfig: map[string]string{"batchId": req.BatchID},
		JobStats:      jobStats{DtJobSubmitted: req.RequestedAt.UnixMilli()}, StatusMessage: req.Failure}
	if req.Status == roster.ReportExpired {
		// Sunbird has no EXPIRED: its files stay until a new request.
		j.Status, j.StatusMessage = roster.ReportFailed, "the report file was deleted after the retention period; request the report again"
	}
	if req.FinishedAt != nil {
		done, took := req.FinishedAt.UnixMilli(), req.FinishedAt.Sub(req.RequestedAt).Milliseconds()
		j.LastUpdated, j.JobStats.DtJobCompleted, j.JobStats.ExecutionTime = done, &done, &took
	}
	if req.Download != nil {
		exp := req.Download.ExpiresAt.UnixMilli()
		j.DownloadURLs, j.ExpiresAt = []string{absolute(r, datasetPrefix+"/request/download?token="+req.Download.Token)}, &exp
	}
	return j
}

// absolute makes a path a URL on the host the caller reached, as Sunbird's
// signed URLs are absolute.
func absolute(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// tagCourse reads {tag} and returns its course and batch.
func tagCourse(r *http.Request) (courseID, batchID string, err error) {
	tag := strings.TrimSpace(r.PathValue("tag"))
	if tag == "" || len(tag) > maxTag {
		return "", "", &datasetError{code: "CLIENT_ERROR", msg: msgTagNotABatch}
	}
	courseID, ok := courseBatch(tag, "")
	if !ok {
		return "", "", &datasetError{code: "CLIENT_ERROR", msg: msgTagNotABatch}
	}
	// A batch id has no underscore, so the last one splits the tag.
	return courseID, tag[len(courseID)+1:], nil
}

func (s *Server) listDatasets(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	ch, err := channel(r, p)
	if err != nil {
		return nil, err
	}
	courseID, batchID, err := tagCourse(r)
	if err != nil {
		return nil, err
	}
	limit := maxListLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, &datasetError{code: "CLIENT_ERROR", msg: "limit must be a positive number"}
		}
		limit = min(n, maxListLimit)
	}
	reqs, err := s.cfg.Reports.List(ctx, p, courseID, maxListLimit)
	if err != nil {
		return nil, err
	}
	jobs := []jobResponse{}
	for i := range reqs {
		if reqs[i].BatchID != batchID || len(jobs) == limit {
			continue
		}
		jobs = append(jobs, s.job(r, &reqs[i], ch))
	}
	return map[string]any{"count": len(jobs), "jobs": jobs}, nil
}

func (s *Server) readDataset(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	ch, err := channel(r, p)
	if err != nil {
		return nil, err
	}
	courseID, batchID, err := tagCourse(r)
	if err != nil {
		return nil, err
	}
	id := strings.TrimSpace(r.URL.Query().Get("requestId"))
	if id == "" || len(id) > maxTag {
		return nil, &datasetError{code: "OK", msg: msgNoJob}
	}
	req, err := s.cfg.Reports.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if req.CourseID != courseID || req.BatchID != batchID {
		// Sunbird answers an unknown request id with responseCode OK and
		// status "failed" (JobAPIService.getDataRequest).
		return nil, &datasetError{code: "OK", msg: msgNoJob}
	}
	return s.job(r, req, ch), nil
}

// downloadDataset serves a downloadUrls entry. The link is Roster's
// signed, expiring link, bound to the user it was issued to, so the
// request must carry that user's token as well, which the portal's
// proxy adds (x-authenticated-user-token).
func (s *Server) downloadDataset(w http.ResponseWriter, r *http.Request) {
	p, err := s.authenticate(r)
	if err != nil {
		s.failDataset(w, r, apiDatasetFile, err)
		return
	}
	tok := r.URL.Query().Get("token")
	if len(tok) > 1024 {
		s.failDataset(w, r, apiDatasetFile, &datasetError{code: "CLIENT_ERROR", msg: msgInvalidRequest})
		return
	}
	rc, f, err := s.cfg.Reports.Open(r.Context(), p, tok)
	if err != nil {
		s.failDataset(w, r, apiDatasetFile, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	if _, err := io.Copy(w, rc); err != nil && !errors.Is(err, context.Canceled) {
		s.log.WarnContext(r.Context(), "sunbird dataset download interrupted", "err", err)
	}
}

// newUUID is a random (version 4) UUID, the analytics service's resmsgid.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
