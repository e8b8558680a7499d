package httpapi

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/report"
)

type reportOutput struct {
	Status int `json:"-"`
	Body   *report.Request
}

type reportListOutput struct {
	Body struct {
		Reports []report.Request `json:"reports"`
	}
}

type reportIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type linkOutput struct {
	Body *report.Link
}

func (s *Server) reportRoutes() {
	rs := s.cfg.Reports
	if rs == nil {
		return
	}
	s.reportPolicyRoutes()

	req := op("requestReport", http.MethodPost, "/reports", "Request a report (by default the User Profile Exhaust) of a course batch", "reports")
	req.Description = "Only the course creator may ask. The report is built in the background into a WinZip AES-256 " +
		"encrypted zip opened with the given password, which is never logged and is forgotten once the file is built. " +
		"While an identical request (same kind, format, course, batch and requester) is pending it is returned instead " +
		"(200 with existing=true); a new request answers 202."
	req.DefaultStatus = http.StatusAccepted
	req.Errors = append(req.Errors, http.StatusNotFound)
	register(s, idempotent(req), s.requestReport)

	register(s, described(op("listReports", http.MethodGet, "/reports", "Your report requests, latest first, with download links", "reports"),
		"The report requests you made, latest first, with their status and, once ready, a download link."),
		s.listReports)

	get := described(op("getReport", http.MethodGet, "/reports/{id}", "One of your report requests", "reports"),
		"One of your report requests, its status and, once ready, a download link.")
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s, get, s.getReport)

	link := described(op("reportLink", http.MethodPost, "/reports/{id}/link", "A fresh signed download link (links expire)", "reports"),
		"Signs a fresh download link for a ready report; links expire, so ask again when one has.")
	link.Errors = append(link.Errors, http.StatusNotFound, http.StatusConflict)
	register(s, link, s.reportLink)

	// The token travels in the query string so a plain link works in a
	// browser; the access log never records query strings, and the token
	// is bound to the user it was issued to, so a leaked link is useless to
	// anyone else.
	dl := op("downloadReport", http.MethodGet, "/reports/download", "Download a report file through a signed link", "reports")
	dl.Description = "The link must have been issued to the caller and not have expired. Every download is recorded."
	dl.Errors = append(dl.Errors, http.StatusNotFound, http.StatusConflict)
	dl.Responses = map[string]*huma.Response{"200": {
		Description: "The encrypted zip",
		Content:     map[string]*huma.MediaType{"application/zip": {Schema: &huma.Schema{Type: "string", Format: "binary"}}},
	}}
	register(s, dl, s.downloadReport)
}
func (s *Server) requestReport(ctx context.Context, in *struct {
	Body struct {
		// The enums must list report.KindNames() and report.FormatNames()
		// (TestReportKindsInOpenAPI checks); the first is the default.
		Kind     string `json:"kind,omitempty" enum:"user-profile-exhaust,sunbird-userinfo-exhaust" default:"user-profile-exhaust" doc:"Which report"`
		Format   string `json:"format,omitempty" enum:"csv" default:"csv" doc:"How the file inside the zip is written"`
		CourseID string `json:"courseId" maxLength:"80"`
		BatchID  string `json:"batchId,omitempty" maxLength:"64" doc:"Every batch of the course when empty"`
		Password string `json:"password" format:"password" maxLength:"200" doc:"8 to 99 characters, at least one letter and one digit"`
	}
}) (*reportOutput, error) {
	b := &in.Body
	r, err := s.cfg.Reports.Request(ctx, caller(ctx), report.NewRequest{Kind: b.Kind, Format: b.Format, CourseID: b.CourseID,
		BatchID: b.BatchID, Password: b.Password})
	if err != nil {
		return nil, err
	}
	out := &reportOutput{Status: http.StatusAccepted, Body: r}
	if r.Existing {
		out.Status = http.StatusOK
	}
	return out, nil
}

