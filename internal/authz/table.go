package authz

import (
	"fmt"
	"slices"
	"strings"
)

// Caller is one of the identities the authorization matrix signs in as.
type Caller string

// The callers of the matrix. The world they live in: tenant A with schools
// 1 and 2, tenant B, a course of tenant A with one batch.
const (
	Anonymous        Caller = "anonymous"
	Self             Caller = "self"          // the target user themself; a PUBLIC pupil of school 1 when the target is not a user
	OtherLearner     Caller = "other learner" // another PUBLIC pupil of school 1
	SchoolAdmin      Caller = "school admin"  // ORG_ADMIN of school 1
	OtherSchoolAdmin Caller = "other school's admin"
	TenantAdmin      Caller = "tenant admin" // ORG_ADMIN of tenant A itself
	OtherTenantAdmin Caller = "other tenant's admin"
	Creator          Caller = "course creator" // CONTENT_CREATOR of tenant A who created the course
	OtherCreator     Caller = "other creator"  // CONTENT_CREATOR of tenant A
	Mentor           Caller = "mentor"         // mentor of the course's batch
)

// Callers is every caller, in the order the table shows them.
var Callers = []Caller{Anonymous, Self, OtherLearner, SchoolAdmin, OtherSchoolAdmin, TenantAdmin, OtherTenantAdmin, Creator, OtherCreator, Mentor}

// Targets: what an operation is called on. The matrix test knows how to
// build each.
const (
	NoTarget       = "-"
	Pupil          = "pupil of school 1"
	TenantMember   = "member of tenant A itself"
	OtherAdmin     = "admin of school 2"
	OtherUser      = "user of tenant B"
	School1        = "school 1"
	School1Admin   = "school 1, granting ORG_ADMIN"
	Tenant         = "tenant A"
	TheCourse      = "the course"
	TheBatch       = "the course's batch"
	EnrolledPupil  = "pupil enrolled in the batch"
	TheReport      = "the creator's report"
	TheLink        = "the creator's download link"
	School1Upload  = "an upload to school 1"
	PupilToSchool1 = "pupil of school 1, into school 1"
	PupilAsAdmin   = "pupil of school 1, into school 1 as ORG_ADMIN"
	// A transfer needs the user managed and the target administered: a
	// school's admin cannot push a pupil out, nor pull one in.
	PupilToSchool2 = "pupil of school 1, moved to school 2"
	// Self-declaration: the Self caller is the self-signed-up user.
	SignedUpUser    = "self-signed-up user"
	Declarer        = "self-signed-up user with a pending declaration"
	PendingForSchl1 = "a pending declaration for school 1"
)

// Outcome is what a caller gets.
type Outcome string

// The outcomes.
const (
	OK           Outcome = "yes" // any 2xx
	Forbidden403 Outcome = "403"
	NotFound404  Outcome = "404"
	SignIn401    Outcome = "401"
)

// Row says who may call one operation on one target: the callers in Allow
// succeed, those in Hidden are told "not found", every other signed-in
// caller is refused (403) and an anonymous caller must sign in (401)
// unless Allow names Anonymous.
type Row struct {
	Operation string // the OpenAPI operationId
	Target    string
	Allow     []Caller
	Hidden    []Caller
}

// Expect is the outcome the row gives c.
func (r Row) Expect(c Caller) Outcome {
	switch {
	case slices.Contains(r.Allow, c):
		return OK
	case c == Anonymous:
		return SignIn401
	case slices.Contains(r.Hidden, c):
		return NotFound404
	}
	return Forbidden403
}

var (
	signedIn = []Caller{Self, OtherLearner, SchoolAdmin, OtherSchoolAdmin, TenantAdmin, OtherTenantAdmin, Creator, OtherCreator, Mentor}
	everyone = append([]Caller{Anonymous}, signedIn...)
	tenantA  = []Caller{Self, OtherLearner, SchoolAdmin, OtherSchoolAdmin, TenantAdmin, Creator, OtherCreator, Mentor}
	// onlyA: tenant A's callers when the target is a user of tenant B, who
	// is then the Self caller.
	onlyA  = tenantA[1:]
	admins = []Caller{SchoolAdmin, OtherSchoolAdmin, TenantAdmin, OtherTenantAdmin}
	b      = []Caller{OtherTenantAdmin}
)

func callers(c ...Caller) []Caller { return c }

