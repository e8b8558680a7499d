package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/authz"
	"github.com/roster-dev/roster/internal/sheet"
	"github.com/roster-dev/roster/internal/store"
)

// Bounds of a directory or audit query, enforced before any work.
const (
	MaxSearchLength  = 64 // characters of the name search
	MaxSearchWords   = 4
	DefaultPageSize  = 50
	MaxPageSize      = 200
	MaxExportRows    = 50000
	exportChunk      = 500
	maxCursorLength  = 128
	maxFilterIDChars = 64
)

// Query parameters of the directory and the audit log, as the errors name
// them.
const (
	FieldQuery       = "q"
	FieldRole        = "role"
	FieldSchool      = "school"
	FieldAssociation = "association"
	FieldCursor      = "cursor"
	FieldLimit       = "limit"
	FieldActor       = "actor"
	FieldAction      = "action"
	FieldObjectType  = "objectType"
	FieldObjectID    = "objectId"
	FieldFrom        = "from"
	FieldTo          = "to"
	FieldTenant      = "tenant"
	FieldDeclaration = "declaration"
)

// Messages of a refused directory or audit query.
const (
	MsgSearchLength  = "must be at most 64 characters"
	MsgSearchWords   = "may have at most 4 words"
	MsgUnknownRole   = "is not a role; valid values are the roles of the upload template"
	MsgStatusFilter  = "must be active, blocked or deleted"
	MsgAssocFilter   = "must be sso, self-declared or system-upload"
	MsgDeclFilter    = "must be pending"
	MsgSchoolFilter  = "is not an organisation of this tenant"
	MsgSchoolOfOrg   = "can only be this organisation when listing a school"
	MsgCursor        = "is not a cursor this list handed out; start again from the first page"
	MsgLimit         = "must be between 1 and 200"
	MsgIDFilter      = "must be at most 64 characters"
	MsgTimeRange     = "must be before to"
	MsgExportTooMany = "the list has more than 50000 users; narrow it with a search or filters before exporting"
)

// Associations are the association filter's names for the association bits.
var Associations = map[string]int{
	"sso":           roster.AssociationSSO,
	"self-declared": roster.AssociationSelfDeclared,
	"system-upload": roster.AssociationSystemUpload,
}

// DirectoryFilter is what the console's directory asks for.
type DirectoryFilter struct {
	Query       string // words, each the start of a first or last name
	Role        string
	Status      string // active, blocked, deleted; by default all but deleted
	School      string // an organisation of the tenant
	Association string // a key of Associations
	// Declaration "pending" lists the users whose self-declaration for
	// the organisation waits for review.
	Declaration string
	Cursor      string // the Next of the previous page
	Limit       int
}