func (s *Server) listReports(ctx context.Context, in *struct {
	CourseID string `query:"courseId" maxLength:"80" doc:"Only this course's requests"`
	Limit    int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}) (*reportListOutput, error) {
	list, err := s.cfg.Reports.List(ctx, caller(ctx), in.CourseID, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &reportListOutput{}
	out.Body.Reports = nonNil(list)
	return out, nil
}

func (s *Server) getReport(ctx context.Context, in *reportIDInput) (*reportOutput, error) {
	r, err := s.cfg.Reports.Get(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &reportOutput{Status: http.StatusOK, Body: r}, nil
}

func (s *Server) reportLink(ctx context.Context, in *reportIDInput) (*linkOutput, error) {
	l, err := s.cfg.Reports.DownloadLink(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &linkOutput{Body: l}, nil
}

func (s *Server) downloadReport(ctx context.Context, in *struct {
	Token string `query:"token" maxLength:"300" required:"true"`
}) (*huma.StreamResponse, error) {
	f, info, err := s.cfg.Reports.Open(ctx, caller(ctx), in.Token)
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		defer f.Close()
		ctype := info.ContentType
		if ctype == "" {
			ctype = "application/zip"
		}
		hctx.SetHeader("Content-Type", ctype)
		hctx.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": info.Name}))
		hctx.SetHeader("Content-Length", strconv.FormatInt(info.Size, 10))
		hctx.SetStatus(http.StatusOK)
		if _, err := io.Copy(hctx.BodyWriter(), f); err != nil {
			s.log.WarnContext(ctx, "report download interrupted", "report_id", info.ReportID, "err", fmt.Sprint(err))
		}
	}}, nil
}

type policyOutput struct {
	Body *report.PolicyView
}

func (s *Server) reportPolicyRoutes() {
	get := described(op("getReportPolicy", http.MethodGet, "/organisations/{id}/report-policy", "Which personal fields a tenant's reports share on consent", "reports"),
		"The personal fields a tenant's course reports include for learners who consented.")
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s, get, s.getReportPolicy)

	put := op("putReportPolicy", http.MethodPut, "/organisations/{id}/report-policy", "Set a tenant's report policy (org admins)", "reports")
	put.Description = "Give either a preset (\"default\": every personal field on consent; \"seed\": seed 000's rule) " +
		"or selfSignedUp and stateValidated explicitly."
	put.Errors = append(put.Errors, http.StatusNotFound)
	register(s, put, s.putReportPolicy)
}
func (s *Server) getReportPolicy(ctx context.Context, in *struct {
	ID string `path:"id" maxLength:"64" doc:"Tenant (root organisation) id"`
}) (*policyOutput, error) {
	v, err := s.cfg.Reports.GetPolicy(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &policyOutput{Body: v}, nil
}

func (s *Server) putReportPolicy(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"64" doc:"Tenant (root organisation) id"`
	Body struct {
		Preset         string        `json:"preset,omitempty" enum:"default,seed,"`
		SelfSignedUp   *report.Share `json:"selfSignedUp,omitempty"`
		StateValidated *report.Share `json:"stateValidated,omitempty"`
	}
}) (*policyOutput, error) {
	b := in.Body
	var v *report.PolicyView
	var err error
	switch {
	case b.Preset != "" && (b.SelfSignedUp != nil || b.StateValidated != nil):
		return nil, roster.Invalid(roster.FieldError{Field: "preset", Message: "give a preset or explicit fields, not both"})
	case b.Preset != "":
		v, err = s.cfg.Reports.SetPolicyPreset(ctx, caller(ctx), in.ID, b.Preset)
	case b.SelfSignedUp != nil && b.StateValidated != nil:
		v, err = s.cfg.Reports.SetPolicy(ctx, caller(ctx), in.ID, report.Policy{SSU: *b.SelfSignedUp, SSO: *b.StateValidated})
	default:
		return nil, roster.Invalid(roster.FieldError{Field: "preset", Message: "give a preset, or both selfSignedUp and stateValidated"})
	}
	if err != nil {
		return nil, err
	}
	return &policyOutput{Body: v}, nil
}