// Table is the policy as the HTTP API shows it: one row per operation and
// target. An operation the server serves without a row here fails the
// matrix test; so does a row for an operation it does not serve. To add an
// operation, add its rows here, its request to the matrix test, and run
// ROSTER_UPDATE_DOCS=1 go test ./internal/authz/ to refresh
// docs/security.md.
var Table = []Row{
	{"login", Pupil, everyone, nil},
	{"logout", NoTarget, everyone, nil},
	{"authConfig", NoTarget, everyone, nil},
	{"me", NoTarget, signedIn, nil},
	{"changeOwnPassword", NoTarget, signedIn, nil},
	{"currentTnc", NoTarget, everyone, nil},
	{"acceptTnc", NoTarget, signedIn, nil},

	{"signUpConfig", NoTarget, everyone, nil},
	{"signUpLocations", NoTarget, everyone, nil},
	{"signUp", NoTarget, everyone, nil},
	{"signUpResend", NoTarget, everyone, nil},
	{"signUpVerify", NoTarget, everyone, nil},
	{"signUpChild", NoTarget, signedIn, nil},
	{"passwordReset", NoTarget, everyone, nil},
	{"passwordResetConfirm", NoTarget, everyone, nil},

	{"createUser", School1, callers(SchoolAdmin, TenantAdmin), nil},
	{"createUser", School1Admin, callers(TenantAdmin), nil},
	{"getUser", Pupil, tenantA, b},
	{"getUser", OtherUser, callers(Self, OtherTenantAdmin), onlyA},
	{"updateUser", Pupil, callers(Self, SchoolAdmin, TenantAdmin), b},
	{"updateUser", TenantMember, callers(Self, TenantAdmin), b},
	{"updateUser", OtherAdmin, callers(Self, TenantAdmin), b},
	{"updateUser", OtherUser, callers(Self, OtherTenantAdmin), onlyA},
	{"userPasswordReset", Pupil, callers(Self, SchoolAdmin, TenantAdmin), b},
	{"userPasswordReset", TenantMember, callers(Self, TenantAdmin), b},
	{"userPasswordReset", OtherAdmin, callers(Self, TenantAdmin), b},
	{"userPasswordReset", OtherUser, callers(Self, OtherTenantAdmin), onlyA},
	{"transferUser", PupilToSchool2, callers(TenantAdmin), b},
	{"transferUser", OtherUser, callers(OtherTenantAdmin), onlyA},
	{"userHistory", Pupil, tenantA, b},
	{"userHistory", OtherUser, callers(Self, OtherTenantAdmin), onlyA},
	{"blockUser", Pupil, callers(SchoolAdmin, TenantAdmin), b},
	{"blockUser", TenantMember, callers(TenantAdmin), b},
	{"blockUser", OtherAdmin, callers(TenantAdmin), b},
	{"blockUser", OtherUser, callers(OtherTenantAdmin), onlyA},
	{"unblockUser", Pupil, callers(SchoolAdmin, TenantAdmin), b},
	{"unblockUser", TenantMember, callers(TenantAdmin), b},
	{"unblockUser", OtherUser, callers(OtherTenantAdmin), onlyA},
	{"deleteUser", Pupil, callers(SchoolAdmin, TenantAdmin), b},
	{"deleteUser", TenantMember, callers(TenantAdmin), b},
	{"deleteUser", OtherUser, callers(OtherTenantAdmin), onlyA},
	{"eraseUser", Pupil, callers(Self, SchoolAdmin, TenantAdmin), b},
	{"eraseUser", TenantMember, callers(Self, TenantAdmin), b},
	{"eraseUser", OtherAdmin, callers(Self, TenantAdmin), b},
	{"eraseUser", OtherUser, callers(Self, OtherTenantAdmin), onlyA},
	{"lookupUser", Pupil, callers(SchoolAdmin, TenantAdmin), signedIn},
	{"lookupUser", TenantMember, callers(TenantAdmin), signedIn},
	{"lookupUser", OtherUser, callers(OtherTenantAdmin), signedIn},
	{"listOrgUsers", School1, callers(SchoolAdmin, TenantAdmin), b},
	{"listOrgUsers", Tenant, callers(TenantAdmin), b},
	{"exportOrgUsers", School1, callers(SchoolAdmin, TenantAdmin), b},
	{"listAudit", Tenant, callers(TenantAdmin), b},
	{"linkSSO", Pupil, callers(TenantAdmin), b},
	{"linkSSO", OtherUser, callers(OtherTenantAdmin), onlyA},
	{"unlinkSSO", Pupil, callers(Self, TenantAdmin), b},
	{"unlinkSSO", OtherUser, callers(Self, OtherTenantAdmin), onlyA},

	{"createOrganisation", Tenant, callers(TenantAdmin), nil},
	{"getOrganisation", School1, signedIn, nil},
	{"listOrganisations", Tenant, tenantA, nil},
	{"createLocation", NoTarget, admins, nil},
	{"getLocation", NoTarget, signedIn, nil},
	{"listLocations", NoTarget, signedIn, nil},
	{"putMembership", PupilToSchool1, callers(SchoolAdmin, TenantAdmin), b},
	{"putMembership", PupilAsAdmin, callers(TenantAdmin), b},
	{"deleteMembership", PupilToSchool1, callers(SchoolAdmin, TenantAdmin), b},

	{"createCourse", Tenant, callers(Creator, OtherCreator), nil},
	{"getCourse", TheCourse, signedIn, nil},
	{"myCourses", NoTarget, signedIn, nil},
	{"listCourses", NoTarget, signedIn, nil},
	{"createBatch", TheCourse, callers(Creator, TenantAdmin), nil},
	{"listBatches", TheCourse, callers(Creator, TenantAdmin, Mentor), nil},
	{"getBatch", TheBatch, signedIn, nil},
	{"listParticipants", TheBatch, callers(Creator, TenantAdmin, Mentor), nil},
	{"enrol", Pupil, callers(Self, SchoolAdmin, TenantAdmin), b},
	{"enrol", OtherUser, callers(Self), onlyA},
	{"unenrol", EnrolledPupil, callers(Self, SchoolAdmin, TenantAdmin), b},
	{"myEnrolments", NoTarget, signedIn, nil},
	{"recordConsent", TheCourse, signedIn, nil},
	{"consentHistory", TheCourse, signedIn, nil},

	{"requestReport", TheCourse, callers(Creator), nil},
	{"listReports", NoTarget, signedIn, nil},
	{"getReport", TheReport, callers(Creator), nil},
	{"reportLink", TheReport, callers(Creator), nil},
	{"downloadReport", TheLink, callers(Creator), nil},
	{"getReportPolicy", Tenant, callers(SchoolAdmin, OtherSchoolAdmin, TenantAdmin, Creator, OtherCreator), nil},
	{"putReportPolicy", Tenant, callers(TenantAdmin), nil},

	{"submitUpload", School1, callers(SchoolAdmin, TenantAdmin), nil},
	{"listUploads", School1, callers(SchoolAdmin, TenantAdmin), nil},
	{"getUpload", School1Upload, callers(SchoolAdmin, TenantAdmin), signedIn},
	{"listUploadRows", School1Upload, callers(SchoolAdmin, TenantAdmin), signedIn},
	{"uploadResultCSV", School1Upload, callers(SchoolAdmin, TenantAdmin), signedIn},
	{"uploadTemplate", NoTarget, signedIn, nil},

	{"listStates", NoTarget, signedIn, nil},
	{"listStateSchools", NoTarget, signedIn, nil},
	{"declareSelf", SignedUpUser, callers(Self), nil},
	{"myDeclaration", Declarer, callers(Self), signedIn[1:]},
	{"withdrawDeclaration", Declarer, callers(Self), signedIn[1:]},
	{"listDeclarations", School1, callers(SchoolAdmin, TenantAdmin), b},
	{"listDeclarations", Tenant, callers(TenantAdmin), b},
	{"approveDeclaration", PendingForSchl1, callers(SchoolAdmin, TenantAdmin), callers(Self, OtherTenantAdmin)},
	{"rejectDeclaration", PendingForSchl1, callers(SchoolAdmin, TenantAdmin), callers(Self, OtherTenantAdmin)},
	{"decideDeclarations", PendingForSchl1, callers(SchoolAdmin, TenantAdmin), callers(Self, OtherTenantAdmin)},
}

// Markdown renders Table for docs/security.md.
func Markdown() string {
	var sb strings.Builder
	sb.WriteString("| operation | target |")
	for _, c := range Callers {
		fmt.Fprintf(&sb, " %s |", c)
	}
	sb.WriteString("\n|---|---|")
	for range Callers {
		sb.WriteString("---|")
	}
	sb.WriteString("\n")
	for _, r := range Table {
		fmt.Fprintf(&sb, "| `%s` | %s |", r.Operation, r.Target)
		for _, c := range Callers {
			fmt.Fprintf(&sb, " %s |", r.Expect(c))
		}
		sb.WriteString("\n")
	}
	return sb.String()
}
