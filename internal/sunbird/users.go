package sunbird

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

// Versions of each user route in Sunbird-Lern/userorg-service
// controller/conf/routes.
var (
	createVersions = []string{"/v1", "/v2", "/v3"}
	readVersions   = []string{"/v1", "/v2", "/v3", "/v4", "/v5"}
	searchVersions = []string{"/v1", "/v2", "/v3"}
	v1             = []string{"/v1"}
)

func (s *Server) userRoutes() {
	s.route(http.MethodPost, createVersions, "/user/create", "", s.createUser)
	s.route(http.MethodPost, v1, "/ssouser/create", "", s.createUser)
	// A GET's id keeps the path parameter (BaseController.getApiResponseId),
	// so it is left to responseID.
	s.route(http.MethodGet, readVersions, "/user/read/{id}", "", s.readUser)
	s.route(http.MethodPost, searchVersions, "/user/search", "api.user.search", s.searchUser)
	s.route(http.MethodPost, v1, "/user/block", "api.user.block", s.blockUser)
	s.route(http.MethodPost, v1, "/user/unblock", "api.user.unblock", s.unblockUser)
}

// maxJSONBody bounds a JSON request; a user create is a few kilobytes.
const maxJSONBody = 64 << 10

// readRequest decodes Sunbird's {"request": {...}} body into v.
func readRequest(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		return &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
	}
	if len(body) > maxJSONBody {
		return &sunbirdError{status: http.StatusBadRequest, key: keySizeLimit, msg: sprintf(msgSizeLimit, "64KB")}
	}
	var env struct {
		Request json.RawMessage `json:"request"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Request) == 0 || string(env.Request) == "null" {
		return &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
	}
	if err := json.Unmarshal(env.Request, v); err != nil {
		return &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
	}
	return nil
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func mandatory(name string) error {
	return &sunbirdError{status: http.StatusBadRequest, key: keyMandatoryMissing, msg: sprintf(msgMandatoryMissing, name)}
}

// userIDRequest is the body of block and unblock.
type userIDRequest struct {
	UserID string `json:"userId"`
}

func (s *Server) blockUser(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	return s.setStatus(ctx, p, r, roster.StatusActive, msgUserInactive, s.reg.BlockUser)
}

func (s *Server) unblockUser(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	return s.setStatus(ctx, p, r, roster.StatusInactive, msgUserActive, s.reg.UnblockUser)
}

// setStatus blocks or unblocks. Roster's registry makes a repeated block a
// no-op; Sunbird refuses it ("User is already inactive.", key 0008,
// UserStatusServiceImpl), and scripts check for that answer, so the layer
// reads the status first and answers as Sunbird does.
func (s *Server) setStatus(ctx context.Context, p *roster.Principal, r *http.Request, from int, already string,
	change func(context.Context, *roster.Principal, string) error) (any, error) {
	var in userIDRequest
	if err := readRequest(r, &in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.UserID) == "" {
		return nil, mandatory("userId")
	}
	u, err := s.reg.GetUser(ctx, p, in.UserID)
	if err != nil {
		return nil, err
	}
	if u.Status != from || u.IsDeleted && from == roster.StatusActive {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyUserStatus, msg: already}
	}
	if err := change(ctx, p, in.UserID); err != nil {
		return nil, err
	}
	return map[string]any{"response": "SUCCESS"}, nil
}

func (s *Server) readUser(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	u, err := s.reg.GetUser(ctx, p, r.PathValue("id"))
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil, userNotFound()
		}
		return nil, err
	}
	return map[string]any{"response": userJSON(u)}, nil
}

func userNotFound() error {
	return &sunbirdError{status: http.StatusNotFound, key: keyResourceNotFound, msg: sprintf(msgResourceNotFound, "user")}
}

// sbUser is a user in Sunbird's read shape
// (service/src/main/java/org/sunbird/service/user/UserProfileReadService.java).
// email and phone are what the caller may see: in clear for those Roster
// lets read contacts, masked for everyone else, as Sunbird masks them for
// anyone but the user; maskedEmail and maskedPhone are always given.
type sbUser struct {
	ID               string                    `json:"id"`
	UserID           string                    `json:"userId"`
	Identifier       string                    `json:"identifier"`
	FirstName        string                    `json:"firstName"`
	LastName         string                    `json:"lastName"`
	UserName         string                    `json:"userName"`
	Email            string                    `json:"email"`
	Phone            string                    `json:"phone"`
	MaskedEmail      string                    `json:"maskedEmail"`
	MaskedPhone      string                    `json:"maskedPhone"`
	EmailVerified    bool                      `json:"emailVerified"`
	PhoneVerified    bool                      `json:"phoneVerified"`
	CountryCode      string                    `json:"countryCode,omitempty"`
	DOB              string                    `json:"dob,omitempty"`
	Gender           string                    `json:"gender,omitempty"`
	Language         []string                  `json:"language"`
	Location         string                    `json:"location,omitempty"`
	Channel          string                    `json:"channel"`
	RootOrgID        string                    `json:"rootOrgId"`
	Roles            []string                  `json:"roles"`
	Organisations    []sbOrg                   `json:"organisations"`
	ProfileLocation  []roster.LocationRef      `json:"profileLocation"`
	ProfileUserTypes []roster.UserType         `json:"profileUserTypes"`
	Framework        map[string][]string       `json:"framework"`
	ExternalIDs      []sbExternalID            `json:"externalIds"`
	FlagsValue       int                       `json:"flagsValue"`
	Status           int                       `json:"status"`
	IsDeleted        bool                      `json:"isDeleted"`
	ManagedBy        string                    `json:"managedBy,omitempty"`
	TncAcceptedOn    string                    `json:"tncAcceptedOn,omitempty"`
	TncAcceptedVer   string                    `json:"tncAcceptedVersion,omitempty"`
	AllTncAccepted   map[string]map[string]any `json:"allTncAccepted"`
	CreatedDate      string                    `json:"createdDate"`
	UpdatedDate      string                    `json:"updatedDate,omitempty"`
}

type sbOrg struct {
	OrganisationID  string   `json:"organisationId"`
	Roles           []string `json:"roles"`
	AssociationType int      `json:"associationType"`
	IsDeleted       bool     `json:"isDeleted"`
	OrgJoinDate     string   `json:"orgjoindate"`
}

type sbExternalID struct {
	ID       string `json:"id"`
	IDType   string `json:"idType"`
	Provider string `json:"provider"`
}

// sunbirdDate is Sunbird's stored date format, the envelope's ts format.
func sunbirdDate(t time.Time) string { return sunbirdTime(t) }

func userJSON(u *registry.UserView) sbUser {
	out := sbUser{
		ID: u.ID, UserID: u.ID, Identifier: u.ID,
		FirstName: u.FirstName, LastName: u.LastName, UserName: u.Username,
		Email: u.Email, Phone: u.Phone, MaskedEmail: u.MaskedEmail, MaskedPhone: u.MaskedPhone,
		EmailVerified: u.EmailVerified, PhoneVerified: u.PhoneVerified,
		CountryCode: u.CountryCode, DOB: u.DOB, Gender: u.Gender, Language: nonNil(u.Language),
		Location: u.Location, Channel: u.Channel, RootOrgID: u.RootOrgID,
		ProfileLocation: nonNil(u.ProfileLocation), ProfileUserTypes: nonNil(u.ProfileUserTypes),
		Framework: u.Framework, FlagsValue: u.FlagsValue, Status: u.Status, IsDeleted: u.IsDeleted,
		ManagedBy: u.ManagedBy, TncAcceptedVer: u.TncAcceptedVersion,
		AllTncAccepted: map[string]map[string]any{}, CreatedDate: sunbirdDate(u.CreatedDate),
		Roles: []string{}, Organisations: []sbOrg{}, ExternalIDs: []sbExternalID{},
	}
	if !u.PIIVisible {
		// Sunbird puts the masked value in email/phone for other readers.
		out.Email, out.Phone = u.MaskedEmail, u.MaskedPhone
	}
	if out.Framework == nil {
		out.Framework = map[string][]string{}
	}
	if u.TncAcceptedOn != nil {
		out.TncAcceptedOn = sunbirdDate(*u.TncAcceptedOn)
	}
	if u.UpdatedDate != nil {
		out.UpdatedDate = sunbirdDate(*u.UpdatedDate)
	}
	for kind, a := range u.AllTncAccepted {
		out.AllTncAccepted[kind] = map[string]any{"version": a.Version, "tncAcceptedOn": a.TncAcceptedOn}
	}
	seen := map[string]bool{}
	for _, m := range u.Memberships {
		out.Organisations = append(out.Organisations, sbOrg{OrganisationID: m.OrganisationID, Roles: nonNil(m.Roles),
			AssociationType: m.AssociationType, IsDeleted: m.IsDeleted, OrgJoinDate: sunbirdDate(m.OrgJoinDate)})
		if m.IsDeleted {
			continue
		}
		for _, role := range m.Roles {
			if !seen[role] {
				seen[role] = true
				out.Roles = append(out.Roles, role)
			}
		}
	}
	for _, x := range u.ExternalIDs {
		out.ExternalIDs = append(out.ExternalIDs, sbExternalID{ID: x.ExternalID, IDType: x.IDType, Provider: x.Provider})
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// createRequest is Sunbird's user create body
// (controller/app/controllers/usermanagement/UserController.java,
// validator/UserRequestValidator.java). Only what Roster stores is read;
// the registry's rule book checks every field.
type createRequest struct {
	FirstName      string               `json:"firstName"`
	LastName       string               `json:"lastName"`
	Email          string               `json:"email"`
	Phone          string               `json:"phone"`
	CountryCode    string               `json:"countryCode"`
	EmailVerified  *bool                `json:"emailVerified"`
	PhoneVerified  *bool                `json:"phoneVerified"`
	UserName       string               `json:"userName"`
	Password       string               `json:"password"`
	DOB            string               `json:"dob"`
	Gender         string               `json:"gender"`
	Language       []string             `json:"language"`
	Location       string               `json:"location"`
	Channel        string               `json:"channel"`
	OrganisationID string               `json:"organisationId"`
	Roles          []string             `json:"roles"`
	ExternalIDs    []sbExternalIDOp     `json:"externalIds"`
	UserType       string               `json:"userType"`
	UserSubType    string               `json:"userSubType"`
	LocationCodes  []string             `json:"locationCodes"`
	Framework      map[string]any       `json:"framework"`
	ManagedBy      string               `json:"managedBy"`
	ProfileLoc     []roster.LocationRef `json:"profileLocation"`
}

type sbExternalIDOp struct {
	ID        string `json:"id"`
	IDType    string `json:"idType"`
	Provider  string `json:"provider"`
	Operation string `json:"operation"`
}

// maxListItems bounds every list of a create body before it reaches the
// rule book.
const maxListItems = 20

// createUser translates onto registry.CreateUser, the service POST
// /api/v1/users calls. Sunbird's organisationId, or else channel, names
// the organisation; the user joins it with the given roles.
func (s *Server) createUser(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	var in createRequest
	if err := readRequest(r, &in); err != nil {
		return nil, err
	}
	if len(in.Roles) > maxListItems || len(in.Language) > maxListItems || len(in.ExternalIDs) > 10 ||
		len(in.LocationCodes) > maxListItems || len(in.ProfileLoc) > maxListItems || len(in.Framework) > maxListItems {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
	}
	orgID := strings.TrimSpace(in.OrganisationID)
	if orgID == "" && strings.TrimSpace(in.Channel) != "" {
		tenant, err := s.tenantByChannel(ctx, p, in.Channel)
		if err != nil {
			return nil, err
		}
		orgID = tenant
	}
	nu := registry.NewUser{
		User: roster.User{
			FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, Phone: in.Phone,
			CountryCode: in.CountryCode, Username: in.UserName, DOB: in.DOB, Gender: in.Gender,
			Language: in.Language, Location: in.Location, ManagedBy: in.ManagedBy,
			ProfileLocation: in.ProfileLoc, Framework: frameworkOf(in.Framework),
		},
		Password: in.Password, OrgID: orgID, Roles: in.Roles,
		EmailVerified: in.EmailVerified, PhoneVerified: in.PhoneVerified,
	}
	if in.UserType != "" {
		nu.User.ProfileUserTypes = []roster.UserType{{Type: in.UserType, SubType: in.UserSubType}}
	}
	for _, code := range in.LocationCodes {
		nu.User.ProfileLocation = append(nu.User.ProfileLocation, roster.LocationRef{Code: code})
	}
	for _, x := range in.ExternalIDs {
		nu.ExternalIDs = append(nu.ExternalIDs, roster.ExternalIdentity{Provider: x.Provider, IDType: x.IDType, ExternalID: x.ID})
	}
	u, err := s.reg.CreateUser(ctx, p, nu)
	if err != nil {
		return nil, err
	}
	return map[string]any{"response": "SUCCESS", "userId": u.ID}, nil
}

// frameworkOf keeps the framework's list-valued keys; Sunbird's "id" is a
// list too, a scalar one is ignored.
func frameworkOf(f map[string]any) map[string][]string {
	if len(f) == 0 {
		return nil
	}
	out := map[string][]string{}
	for k, v := range f {
		list, ok := v.([]any)
		if !ok || len(list) > maxListItems {
			continue
		}
		for _, item := range list {
			if s, ok := item.(string); ok {
				out[k] = append(out[k], s)
			}
		}
	}
	return out
}

// tenantByChannel resolves Sunbird's channel to the tenant it names. A
// channel is the tenant's, so only the caller's own tenant is looked at;
// another tenant's channel is as unknown as a made-up one.
func (s *Server) tenantByChannel(ctx context.Context, p *roster.Principal, channel string) (string, error) {
	if p != nil && p.RootOrgID != "" {
		org, err := s.reg.GetOrg(ctx, p, p.RootOrgID)
		if err == nil && strings.EqualFold(org.Channel, strings.TrimSpace(channel)) {
			return org.ID, nil
		}
	}
	return "", &sunbirdError{status: http.StatusBadRequest, key: keyInvalidParameter, msg: "Please provide valid channel."}
}

// searchRequest is Sunbird's user search body
// (controller/app/controllers/usermanagement/UserController.java searchUser;
// the portal's admin search sends filters, fields, limit and offset).
type searchRequest struct {
	Filters map[string]any `json:"filters"`
	Fields  []string       `json:"fields"`
	Limit   *int           `json:"limit"`
	Offset  int            `json:"offset"`
	Query   string         `json:"query"`
}

// Search bounds. Sunbird's Elasticsearch answers at most 10,000 hits
// (max_result_window); Roster walks its directory to reach offset, so the
// walk is bounded tighter.
const (
	defaultSearchLimit = 10 // Elasticsearch's default size
	maxSearchLimit     = registry.MaxPageSize
	maxSearchOffset    = 2000
	maxFields          = 50
)

// searchUser translates onto the directory (GET
// /api/v1/organisations/{orgId}/users) and the lookup (POST
// /api/v1/users/lookup): an id, userName, email or phone filter finds one
// user; otherwise the organisation's directory is read, filtered by status,
// role and name. Filters Roster cannot honour are refused by name rather
// than ignored, so a script never takes a wider answer for the one it
// asked.
func (s *Server) searchUser(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	var in searchRequest
	if err := readRequest(r, &in); err != nil {
		return nil, err
	}
	limit := defaultSearchLimit
	if in.Limit != nil {
		limit = *in.Limit
	}
	if limit < 0 || limit > maxSearchLimit {
		return nil, invalidValue("limit", sprintf("0 to %d", maxSearchLimit))
	}
	if in.Offset < 0 || in.Offset > maxSearchOffset {
		return nil, invalidValue("offset", sprintf("0 to %d", maxSearchOffset))
	}
	if len(in.Fields) > maxFields || len(in.Filters) > maxFields {
		return nil, &sunbirdError{status: http.StatusBadRequest, key: keyInvalidRequestData, msg: msgInvalidRequest}
	}
	f, err := parseFilters(in.Filters)
	if err != nil {
		return nil, err
	}
	var users []registry.UserView
	var more bool
	if f.lookup != nil {
		users, err = s.searchOne(ctx, p, f)
	} else {
		users, more, err = s.searchDirectory(ctx, p, f, in.Query, in.Offset, limit)
	}
	if err != nil {
		return nil, err
	}
	content := make([]map[string]any, 0, len(users))
	for i := range users {
		content = append(content, project(userJSON(&users[i]), in.Fields))
	}
	count := in.Offset + len(content)
	if f.lookup != nil {
		count = len(content)
	} else if more {
		count++ // at least one more: see docs/sunbird.md, "Users"
	}
	return map[string]any{"response": map[string]any{"count": count, "content": content}}, nil
}

func invalidValue(name, valid string) error {
	return &sunbirdError{status: http.StatusBadRequest, key: keyInvalidParameter,
		msg: sprintf("Please provide valid %s (%s).", name, valid)}
}

// searchFilters are the filters Roster understands.
type searchFilters struct {
	lookup *registry.LookupQuery // userName, email or phone
	id     string
	orgID  string
	status string
	role   string
}

// parseFilters reads Sunbird's filter map. Values may be a string or a
// one-element list, as the portal sends both.
func parseFilters(m map[string]any) (searchFilters, error) {
	var f searchFilters
	for k, v := range m {
		val, ok := oneString(v)
		if !ok {
			return f, invalidValue(k, "one value")
		}
		switch k {
		case "id", "userId":
			f.id = val
		case "userName":
			f.lookup = &registry.LookupQuery{Type: roster.LookupUsername, Value: val}
		case "email":
			f.lookup = &registry.LookupQuery{Type: roster.LookupEmail, Value: val}
		case "phone":
			f.lookup = &registry.LookupQuery{Type: roster.LookupPhone, Value: val}
		case "rootOrgId", "organisations.organisationId", "organisationId":
			f.orgID = val
		case "status":
			switch val {
			case "1":
				f.status = "active"
			case "0":
				f.status = "blocked"
			default:
				return f, invalidValue("status", "0 or 1")
			}
		case "roles", "organisations.roles":
			f.role = val
		case "objectType": // the search controller adds user itself
		default:
			return f, &sunbirdError{status: http.StatusBadRequest, key: "0051", msg: sprintf("Unsupported field %s.", shortName(k))}
		}
	}
	if f.id != "" && f.lookup == nil {
		f.lookup = &registry.LookupQuery{} // found by id below
	}
	return f, nil
}

func shortName(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func oneString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, len(x) <= maxFormField
	case float64:
		return strings.TrimSuffix(sprintf("%v", x), ".0"), true
	case []any:
		if len(x) == 1 {
			return oneString(x[0])
		}
	}
	return "", false
}

// searchOne answers an id or unique-attribute filter: one user or none,
// and none also for a user of a tenant the caller may not read.
func (s *Server) searchOne(ctx context.Context, p *roster.Principal, f searchFilters) ([]registry.UserView, error) {
	var u *registry.UserView
	var err error
	if f.lookup.Type != "" {
		u, err = s.reg.FindUser(ctx, p, *f.lookup)
	} else {
		u, err = s.reg.GetUser(ctx, p, f.id)
	}
	switch roster.ErrorCode(err) {
	case "":
	case roster.ENOTFOUND, roster.EFORBIDDEN:
		return nil, nil
	default:
		return nil, err
	}
	if !matches(u, f) {
		return nil, nil
	}
	return []registry.UserView{*u}, nil
}

// matches applies the other filters to a user found by id or lookup.
func matches(u *registry.UserView, f searchFilters) bool {
	if f.id != "" && u.ID != f.id {
		return false
	}
	if f.status == "active" && u.Status != roster.StatusActive || f.status == "blocked" && u.Status != roster.StatusInactive {
		return false
	}
	inOrg, hasRole := f.orgID == "" || u.RootOrgID == f.orgID, f.role == ""
	for _, m := range u.Memberships {
		if m.IsDeleted {
			continue
		}
		inOrg = inOrg || m.OrganisationID == f.orgID
		for _, r := range m.Roles {
			hasRole = hasRole || r == f.role
		}
	}
	return inOrg && hasRole
}

// searchDirectory reads the organisation's directory (the caller's tenant
// by default) from offset; more says whether users follow the page.
func (s *Server) searchDirectory(ctx context.Context, p *roster.Principal, f searchFilters, query string, offset, limit int) ([]registry.UserView, bool, error) {
	orgID := f.orgID
	if orgID == "" {
		orgID = p.RootOrgID
	}
	df := registry.DirectoryFilter{Query: query, Role: f.role, Status: f.status, Limit: registry.MaxPageSize}
	var out []registry.UserView
	skipped := 0
	for {
		page, err := s.reg.Directory(ctx, p, orgID, df)
		if err != nil {
			return nil, false, err
		}
		for _, u := range page.Users {
			if skipped < offset {
				skipped++
				continue
			}
			if len(out) == limit {
				return out, true, nil
			}
			out = append(out, u)
		}
		if page.Next == "" {
			return out, false, nil
		}
		df.Cursor = page.Next
	}
}

// project keeps the requested fields of a user (all when none are named),
// as Sunbird's search returns only the fields asked for.
func project(u sbUser, fields []string) map[string]any {
	b, _ := json.Marshal(u)
	var all map[string]any
	_ = json.Unmarshal(b, &all)
	if len(fields) == 0 {
		return all
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		if v, ok := all[f]; ok {
			out[f] = v
		}
	}
	return out
}
