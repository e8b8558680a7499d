package httpapi

import (
	"bytes"
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

// The list and its export take the same search and filters. huma reads
// no parameters from embedded structs, hence the two full lists.
type listOrgUsersInput struct {
	OrgID       string `path:"orgId" maxLength:"64"`
	Q           string `query:"q" maxLength:"64" doc:"Words, each the start of a first or last name (case-insensitive)"`
	Role        string `query:"role" maxLength:"40" doc:"Users holding this role in a current membership"`
	Status      string `query:"status" enum:"active,blocked,deleted" doc:"By default every user but the deleted"`
	School      string `query:"school" maxLength:"64" doc:"Members of this organisation of the tenant"`
	Association string `query:"association" enum:"sso,self-declared,system-upload" doc:"Members by this association type"`
	Declaration string `query:"declaration" enum:"pending" doc:"pending lists, instead of the members, the users whose self-declaration for this organisation (a tenant: any of its schools) waits for review"`
	Cursor      string `query:"cursor" maxLength:"128" doc:"The next of the previous page"`
	Limit       int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type exportOrgUsersInput struct {
	OrgID       string `path:"orgId" maxLength:"64"`
	Q           string `query:"q" maxLength:"64" doc:"Words, each the start of a first or last name (case-insensitive)"`
	Role        string `query:"role" maxLength:"40" doc:"Users holding this role in a current membership"`
	Status      string `query:"status" enum:"active,blocked,deleted" doc:"By default every user but the deleted"`
	School      string `query:"school" maxLength:"64" doc:"Members of this organisation of the tenant"`
	Association string `query:"association" enum:"sso,self-declared,system-upload" doc:"Members by this association type"`
	Declaration string `query:"declaration" enum:"pending" doc:"pending lists, instead of the members, the users whose self-declaration for this organisation (a tenant: any of its schools) waits for review"`
	Contacts    string `query:"contacts" enum:"masked,full" default:"masked" doc:"full decrypts the emails and phones of the users the caller may see in clear; it is audited"`
}

func (in *listOrgUsersInput) filter() registry.DirectoryFilter {
	return registry.DirectoryFilter{Query: in.Q, Role: in.Role, Status: in.Status, School: in.School, Association: in.Association,
		Declaration: in.Declaration, Cursor: in.Cursor, Limit: in.Limit}
}

func (in *exportOrgUsersInput) filter() registry.DirectoryFilter {
	return (&listOrgUsersInput{Q: in.Q, Role: in.Role, Status: in.Status, School: in.School, Association: in.Association,
		Declaration: in.Declaration}).filter()
}

type directoryOutput struct {
	Body *registry.DirectoryPage
}

type auditInput struct {
	Tenant     string `query:"tenant" maxLength:"64" doc:"The tenant (root organisation) whose log to read; the caller's own by default"`
	Actor      string `query:"actor" maxLength:"64" doc:"User id of who acted"`
	Action     string `query:"action" maxLength:"64" doc:"For example user.update"`
	ObjectType string `query:"objectType" maxLength:"64" doc:"For example user"`
	ObjectID   string `query:"objectId" maxLength:"64"`
	From       string `query:"from" maxLength:"40" doc:"RFC 3339 time, inclusive"`
	To         string `query:"to" maxLength:"40" doc:"RFC 3339 time, exclusive"`
	Cursor     string `query:"cursor" maxLength:"128" doc:"The next of the previous page"`
	Limit      int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type auditOutput struct {
	Body *registry.AuditPage
}

func (s *Server) directoryRoutes() {
	list := op("listOrgUsers", http.MethodGet, "/organisations/{orgId}/users", "List, search and filter an organisation's users", "users")
	list.Description = "A tenant lists all its users, a school its current members; its admins and the tenant's may ask. " +
		"Contact details are masked. Pages are ordered by id; pass next as cursor for the following page (absent on the last). " +
		"Other tenants get 404."
	list.Errors = append(list.Errors, http.StatusNotFound, http.StatusUnprocessableEntity)
	register(s, list, s.listOrgUsers)

	export := op("exportOrgUsers", http.MethodGet, "/organisations/{orgId}/users/export.csv",
		"Every user of the list (all pages) as CSV, contacts masked unless contacts=full", "users")
	export.Description = "The same search and filters as the list, at most 50000 rows. contacts=full decrypts the email and phone " +
		"of each user the caller may see in clear (others stay masked) and is recorded in the audit log."
	export.Errors = append(export.Errors, http.StatusNotFound, http.StatusUnprocessableEntity)
	export.Responses = map[string]*huma.Response{"200": {
		Description: "CSV, UTF-8 with BOM",
		Content:     map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}}},
	}}
	register(s, export, s.exportOrgUsers)

	audit := op("listAudit", http.MethodGet, "/audit", "Read a tenant's audit log, newest first", "audit")
	audit.Description = "Tenant admins read their tenant's log: who did what (field names, never values) to which object and when. " +
		"School admins are refused; another tenant's log is not found."
	audit.Errors = append(audit.Errors, http.StatusNotFound, http.StatusUnprocessableEntity)
	register(s, audit, s.listAudit)
}

