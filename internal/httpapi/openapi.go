package httpapi

import (
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/roster-dev/roster"
)

// apiTags are the groups the document declares. An operation's tag must be
// one of them (TestEveryOperationIsDocumented), so a client generator and
// the linters see every group described once.
var apiTags = []*huma.Tag{
	{Name: "auth", Description: "Signing in and out, the caller's own account, terms and conditions."},
	{Name: "signup", Description: "Self sign-up with a one-time code, and sign-up of a managed child."},
	{Name: "users", Description: "Users of a tenant: create, read, edit, transfer, link to SSO, erase."},
	{Name: "organisations", Description: "Organisations (tenants and schools) and their members."},
	{Name: "locations", Description: "The location hierarchy: state, district, block, cluster."},
	{Name: "uploads", Description: "Bulk registration and update of users from CSV or .xlsx files."},
	{Name: "declarations", Description: "Self-declarations of teachers and their review by state admins."},
	{Name: "courses", Description: "Courses, batches, enrolments and consent to share a profile."},
	{Name: "reports", Description: "Course reports (User Profile Exhaust) and the tenant's report policy."},
	{Name: "audit", Description: "A tenant's audit log."},
}

// describeDocument fills in the parts of the document that are about the
// service as a whole rather than one operation.
func describeDocument(hc *huma.Config) {
	hc.Info.Contact = &huma.Contact{Name: "Roster maintainers", URL: "https://github.com/roster-dev/roster/issues"}
	hc.Info.License = &huma.License{Name: "See the repository", URL: "https://github.com/roster-dev/roster"}
	// A relative URL: the document is served by the server it describes,
	// wherever that runs.
	hc.Servers = []*huma.Server{{URL: "/", Description: "The server that serves this document"}}
	hc.Tags = apiTags
	hc.OnAddOperation = append(hc.OnAddOperation, markPublic)
}

// markPublic writes an explicit empty security list on operations that
// need no caller, so the document says they are public on purpose rather
// than forgetting to say how to authenticate. Both mean "no caller
// needed" to authenticate; it also covers operations other packages add.
func markPublic(_ *huma.OpenAPI, op *huma.Operation) {
	if op.Security == nil {
		op.Security = []map[string][]string{}
	}
}

// described sets an operation's description: what it does beyond the
// summary, who may call it, and what to do with the answer.
func described(o huma.Operation, description string) huma.Operation {
	o.Description = description
	return o
}

// nextCursor is the next of a full page that ended with last: every list
// pages the same way (cursor in, next out) and next is absent on the last
// page, so a client stops without asking for an empty one. A full page
// alone does not say whether more follow; probe counts what follows last.
func nextCursor(last string, probe func() (int, error)) (string, error) {
	n, err := probe()
	if err != nil || n == 0 {
		return "", err
	}
	return last, nil
}

// rowCursor reads the cursor of upload rows: the number of the last row
// of the previous page.
func rowCursor(cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(cursor)
	if err != nil || n < 0 {
		return 0, roster.Invalid(roster.FieldError{Field: "cursor", Message: MsgBadCursor})
	}
	return n, nil
}

// MsgBadCursor is the problem of a cursor no page handed out.
const MsgBadCursor = "is not a cursor this list handed out; pass the next of the previous page"
