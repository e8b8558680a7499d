package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/i18n"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/sheet"
	"github.com/roster-dev/roster/internal/upload"
)

// uploadView is an upload as the API returns it; a dry run also carries
// every row's result.
type uploadView struct {
	*roster.Upload
	Rows []roster.UploadRow `json:"rows,omitempty" doc:"Dry runs only: every row's result"`
}

type uploadOutput struct {
	Status int `json:"-"`
	Body   uploadView
}

type uploadListOutput struct {
	Body struct {
		Uploads []roster.Upload `json:"uploads"`
		Next    string          `json:"next,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

type uploadRowsOutput struct {
	Body struct {
		Rows []roster.UploadRow `json:"rows"`
		Next string             `json:"next,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

type uploadIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

// uploadForm is the multipart form of POST /uploads.
type uploadForm struct {
	fileName   string
	data       []byte
	org        upload.OrgRef
	dryRun     bool
	mode       string
	confirm    bool
	fileExists bool
}

// multipartOverhead is what the form adds around the file: boundaries,
// part headers and the small text fields.
const multipartOverhead = 64 << 10

// Bounds of the upload form besides the file: the form has seven fields,
// each a short id or flag.
const (
	maxFormParts = 8
	maxFormField = 1024
)

// shortName keeps a client's form field name short enough to echo.
func shortName(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (s *Server) uploadRoutes() {
	us := s.cfg.Uploads
	if us == nil {
		return
	}
	maxBytes := us.Limits.WithDefaults().MaxBytes

	submit := op("submitUpload", http.MethodPost, "/uploads", "Upload a CSV or .xlsx file of users for one organisation", "uploads")
	submit.Description = "Multipart form: file, and orgId (or provider + externalId as seed 002 allows), and dryRun " +
		"(as a form field or in the query string: POST /uploads?dryRun=true). " +
		"The file is checked as a whole at once (encoding, header, row limit); then rows are processed in the background: " +
		"the answer (202) carries the upload id to poll. With dryRun=true every row is validated, including against existing users, " +
		"and the answer (200) lists every row's result without creating anyone. " +
		"mode is create (default), update (every row names an existing user by userName, or by externalId with externalIdType and externalIdProvider) " +
		"or upsert (update when the user exists, create otherwise); in update and upsert a blank cell leaves a field as it is and " + registry.ClearMarker + " clears it, " +
		"and a dry run lists per row its action and the fields it changes, old and new, personal values masked. " +
		"An update or upsert that would change or block more of the organisation's members than the change threshold is refused (422, field confirm) unless confirm=true."
	submit.MaxBodyBytes = maxBytes + multipartOverhead
	submit.BodyReadTimeout = 2 * time.Minute
	// huma would try to decode the form against the schema below, and echo
	// the whole body (passwords included) in its error; parseUploadForm
	// validates instead.
	submit.SkipValidateBody = true
	submit.Errors = append(submit.Errors, http.StatusRequestEntityTooLarge)
	// The form is parsed here, in memory, rather than by huma: the file
	// holds passwords and contact details and must never be spooled to a
	// temporary file on disk.
	submit.RequestBody = &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
		"multipart/form-data": {Schema: &huma.Schema{
			Type:     "object",
			Required: []string{"file"},
			Properties: map[string]*huma.Schema{
				"file":       {Type: "string", Format: "binary", Description: "The CSV (UTF-8, UTF-16, Windows-1252; comma or semicolon) or .xlsx file"},
				"orgId":      {Type: "string", Description: "Organisation every user joins"},
				"provider":   {Type: "string", Description: "With externalId: the tenant channel, instead of orgId"},
				"externalId": {Type: "string", Description: "With provider: the organisation's external id"},
				"dryRun":     {Type: "boolean", Description: "Validate only (may also be given in the query string)"},
				"mode":       {Type: "string", Enum: []any{roster.UploadModeCreate, roster.UploadModeUpdate, roster.UploadModeUpsert}, Description: "create (default), update or upsert"},
				"confirm":    {Type: "boolean", Description: "Go ahead although the file changes more of the organisation than the change threshold"},
			},
		}},
	}}
	// A real upload is accepted for background work (202); a dry run
	// answers at once with every row (200). Both carry the same body.
	submit.DefaultStatus = http.StatusAccepted
	register(s, idempotent(submit), s.submitUpload)
	if o := s.api.OpenAPI().Paths[submit.Path].Post; o != nil && o.Responses["202"] != nil {
		dry := *o.Responses["202"]
		dry.Description = "The dry run's result: every row checked, nobody created"
		o.Responses["202"].Description = "Accepted: the rows are processed in the background; poll the upload"
		o.Responses["200"] = &dry
	}

	register(s, described(op("listUploads", http.MethodGet, "/uploads", "An organisation's uploads, latest first", "uploads"),
		"An organisation's uploads, latest first, with status and counts; follow next for older ones."),
		s.listUploads)

	get := described(op("getUpload", http.MethodGet, "/uploads/{id}", "An upload's status and counts (poll it for progress)", "uploads"),
		"An upload's status and row counts. Poll it after submitting until the status is COMPLETED or FAILED.")
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s, get, s.getUpload)

	rows := described(op("listUploadRows", http.MethodGet, "/uploads/{id}/rows", "Row results: row number, status, created user id or errors", "uploads"),
		"Each row's result: row number, status, created or updated user id, or its errors; filter by status and follow next.")
	rows.Errors = append(rows.Errors, http.StatusNotFound)
	register(s, rows, s.listUploadRows)

	result := described(op("uploadResultCSV", http.MethodGet, "/uploads/{id}/result.csv",
		"The result file: the original columns (password blank) plus status and errors", "uploads"),
		"The result file of a finished upload: the original columns (passwords blank) plus each row's status and errors.")
	result.Errors = append(result.Errors, http.StatusNotFound)
	result.Responses = map[string]*huma.Response{"200": {
		Description: "CSV, UTF-8 with BOM",
		Content:     map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}},
	}}
	register(s, result, s.uploadResultCSV)

	tmpl := described(op("uploadTemplate", http.MethodGet, "/uploads/template.csv", "The CSV template: every accepted column in seed 002's order", "uploads"),
		"A CSV file with the header row only: every column an upload accepts, in seed 002's order.")
	tmpl.Responses = result.Responses
	register(s, tmpl, s.uploadTemplate)
}
func (s *Server) submitUpload(ctx context.Context, in *struct {
	// Clients build the URL once and send the same form either way, so
	// a dry run asked for in the query must not quietly create users.
	DryRun      bool   `query:"dryRun" doc:"Validate only; the same as the form field dryRun (either one set to true makes a dry run)"`
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"multipart/form-data"`
}) (*uploadOutput, error) {
	form, err := parseUploadForm(in.ContentType, in.RawBody, s.cfg.Uploads.Limits.WithDefaults().MaxBytes)
	if err != nil {
		return nil, err
	}
	p := caller(ctx)
	opt := upload.Options{Mode: form.mode, Confirm: form.confirm}
	if form.dryRun || in.DryRun {
		res, err := s.cfg.Uploads.DryRunWith(ctx, p, form.org, form.fileName, form.data, opt)
		if err != nil {
			return nil, err
		}
		return &uploadOutput{Status: http.StatusOK, Body: uploadView{Upload: res.Upload, Rows: nonNil(upload.LocalizeRows(i18n.Lang(ctx), res.Rows))}}, nil
	}
	up, err := s.cfg.Uploads.SubmitWith(ctx, p, form.org, form.fileName, form.data, opt)
	if err != nil {
		return nil, err
	}
	return &uploadOutput{Status: http.StatusAccepted, Body: uploadView{Upload: up}}, nil
}

func (s *Server) listUploads(ctx context.Context, in *struct {
	OrgID  string `query:"orgId" maxLength:"64" required:"true"`
	Cursor string `query:"cursor" maxLength:"64" doc:"The next of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
}) (*uploadListOutput, error) {
	list, err := s.cfg.Uploads.List(ctx, caller(ctx), in.OrgID, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &uploadListOutput{}
	out.Body.Uploads = nonNil(list)
	if len(list) == in.Limit {
		last := list[len(list)-1].ID
		out.Body.Next, err = nextCursor(last, func() (int, error) {
			more, err := s.cfg.Uploads.List(ctx, caller(ctx), in.OrgID, last, 1)
			return len(more), err
		})
	}
	return out, err
}

func (s *Server) getUpload(ctx context.Context, in *uploadIDInput) (*uploadOutput, error) {
	up, err := s.cfg.Uploads.Get(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &uploadOutput{Status: http.StatusOK, Body: uploadView{Upload: up}}, nil
}

func (s *Server) listUploadRows(ctx context.Context, in *struct {
	ID     string `path:"id" maxLength:"64"`
	Status string `query:"status" maxLength:"16" doc:"all, created, updated, failed or valid (any case)"`
	Cursor string `query:"cursor" maxLength:"16" doc:"The next of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}) (*uploadRowsOutput, error) {
	after, err := rowCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	list, err := s.cfg.Uploads.Rows(ctx, caller(ctx), in.ID, upload.RowFilter{Status: in.Status, After: after, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &uploadRowsOutput{}
	out.Body.Rows = nonNil(upload.LocalizeRows(i18n.Lang(ctx), list))
	if len(list) == in.Limit {
		last := list[len(list)-1].RowNumber
		out.Body.Next, err = nextCursor(strconv.Itoa(last), func() (int, error) {
			more, err := s.cfg.Uploads.Rows(ctx, caller(ctx), in.ID, upload.RowFilter{Status: in.Status, After: last, Limit: 1})
			return len(more), err
		})
	}
	return out, err
}

func (s *Server) uploadResultCSV(ctx context.Context, in *uploadIDInput) (*huma.StreamResponse, error) {
	p := caller(ctx)
	up, err := s.cfg.Uploads.Get(ctx, p, in.ID)
	if err != nil {
		return nil, err
	}
	// Build the file before answering, so a failure half-way is still a
	// proper error rather than a truncated download.
	var buf bytes.Buffer
	if err := s.cfg.Uploads.ResultCSV(ctx, p, in.ID, &buf); err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(up.FileName, ".csv")
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".xlsx"), ".txt") + "-result.csv"
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", "text/csv; charset=utf-8")
		hctx.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		hctx.SetHeader("Content-Length", strconv.Itoa(buf.Len()))
		hctx.SetStatus(http.StatusOK)
		_, _ = buf.WriteTo(hctx.BodyWriter())
	}}, nil
}

func (s *Server) uploadTemplate(ctx context.Context, _ *struct{}) (*huma.StreamResponse, error) {
	var buf bytes.Buffer
	cw, _ := sheet.NewWriter(&buf, upload.Columns) // a bytes.Buffer does not fail
	_ = cw.Flush()
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", "text/csv; charset=utf-8")
		hctx.SetHeader("Content-Disposition", `attachment; filename="users-template.csv"`)
		hctx.SetStatus(http.StatusOK)
		_, _ = buf.WriteTo(hctx.BodyWriter())
	}}, nil
}

// parseUploadForm reads the multipart form from memory.
func parseUploadForm(contentType string, body []byte, maxFile int64) (*uploadForm, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, roster.Invalid(roster.FieldError{Field: "file", Message: "send the file as multipart/form-data"})
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	f := &uploadForm{}
	var fields []roster.FieldError
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, roster.Invalid(roster.FieldError{Field: "file", Message: "the form could not be read"})
		}
		if parts == maxFormParts {
			return nil, roster.Errorf(roster.ETOOLARGE, "the form has more than %d parts; send the file, orgId (or provider and externalId), dryRun, mode and confirm only", maxFormParts)
		}
		name := part.FormName()
		if name == "file" {
			if f.fileExists {
				return nil, roster.Invalid(roster.FieldError{Field: "file", Message: "send one file per upload"})
			}
			// One byte over the limit is enough for Parse to refuse it
			// with the message naming the limit.
			data, err := io.ReadAll(io.LimitReader(part, maxFile+1))
			if err != nil {
				return nil, roster.Invalid(roster.FieldError{Field: "file", Message: "the file could not be read"})
			}
			f.fileName, f.data, f.fileExists = part.FileName(), data, true
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
		if err != nil {
			return nil, roster.Invalid(roster.FieldError{Field: shortName(name), Message: "could not be read"})
		}
		if len(v) > maxFormField {
			// Refused rather than cut: a cut id could name another
			// organisation.
			fields = append(fields, roster.FieldError{Field: shortName(name), Message: fmt.Sprintf("is longer than %d bytes", maxFormField)})
			continue
		}
		value := strings.TrimSpace(string(v))
		switch name {
		case "orgId":
			f.org.ID = value
		case "provider":
			f.org.Provider = value
		case "externalId":
			f.org.ExternalID = value
		case "dryRun":
			b, err := strconv.ParseBool(strings.ToLower(value))
			if value != "" && err != nil {
				fields = append(fields, roster.FieldError{Field: "dryRun", Message: "must be true or false"})
			}
			f.dryRun = b
		case "confirm":
			b, err := strconv.ParseBool(strings.ToLower(value))
			if value != "" && err != nil {
				fields = append(fields, roster.FieldError{Field: "confirm", Message: "must be true or false"})
			}
			f.confirm = b
		case "mode":
			f.mode = value
		}
	}
	if !f.fileExists {
		fields = append(fields, roster.FieldError{Field: "file", Message: "is required"})
	}
	if len(fields) > 0 {
		return nil, roster.Invalid(fields...)
	}
	return f, nil
}
