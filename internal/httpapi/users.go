package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

// externalIDBody is one external identity in a create request.
type externalIDBody struct {
	Provider   string `json:"provider,omitempty"`
	IDType     string `json:"idType,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
}

// createUserBody is what a client may set on a new user. Server-owned
// fields (id, status, masks, dates, rootOrgId) are not accepted. The
// registry's rule book checks every field, not the schema: huma stops at
// the first schema violation, its messages differ from the CSV upload's,
// and the rule book reports every problem in one answer. The property
// descriptions are the rule book's (describeUserBodies).
type createUserBody struct {
	FirstName        string               `json:"firstName,omitempty"`
	LastName         string               `json:"lastName,omitempty"`
	Email            string               `json:"email,omitempty"`
	Phone            string               `json:"phone,omitempty"`
	CountryCode      string               `json:"countryCode,omitempty"`
	RecoveryEmail    string               `json:"recoveryEmail,omitempty" doc:"Stored encrypted, shown only to those who see the user's contact details"`
	RecoveryPhone    string               `json:"recoveryPhone,omitempty" doc:"Stored encrypted, shown only to those who see the user's contact details"`
	EmailVerified    *bool                `json:"emailVerified,omitempty"`
	PhoneVerified    *bool                `json:"phoneVerified,omitempty"`
	UserName         string               `json:"userName,omitempty"`
	Password         string               `json:"password,omitempty" format:"password"`
	DOB              string               `json:"dob,omitempty"`
	Gender           string               `json:"gender,omitempty"`
	Language         []string             `json:"language,omitempty" maxItems:"20"`
	Position         string               `json:"position,omitempty"`
	ProfileSummary   string               `json:"profileSummary,omitempty"`
	Location         string               `json:"location,omitempty"`
	Framework        map[string][]string  `json:"framework,omitempty" maxProperties:"20"`
	ProfileLocation  []roster.LocationRef `json:"profileLocation,omitempty" maxItems:"20"`
	ProfileUserTypes []roster.UserType    `json:"profileUserTypes,omitempty" maxItems:"20"`
	ManagedBy        string               `json:"managedBy,omitempty"`
	OrgID            string               `json:"orgId,omitempty" doc:"Organisation to join; the custodian organisation when empty"`
	Roles            []string             `json:"roles,omitempty" maxItems:"20"`
	AssociationType  int                  `json:"associationType,omitempty" doc:"Bit mask: 1 SSO, 2 self-declared, 4 system upload (seed 002's rules for uploads then apply: userName and password required, provider with phoneVerified)"`
	ExternalIDs      []externalIDBody     `json:"externalIds,omitempty" maxItems:"10"`
}

func (b *createUserBody) newUser() registry.NewUser {
	in := registry.NewUser{
		User: roster.User{
			FirstName: b.FirstName, LastName: b.LastName, Email: b.Email, Phone: b.Phone,
			RecoveryEmail: b.RecoveryEmail, RecoveryPhone: b.RecoveryPhone,
			Username:    b.UserName,
			CountryCode: b.CountryCode, DOB: b.DOB, Gender: b.Gender, Language: b.Language,
			Position: b.Position, ProfileSummary: b.ProfileSummary, Location: b.Location,
			Framework: b.Framework, ProfileLocation: b.ProfileLocation, ProfileUserTypes: b.ProfileUserTypes,
			ManagedBy: b.ManagedBy,
		},
		PhoneVerified:   b.PhoneVerified,
		EmailVerified:   b.EmailVerified,
		Password:        b.Password,
		OrgID:           b.OrgID,
		Roles:           b.Roles,
		AssociationType: b.AssociationType,
	}
	for _, x := range b.ExternalIDs {
		in.ExternalIDs = append(in.ExternalIDs, roster.ExternalIdentity{Provider: x.Provider, IDType: x.IDType, ExternalID: x.ExternalID})
	}
	return in
}

// ruleBookNote tells API clients where the field rules come from.
const ruleBookNote = "Fields are checked by the registry's rule book, with the same rules, limits and messages " +
	"as the CSV upload (docs/UPLOADS.md); errors name seed 002's columns, so dob is reported as DOB and " +
	"framework.gradeLevel/subject as grade/subject."

type userOutput struct {
	ETag string `header:"ETag" doc:"The user's version; send it back as If-Match to change the user only if nobody else has since"`
	Body *registry.UserView
}

func newUserOutput(u *registry.UserView) *userOutput {
	return &userOutput{ETag: etag(u.Version), Body: u}
}

// etag is a user version as an entity tag. The tag names the stored
// record, not the bytes sent: every caller's view of one version has it.
func etag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// ifMatch turns an If-Match header into the version a write must find:
// nil for no header or "*" (the user exists, which the write checks
// anyway). A tag that is not one of ours can never match, so it becomes
// a version no row has.
func ifMatch(h string) *int64 {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return nil
	}
	v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(h, `"v`), `"`), 10, 64)
	if err != nil || etag(v) != h {
		v = -1
	}
	return &v
}

// ifMatchDoc is the If-Match rule of every user write.
const ifMatchDoc = "Optional. The ETag of the copy the change is based on (GET /users/{id}); when the user has been " +
	"changed since, the answer is 412 and nothing is written. Without it the last write wins. The console always sends it."

type userIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type lookupInput struct {
	// A POST body rather than query parameters, so emails and phone numbers
	// never land in access logs, proxies or browser history.
	Body struct {
		Type     string `json:"type" enum:"email,phone,username,externalid"`
		Value    string `json:"value" maxLength:"320"`
		Provider string `json:"provider,omitempty" maxLength:"100" doc:"External id lookups only"`
		IDType   string `json:"idType,omitempty" maxLength:"100" doc:"External id lookups only"`
	}
}

func (s *Server) userRoutes() {
	create := op("createUser", http.MethodPost, "/users", "Create a user", "users")
	create.Description = "Org admins create users in their own tenant. Every invalid field is listed in one 422 answer; " +
		"an email, phone, userName or external id already in use gives 409. " + ruleBookNote

	create.DefaultStatus = http.StatusCreated
	create.Errors = append(create.Errors, http.StatusConflict)
	register(s, create, s.createUser)

	get := op("getUser", http.MethodGet, "/users/{id}", "Read a user", "users")
	get.Description = "Contact details are decrypted for the user themselves and org admins of the user's tenant; " +
		"other members of the tenant see masked values; other tenants get 404."
	get.Errors = append(get.Errors, http.StatusNotFound)
	register(s, get, s.getUser)

	patch := op("updateUser", http.MethodPatch, "/users/{id}", "Change some fields of a user", "users")
	patch.Description = "The fields given are checked as on create. " + ruleBookNote + " " +
		"A password set here (an admin's reset) ends every session and token the user had. " +
		"Callers change their own password with POST /me/password, which asks for the current one; here it gives 422."
	patch.Description += " roles replaces the roles of current memberships (organisation id → roles) and needs an admin who " +
		"manages the user and may grant those roles there; only an admin of the whole tenant grants ORG_ADMIN. " +
		"Changing email or phone resets emailVerified or phoneVerified and keeps the old value, sealed, as prevUsedEmail or prevUsedPhone. " +
		"If-Match: " + ifMatchDoc
	patch.Errors = append(patch.Errors, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed)
	register(s, patch, s.updateUser)

	transfer := op("transferUser", http.MethodPost, "/users/{id}/transfer", "Move a user from one organisation to another", "users")
	transfer.Description = "In one step the membership of 'from' ends (orgLeftDate set; it stays in the user's history and reports) " +
		"and one of 'to' opens with the roles given. The caller must manage the user and be an admin of 'to' or of the whole tenant: " +
		"a school's admin alone cannot move a teacher into another school. Both organisations are in the user's tenant. " +
		"If-Match: " + ifMatchDoc
	transfer.Errors = append(transfer.Errors, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed)
	register(s, transfer, s.transferUser)

	history := op("userHistory", http.MethodGet, "/users/{id}/organisations", "A user's organisations, past and present", "users")
	history.Description = "Every organisation the user has belonged to, oldest first, with the roles held and the join and leave dates; " +
		"readable by whoever may read the user."
	history.Errors = append(history.Errors, http.StatusNotFound)
	register(s, history, s.userHistory)

	status := func(id, method, path, summary, description string, fn func(context.Context, *roster.Principal, string) error) {
		o := described(op(id, method, path, summary, "users"), description)
		o.DefaultStatus = http.StatusNoContent
		o.Errors = append(o.Errors, http.StatusNotFound)
		register(s, o, s.userStatus(fn))
	}
	status("blockUser", http.MethodPost, "/users/{id}/block", "Block a user (status 0, isDeleted)",
		"Blocks a user: they can no longer sign in (status 0).", s.reg.BlockUser)
	status("unblockUser", http.MethodPost, "/users/{id}/unblock", "Unblock a user",
		"Unblocks a blocked user so they can sign in again.", s.reg.UnblockUser)
	status("deleteUser", http.MethodDelete, "/users/{id}", "Soft-delete a user and release their email, phone and username",
		"Soft-deletes a user and releases their email, phone and username for reuse; the record stays for audit.", s.reg.DeleteUser)

	lookup := op("lookupUser", http.MethodPost, "/users/lookup", "Find a user by email, phone, username or external id", "users")
	lookup.Description = "Org admins only, within their tenant; a user of another tenant is reported as not found."
	lookup.Errors = append(lookup.Errors, http.StatusNotFound)
	register(s, lookup, s.lookupUser)

	s.directoryRoutes()
	s.describeUserBodies()
}
func (s *Server) createUser(ctx context.Context, in *struct{ Body createUserBody }) (*userOutput, error) {
	u, err := s.reg.CreateUser(ctx, caller(ctx), in.Body.newUser())
	if err != nil {
		return nil, err
	}
	return newUserOutput(u), nil
}

func (s *Server) getUser(ctx context.Context, in *userIDInput) (*userOutput, error) {
	u, err := s.reg.GetUser(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return newUserOutput(u), nil
}

func (s *Server) updateUser(ctx context.Context, in *struct {
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match" maxLength:"100"`
	Body    registry.UserPatch
}) (*userOutput, error) {
	in.Body.IfVersion = ifMatch(in.IfMatch)
	u, err := s.reg.UpdateUser(ctx, caller(ctx), in.ID, in.Body)
	if err != nil {
		return nil, err
	}
	if in.Body.Password != nil {
		// Their old tokens must stop now, not when the principal
		// cache expires.
		s.auth.Forget(in.ID)
	}
	if in.Body.Roles != nil {
		// The user's grants changed: their next request must see it.
		s.auth.Forget(in.ID)
	}
	return newUserOutput(u), nil
}

