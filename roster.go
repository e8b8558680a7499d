// Package roster holds the domain types shared by every part of the service:
// users, organisations and their memberships as described by the Sunbird data
// model, plus the error type every layer uses to tell a caller which field
// was wrong and why. Storage, HTTP and job packages depend on this package,
// never the other way round.
package roster

import (
	"crypto/rand"
	"time"

	"github.com/google/uuid"
)

// NewID returns a time-ordered UUIDv7 so that primary keys inserted in bulk
// stay close together in B-tree indexes on both engines.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// uuid.NewV7 only fails when the system random source fails.
		panic(err)
	}
	return id.String()
}

// Now is the single clock the service writes to the database. Microsecond
// precision is what PostgreSQL keeps, so values read back compare equal on
// both engines.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// RandomString returns n characters from alphabet using crypto/rand.
func RandomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// User statuses as stored in the seed's user.status column.
const (
	StatusInactive = 0
	StatusActive   = 1
)

// FlagTenantVerified is the only flagsValue bit still used by the seed: the
// user was uploaded by a tenant or registered through a tenant login page.
const FlagTenantVerified = 4

// Association types of user_organisation.associationType (a bit mask).
const (
	AssociationSSO          = 1
	AssociationSelfDeclared = 2
	AssociationSystemUpload = 4
)

// Roles that can be held within an organisation (seed 002's list).
const (
	RolePublic             = "PUBLIC"
	RoleOrgAdmin           = "ORG_ADMIN"
	RoleContentCreator     = "CONTENT_CREATOR"
	RoleContentReviewer    = "CONTENT_REVIEWER"
	RoleFlagReviewer       = "FLAG_REVIEWER"
	RoleCourseMentor       = "COURSE_MENTOR"
	RoleBookCreator        = "BOOK_CREATOR"
	RoleBookReviewer       = "BOOK_REVIEWER"
	RoleTeacherBadgeIssuer = "TEACHER_BADGE_ISSUER"
	RoleBadgeIssuer        = "BADGE_ISSUER"
	RoleAnnouncementSender = "ANNOUNCEMENT_SENDER"
)

// Roles lists every valid role in the order the seed gives them.
var Roles = []string{
	RoleContentCreator, RoleContentReviewer, RoleFlagReviewer, RoleCourseMentor,
	RoleBookCreator, RoleBookReviewer, RoleOrgAdmin, RoleTeacherBadgeIssuer,
	RoleBadgeIssuer, RoleAnnouncementSender, RolePublic,
}

// IsRole reports whether r is one of Roles (exact, upper-case match).
func IsRole(r string) bool {
	for _, v := range Roles {
		if v == r {
			return true
		}
	}
	return false
}

// Lookup types of the user_lookup table.
const (
	LookupEmail      = "email"
	LookupPhone      = "phone"
	LookupUsername   = "username"
	LookupExternalID = "externalid"
)

// LocationRef is one entry of a user's profileLocation.
type LocationRef struct {
	Code string `json:"code"`
	Type string `json:"type" enum:"state,district,block,cluster"`
}

// UserType is one entry of profileUserTypes.
type UserType struct {
	Type    string `json:"type"`
	SubType string `json:"subType,omitempty"`
}

// TncAcceptance is one value of allTncAccepted.
type TncAcceptance struct {
	TncAcceptedOn string `json:"tncAcceptedOn"`
	Version       string `json:"version"`
}

