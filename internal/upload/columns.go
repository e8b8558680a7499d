package upload

import (
	"strings"

	"github.com/roster-dev/roster/internal/registry"
)

// Column names exactly as seed 002's template spells them. The result CSV
// writes them back in this spelling so a corrected file can be re-uploaded.
const (
	ColFirstName          = "firstName"
	ColLastName           = "lastName"
	ColPhone              = "phone"
	ColEmail              = "email"
	ColUserName           = "userName"
	ColPassword           = "password"
	ColProvider           = "provider"
	ColPhoneVerified      = "phoneVerified"
	ColEmailVerified      = "emailVerified"
	ColRoles              = "roles"
	ColPosition           = "position"
	ColGrade              = "grade"
	ColLocation           = "location"
	ColDOB                = "DOB"
	ColGender             = "gender"
	ColLanguage           = "language"
	ColProfileSummary     = "profileSummary"
	ColSubject            = "subject"
	ColExternalID         = "externalId"
	ColExternalIDs        = "externalIds"
	ColExternalIDType     = "externalIdType"
	ColExternalIDProvider = "externalIdProvider"
	// ColStatus blocks or unblocks users in an update upload; not in seed
	// 002's template, so it comes last.
	ColStatus = "status"
)

// SeedColumns are seed 002's columns in its order, which is also the order
// of the template in examples/.
var SeedColumns = []string{
	ColFirstName, ColLastName, ColPhone, ColEmail, ColUserName, ColPassword,
	ColProvider, ColPhoneVerified, ColEmailVerified, ColRoles, ColPosition,
	ColGrade, ColLocation, ColDOB, ColGender, ColLanguage, ColProfileSummary,
	ColSubject, ColExternalID, ColExternalIDs, ColExternalIDType, ColExternalIDProvider,
}

// Columns lists every accepted column: the seed's, then status.
var Columns = append(append([]string{}, SeedColumns...), ColStatus)

// MandatoryColumns must appear in the header. The seed also marks email
// "Mandatory", but its note allows "(i) only the phone number, (ii) only
// email or (iii) both", so email is required per row as "email or phone"
// (a row rule), and a file of phone-only users needs no email column.
var MandatoryColumns = []string{ColFirstName, ColUserName, ColPassword}

// PIIColumns hold personal data that is only ever stored sealed.
var PIIColumns = []string{ColPhone, ColEmail, ColExternalID, ColExternalIDs, ColDOB}

// Allowed values of the list columns: the registry's rule book owns them.
var (
	Grades    = registry.Grades
	Languages = registry.Languages
	Subjects  = registry.Subjects
	Genders   = registry.Genders
)

// columnKey is how header cells are matched: case-insensitive and blind to
// any whitespace, so "First Name", "FIRSTNAME" and "firstName" are one column.
func columnKey(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), ""))
}

// ColumnAliases are other spellings of seed 002's columns that files made
// for Sunbird use, so a Sunbird deployment's files decode here as they are
// (one decoding, whichever API receives the file). Sunbird 1.x's portal
// template (SunbirdEd-portal app.config.json ADMIN_UPLOAD.SAMPLE_USER_CSV:
// firstName, lastName, phone, email, userName, …, dob, …) already matches
// seed 002's names, case aside. Sunbird's current column set
// (userorg-service lernsetup.md, userProfileConfig.csv.supportedColumns)
// renames a few: NAME is firstName and MOBILE PHONE is phone; EMAIL and
// ROLES match as they are. Its SCHOOL ID, SCHOOL EXTERNAL ID, USER_TYPE
// and USER ID have no seed 002 column and stay unknown (docs/sunbird.md).
var ColumnAliases = map[string]string{
	"NAME":         ColFirstName,
	"MOBILE PHONE": ColPhone,
	"dob":          ColDOB,
}

var columnByKey = func() map[string]string {
	m := make(map[string]string, len(Columns)+len(ColumnAliases))
	for _, c := range Columns {
		m[columnKey(c)] = c
	}
	for alias, c := range ColumnAliases {
		m[columnKey(alias)] = c
	}
	return m
}()