func (s *Server) transferUser(ctx context.Context, in *struct {
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match" maxLength:"100"`
	Body    registry.Transfer
}) (*userOutput, error) {
	in.Body.IfVersion = ifMatch(in.IfMatch)
	u, err := s.reg.TransferUser(ctx, caller(ctx), in.ID, in.Body)
	if err != nil {
		return nil, err
	}
	s.auth.Forget(in.ID) // their grants changed
	return newUserOutput(u), nil
}

type historyOutput struct {
	Body struct {
		Organisations []registry.Stint `json:"organisations"`
	}
}

func (s *Server) userHistory(ctx context.Context, in *userIDInput) (*historyOutput, error) {
	h, err := s.reg.History(ctx, caller(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	out := &historyOutput{}
	out.Body.Organisations = h
	return out, nil
}

func (s *Server) lookupUser(ctx context.Context, in *lookupInput) (*userOutput, error) {
	u, err := s.reg.FindUser(ctx, caller(ctx), registry.LookupQuery{
		Type: in.Body.Type, Value: in.Body.Value, Provider: in.Body.Provider, IDType: in.Body.IDType,
	})
	if err != nil {
		return nil, err
	}
	return newUserOutput(u), nil
}

// describeUserBodies writes the registry's rule book into the API
// document's user bodies, so the API shows the rules and messages that
// docs/UPLOADS.md shows for the CSV, from the same source.
func (s *Server) describeUserBodies() {
	schemas := s.api.OpenAPI().Components.Schemas.Map()
	for _, name := range []string{"CreateUserBody", "UserPatch"} {
		sc := schemas[name]
		if sc == nil {
			panic("httpapi: no schema " + name)
		}
		for prop, p := range sc.Properties {
			field := prop
			switch prop {
			case "dob":
				field = registry.FieldDOB
			case "framework":
				p.Description = "gradeLevel: " + registry.Describe(registry.FieldGrade) +
					"\n\nsubject: " + registry.Describe(registry.FieldSubject)
				continue
			}
			if d := registry.Describe(field); d != "" {
				p.Description = d
			}
		}
	}
}

// userStatus is the handler of block, unblock and delete: fn changes the
// status, and the user's cached principal is dropped so the change holds
// at once.
func (s *Server) userStatus(fn func(context.Context, *roster.Principal, string) error) func(context.Context, *userIDInput) (*struct{}, error) {
	return func(ctx context.Context, in *userIDInput) (*struct{}, error) {
		if err := fn(ctx, caller(ctx), in.ID); err != nil {
			return nil, err
		}
		// The user's tokens must stop (or start) working now, not when
		// the principal cache expires.
		s.auth.Forget(in.ID)
		return nil, nil
	}
}