// User is a row of the seed's sunbird.user table. Contact fields hold
// plaintext only while in memory; the store encrypts them before writing and
// keeps the masked form next to the ciphertext.
type User struct {
	ID                 string                   `json:"id"`
	Username           string                   `json:"userName"`
	FirstName          string                   `json:"firstName"`
	LastName           string                   `json:"lastName,omitempty"`
	Email              string                   `json:"email,omitempty"`
	Phone              string                   `json:"phone,omitempty"` // E.164
	MaskedEmail        string                   `json:"maskedEmail,omitempty"`
	MaskedPhone        string                   `json:"maskedPhone,omitempty"`
	EmailVerified      bool                     `json:"emailVerified"`
	PhoneVerified      bool                     `json:"phoneVerified"`
	RecoveryEmail      string                   `json:"recoveryEmail,omitempty"`
	RecoveryPhone      string                   `json:"recoveryPhone,omitempty"`
	PrevUsedEmail      string                   `json:"prevUsedEmail,omitempty"`
	PrevUsedPhone      string                   `json:"prevUsedPhone,omitempty"`
	CountryCode        string                   `json:"countryCode,omitempty"`
	DOB                string                   `json:"dob,omitempty"` // YYYY-MM-DD
	Gender             string                   `json:"gender,omitempty"`
	Language           []string                 `json:"language,omitempty"`
	Position           string                   `json:"position,omitempty"`
	ProfileSummary     string                   `json:"profileSummary,omitempty"`
	Location           string                   `json:"location,omitempty"`
	Channel            string                   `json:"channel,omitempty"`
	RootOrgID          string                   `json:"rootOrgId"`
	FlagsValue         int                      `json:"flagsValue"`
	Framework          map[string][]string      `json:"framework,omitempty"`
	ProfileLocation    []LocationRef            `json:"profileLocation,omitempty"`
	ProfileUserTypes   []UserType               `json:"profileUserTypes,omitempty"`
	AllTncAccepted     map[string]TncAcceptance `json:"allTncAccepted,omitempty"`
	TncAcceptedOn      *time.Time               `json:"tncAcceptedOn,omitempty"`
	TncAcceptedVersion string                   `json:"tncAcceptedVersion,omitempty"`
	ManagedBy          string                   `json:"managedBy,omitempty"`
	Status             int                      `json:"status" enum:"0,1" doc:"1 active, 0 blocked"`
	IsDeleted          bool                     `json:"isDeleted"`
	DeletedDate        *time.Time               `json:"deletedDate,omitempty"` // set by DeleteUser; a blocked user has none
	ErasedDate         *time.Time               `json:"erasedDate,omitempty"`  // set by erasure: every personal field is blank for good
	PasswordHash       string                   `json:"-"`
	CreatedBy          string                   `json:"createdBy,omitempty"`
	CreatedDate        time.Time                `json:"createdDate"`
	UpdatedBy          string                   `json:"updatedBy,omitempty"`
	UpdatedDate        *time.Time               `json:"updatedDate,omitempty"`
}

// ExternalIdentity is a row of usr_external_identity: the user's ID in a
// state (SSO) system. ExternalID is plaintext in memory only.
type ExternalIdentity struct {
	Provider   string    `json:"provider"`
	IDType     string    `json:"idType"`
	ExternalID string    `json:"externalId"`
	UserID     string    `json:"userId"`
	CreatedBy  string    `json:"createdBy,omitempty"`
	CreatedOn  time.Time `json:"createdOn"`
}

// Membership is a row of user_organisation.
type Membership struct {
	UserID          string     `json:"userId"`
	OrganisationID  string     `json:"organisationId"`
	AssociationType int        `json:"associationType" enum:"1,2,3,4,5,6,7" doc:"A bit mask: 1 SSO, 2 self-declared, 4 system upload"`
	Roles           []string   `json:"roles"`
	IsApproved      bool       `json:"isApproved"`
	IsRejected      bool       `json:"isRejected"`
	IsDeleted       bool       `json:"isDeleted"`
	ApprovalDate    *time.Time `json:"approvalDate,omitempty"`
	OrgJoinDate     time.Time  `json:"orgJoinDate"`
	OrgLeftDate     *time.Time `json:"orgLeftDate,omitempty"`
	UpdatedBy       string     `json:"updatedBy,omitempty"`
	UpdatedDate     *time.Time `json:"updatedDate,omitempty"`
}

// Organisation is a tenant (root org, e.g. a state) or a sub-organisation
// (e.g. a school) whose RootOrgID points at its tenant.
type Organisation struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Channel     string    `json:"channel,omitempty"`
	IsTenant    bool      `json:"isTenant"`
	IsCustodian bool      `json:"isCustodian"`
	RootOrgID   string    `json:"rootOrgId"`
	ExternalID  string    `json:"externalId,omitempty"`
	Provider    string    `json:"provider,omitempty"`
	LocationIDs []string  `json:"locationIds,omitempty"`
	Status      int       `json:"status" enum:"0,1" doc:"1 active, 0 inactive"`
	CreatedDate time.Time `json:"createdDate"`
}

// Location types in their hierarchy order.
const (
	LocationState    = "state"
	LocationDistrict = "district"
	LocationBlock    = "block"
	LocationCluster  = "cluster"
)

// Location is a row of the location master (state, district, block, cluster).
type Location struct {
	ID       string `json:"id"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	ParentID string `json:"parentId,omitempty"`
}