// DirectoryPage is one page of a directory. Next is absent on the last page.
type DirectoryPage struct {
	Users []UserView `json:"users"`
	Next  string     `json:"next,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
}

// cursor kinds: a cursor of one list is refused by another.
const (
	cursorDirectory = "u"
	cursorAudit     = "a"
)

// encodeCursor hides the position so clients pass it back unread, and the
// position can change form later without breaking them.
func encodeCursor(kind, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + id))
}

func decodeCursor(kind, c string) (string, *roster.FieldError) {
	if c == "" {
		return "", nil
	}
	bad := &roster.FieldError{Field: FieldCursor, Message: MsgCursor}
	if len(c) > maxCursorLength {
		return "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	id, ok := strings.CutPrefix(string(b), kind+":")
	if err != nil || !ok || id == "" || len(id) > maxFilterIDChars || !isIDChars(id) {
		return "", bad
	}
	return id, nil
}

func isIDChars(s string) bool {
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// directoryQuery checks f against org and turns it into the store's query.
func (s *Service) directoryQuery(ctx context.Context, org *roster.Organisation, f DirectoryFilter) (store.DirectoryQuery, error) {
	q := store.DirectoryQuery{OrgID: org.ID, Tenant: org.ID == org.RootOrgID, Limit: f.Limit}
	var errs []roster.FieldError
	bad := func(field, msg string) { errs = append(errs, roster.FieldError{Field: field, Message: msg}) }
	switch {
	case utf8.RuneCountInString(f.Query) > MaxSearchLength:
		bad(FieldQuery, MsgSearchLength)
	case hasControl(f.Query, false):
		bad(FieldQuery, MsgControl)
	default:
		q.Names = strings.Fields(strings.ToLower(f.Query))
		if len(q.Names) > MaxSearchWords {
			bad(FieldQuery, MsgSearchWords)
		}
	}
	if f.Role != "" && !roster.IsRole(f.Role) {
		bad(FieldRole, MsgUnknownRole)
	}
	q.Role = f.Role
	switch f.Status {
	case "", store.DirectoryActive, store.DirectoryBlocked, store.DirectoryDeleted:
		q.Status = f.Status
	default:
		bad(FieldStatus, MsgStatusFilter)
	}
	if f.Association != "" {
		if q.AssocBit = Associations[f.Association]; q.AssocBit == 0 {
			bad(FieldAssociation, MsgAssocFilter)
		}
	}
	switch f.Declaration {
	case "":
	case roster.DeclarationPending:
		q.PendingDeclaration = true
	default:
		bad(FieldDeclaration, MsgDeclFilter)
	}
	if f.School != "" {
		if fe, err := s.checkSchool(ctx, org, f.School); err != nil {
			return q, err
		} else if fe != nil {
			errs = append(errs, *fe)
		}
		q.School = f.School
	}
	after, fe := decodeCursor(cursorDirectory, f.Cursor)
	if fe != nil {
		errs = append(errs, *fe)
	}
	q.After = after
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	} else if q.Limit < 1 || q.Limit > MaxPageSize {
		bad(FieldLimit, MsgLimit)
	}
	if len(errs) > 0 {
		return q, roster.Invalid(errs...)
	}
	return q, nil
}

// checkSchool accepts a school filter naming an organisation of org's
// tenant; a school's own directory can only be filtered by itself.
func (s *Service) checkSchool(ctx context.Context, org *roster.Organisation, school string) (*roster.FieldError, error) {
	if len(school) > maxFilterIDChars || !isIDChars(school) {
		return &roster.FieldError{Field: FieldSchool, Message: MsgSchoolFilter}, nil
	}
	if org.ID != org.RootOrgID {
		if school != org.ID {
			return &roster.FieldError{Field: FieldSchool, Message: MsgSchoolOfOrg}, nil
		}
		return nil, nil
	}
	o, err := store.GetOrg(ctx, s.db, school)
	if errors.Is(err, store.ErrNoRows) || err == nil && o.RootOrgID != org.RootOrgID {
		// Another tenant's school reads as unknown, so ids cannot be probed.
		return &roster.FieldError{Field: FieldSchool, Message: MsgSchoolFilter}, nil
	}
	return nil, err
}

// directoryOrg loads orgID and asks whether p may list its users.
func (s *Service) directoryOrg(ctx context.Context, p *roster.Principal, orgID string) (*roster.Organisation, error) {
	org, err := store.GetOrg(ctx, s.db, orgID)
	if err != nil {
		return nil, storeErr(err, "organisation")
	}
	if err := authz.Decide(p, authz.ListDirectory, authz.Resource{Tenant: org.RootOrgID, Org: org.ID}); err != nil {
		return nil, err
	}
	return org, nil
}

// Directory returns a page of the users of an organisation (a tenant: all
// its users; a school: its current members) matching f, contact details
// masked. Its admins, and the tenant's, may list it.
func (s *Service) Directory(ctx context.Context, p *roster.Principal, orgID string, f DirectoryFilter) (*DirectoryPage, error) {
	org, err := s.directoryOrg(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	q, err := s.directoryQuery(ctx, org, f)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	q.Limit++ // one more tells whether there is a next page
	recs, err := store.ListDirectory(ctx, s.db, q)
	if err != nil {
		return nil, err
	}
	page := &DirectoryPage{}
	if len(recs) > limit {
		recs = recs[:limit]
		page.Next = encodeCursor(cursorDirectory, recs[len(recs)-1].ID)
	}
	page.Users, err = s.directoryViews(ctx, recs)
	return page, err
}

// directoryViews are recs as the directory shows them: masked, with their
// current memberships.
func (s *Service) directoryViews(ctx context.Context, recs []store.UserRecord) ([]UserView, error) {
	ids := make([]string, len(recs))
	for i := range recs {
		ids[i] = recs[i].ID
	}
	ms, err := store.CurrentMemberships(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	byUser := map[string][]roster.Membership{}
	for _, m := range ms {
		byUser[m.UserID] = append(byUser[m.UserID], m)
	}
	out := make([]UserView, len(recs))
	for i, rec := range recs {
		out[i] = UserView{User: rec.User, Memberships: byUser[rec.ID]}
		out[i].PasswordHash = ""
	}
	return out, nil
}

// ExportColumns are the directory export's columns.
var ExportColumns = []string{"userId", "userName", "firstName", "lastName", "email", "phone", "status", "organisations", "roles", "createdDate"}

// ExportDirectory writes every user matching f (not only one page) as CSV
// to w. Contact details are masked unless full: then the caller needs
// authz.ExportUserPII on the organisation, each row is decrypted only when
// they may read that user's contact details, and the export is audited.
func (s *Service) ExportDirectory(ctx context.Context, p *roster.Principal, orgID string, f DirectoryFilter, full bool, w io.Writer) error {
	org, err := s.directoryOrg(ctx, p, orgID)
	if err != nil {
		return err
	}
	if full {
		if err := authz.Decide(p, authz.ExportUserPII, authz.Resource{Tenant: org.RootOrgID, Org: org.ID}); err != nil {
			return err
		}
	}
	f.Limit = 0
	q, err := s.directoryQuery(ctx, org, f)
	if err != nil {
		return err
	}
	cw, err := sheet.NewWriter(w, ExportColumns)
	if err != nil {
		return err
	}
	// A chunk at a time, so memory holds the file being written, not every
	// user of a large state. The HTTP handler buffers the file, so a list
	// found too long half-way is still refused cleanly.
	rows, shown := 0, 0
	q.Limit = exportChunk
	for {
		recs, err := store.ListDirectory(ctx, s.db, q)
		if err != nil {
			return err
		}
		if rows += len(recs); rows > MaxExportRows {
			return roster.Errorf(roster.EINVALID, "%s", MsgExportTooMany)
		}
		views, err := s.directoryViews(ctx, recs)
		if err != nil {
			return err
		}
		for i := range views {
			row, open, err := s.exportRow(ctx, p, &recs[i], &views[i], full)
			if err != nil {
				return err
			}
			if open {
				shown++
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		if len(recs) < q.Limit {
			break
		}
		q.After = recs[len(recs)-1].ID
	}
	if err := cw.Flush(); err != nil {
		return err
	}
	return store.Audit(ctx, s.db, p.UserID, "user.export", "organisation", org.ID, "ok", exportDetail(f, full, rows, shown))
}

// exportRow is one user's CSV row; open says whether their contact details
// were decrypted.
func (s *Service) exportRow(ctx context.Context, p *roster.Principal, rec *store.UserRecord, v *UserView, full bool) ([]string, bool, error) {
	email, phone := rec.MaskedEmail, rec.MaskedPhone
	open := false
	if full && authz.Allowed(p, authz.ReadUserPII, authz.Resource{User: &authz.User{ID: rec.ID, RootOrgID: rec.RootOrgID, Memberships: v.Memberships}}) {
		var u roster.User
		keys, err := s.readKey(ctx, s.db, rec.ID)
		if err != nil {
			return nil, false, err
		}
		if err := s.decrypt(keys, rec, &u); err != nil {
			return nil, false, err
		}
		email, phone, open = u.Email, u.Phone, true
	}
	var orgs, roles []string
	for _, m := range v.Memberships {
		orgs = append(orgs, m.OrganisationID)
		for _, r := range m.Roles {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	return []string{rec.ID, rec.Username, rec.FirstName, rec.LastName, email, phone, DirectoryStatus(&rec.User),
		strings.Join(orgs, ";"), strings.Join(roles, ";"), rec.CreatedDate.Format(time.RFC3339)}, open, nil
}

// DirectoryStatus is a user's status as the directory filters it.
func DirectoryStatus(u *roster.User) string {
	switch {
	case u.DeletedDate != nil:
		return store.DirectoryDeleted
	case u.Status != roster.StatusActive:
		return store.DirectoryBlocked
	}
	return store.DirectoryActive
}

// exportDetail names what an export held, never who: the filters used
// (names of parameters, not the search words), the counts, and whether
// contacts were in clear.
func exportDetail(f DirectoryFilter, full bool, rows, shown int) string {
	contacts := "masked"
	if full {
		contacts = "full"
	}
	var used []string
	for _, x := range []struct{ name, v string }{{FieldQuery, f.Query}, {FieldRole, f.Role}, {FieldStatus, f.Status},
		{FieldSchool, f.School}, {FieldAssociation, f.Association}} {
		if x.v != "" {
			used = append(used, x.name)
		}
	}
	return "contacts=" + contacts + " rows=" + strconv.Itoa(rows) + " decrypted=" + strconv.Itoa(shown) +
		" filters=" + strings.Join(used, ",")
}

// CursorFor is the directory cursor that continues after userID, for
// callers that page on their own (benchmarks, the CLI).
func CursorFor(userID string) string { return encodeCursor(cursorDirectory, userID) }