func (s *Server) listOrgUsers(ctx context.Context, in *listOrgUsersInput) (*directoryOutput, error) {
	page, err := s.reg.Directory(ctx, caller(ctx), in.OrgID, in.filter())
	if err != nil {
		return nil, queryErr(err)
	}
	return &directoryOutput{Body: page}, nil
}

func (s *Server) exportOrgUsers(ctx context.Context, in *exportOrgUsersInput) (*huma.StreamResponse, error) {
	// Built before answering, so a failure half-way is a proper error
	// rather than a truncated download.
	var buf bytes.Buffer
	if err := s.reg.ExportDirectory(ctx, caller(ctx), in.OrgID, in.filter(), in.Contacts == "full", &buf); err != nil {
		return nil, queryErr(err)
	}
	name := "users-" + in.OrgID + ".csv"
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", "text/csv; charset=utf-8")
		hctx.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		hctx.SetHeader("Content-Length", strconv.Itoa(buf.Len()))
		// Full contacts must not linger in a shared cache.
		hctx.SetHeader("Cache-Control", "no-store")
		hctx.SetStatus(http.StatusOK)
		_, _ = buf.WriteTo(hctx.BodyWriter())
	}}, nil
}

func (s *Server) listAudit(ctx context.Context, in *auditInput) (*auditOutput, error) {
	f := registry.AuditFilter{Tenant: in.Tenant, Actor: in.Actor, Action: in.Action, ObjectType: in.ObjectType,
		ObjectID: in.ObjectID, Cursor: in.Cursor, Limit: in.Limit}
	var errs []roster.FieldError
	for _, t := range []struct {
		field, v string
		dst      **time.Time
	}{{registry.FieldFrom, in.From, &f.From}, {registry.FieldTo, in.To, &f.To}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			errs = append(errs, roster.FieldError{Field: t.field, Message: MsgRFC3339})
			continue
		}
		*t.dst = &v
	}
	if len(errs) > 0 {
		return nil, queryErr(roster.Invalid(errs...))
	}
	page, err := s.reg.AuditLog(ctx, caller(ctx), f)
	if err != nil {
		return nil, queryErr(err)
	}
	return &auditOutput{Body: page}, nil
}

// MsgRFC3339 refuses a time that is not RFC 3339.
const MsgRFC3339 = "must be an RFC 3339 time such as 2026-04-01T00:00:00Z"

// queryErr reports the field errors of a refused query where they were
// found: in the query, not the body the service's errors assume.
func queryErr(err error) error {
	var re *roster.Error
	if !errors.As(err, &re) || re.Code != roster.EINVALID {
		return err
	}
	out := &huma.ErrorModel{Status: http.StatusUnprocessableEntity, Title: http.StatusText(http.StatusUnprocessableEntity), Detail: re.Message}
	for _, f := range re.Fields {
		out.Errors = append(out.Errors, &huma.ErrorDetail{Location: "query." + f.Field, Message: f.Message})
	}
	return out
}
