package upload

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

var today = time.Date(2024, 6, 15, 10, 0, 0, 0, time.UTC)

func validValues() map[string]string {
	return map[string]string{
		ColFirstName: "Asha", ColLastName: "Rao", ColPhone: "9876543210", ColEmail: "Asha@Example.org",
		ColUserName: "asha_rao", ColPassword: "secret123", ColProvider: "TN", ColPhoneVerified: "TRUE",
		ColEmailVerified: "false", ColRoles: "CONTENT_CREATOR", ColPosition: "Teacher", ColGrade: "Class 1",
		ColLocation: "Chennai", ColDOB: "01-02-1990", ColGender: "Female", ColLanguage: "Tamil",
		ColProfileSummary: "Maths teacher", ColSubject: "Mathematics", ColExternalID: "T-1",
		ColExternalIDType: "teacherId", ColExternalIDProvider: "TN", ColExternalIDs: "",
	}
}

func errorStrings(errs []roster.FieldError) []string {
	out := []string{}
	for _, e := range errs {
		out = append(out, e.String())
	}
	return out
}

func TestValidateValidRow(t *testing.T) {
	recs := ValidateRows([]Row{{Number: 2, Values: validValues()}}, today)
	r := recs[0]
	if !r.OK() {
		t.Fatalf("errors: %v", r.Errors)
	}
	u := r.User.User
	want := roster.User{
		FirstName: "Asha", LastName: "Rao", Phone: "+919876543210", Email: "asha@example.org",
		Username: "asha_rao", PhoneVerified: true, EmailVerified: false, Position: "Teacher", CountryCode: "+91",
		Location: "Chennai", DOB: "1990-02-01", Gender: "Female", Language: []string{"Tamil"},
		ProfileSummary: "Maths teacher", FlagsValue: roster.FlagTenantVerified,
		Framework: map[string][]string{"gradeLevel": {"Class 1"}, "subject": {"Mathematics"}},
	}
	if !reflect.DeepEqual(u, want) {
		t.Fatalf("user\n%+v\nwant\n%+v", u, want)
	}
	if r.User.Password != "secret123" || !reflect.DeepEqual(r.User.Roles, []string{"CONTENT_CREATOR"}) {
		t.Fatalf("password/roles: %q %v", r.User.Password, r.User.Roles)
	}
	wantIDs := []roster.ExternalIdentity{{Provider: "TN", IDType: "teacherId", ExternalID: "T-1"}}
	if !reflect.DeepEqual(r.User.ExternalIDs, wantIDs) {
		t.Fatalf("external ids %+v", r.User.ExternalIDs)
	}
}

// Each rule, with one failing row and the exact message it must produce.
func TestValidateRules(t *testing.T) {
	cases := []rowCase{
		{"firstName missing", map[string]string{ColFirstName: ""}, []string{"firstName: is required"}},
		{"firstName digits", map[string]string{ColFirstName: "Asha2"}, []string{"firstName: may contain only letters, spaces, dots, apostrophes and hyphens"}},
		{"firstName punctuation only", map[string]string{ColFirstName: "."}, []string{"firstName: must contain a letter"}},
		{"firstName too long", map[string]string{ColFirstName: strings.Repeat("a", 101)}, []string{"firstName: is longer than 100 characters"}},
		{"lastName symbol", map[string]string{ColLastName: "R@o"}, []string{"lastName: may contain only letters, spaces, dots, apostrophes and hyphens"}},
		{"phone short", map[string]string{ColPhone: "98765"}, []string{"phone: " + registry.MsgPhone}},
		{"phone landline", map[string]string{ColPhone: "0442345678"}, []string{"phone: " + registry.MsgPhone}},
		{"phone foreign", map[string]string{ColPhone: "+447700900123"}, []string{"phone: " + registry.MsgPhone}},
		{"phone letters", map[string]string{ColPhone: "98765x3210"}, []string{"phone: " + registry.MsgPhone}},
		{"phone excel scientific", map[string]string{ColPhone: "9.87654E+09"}, []string{"phone: " + registry.MsgPhoneExcel}},
		{"phone too long", map[string]string{ColPhone: strings.Repeat("9", 21)}, []string{"phone: is longer than 20 characters"}},
		{"email invalid", map[string]string{ColEmail: "asha@"}, []string{"email: is not a valid email address"}},
		{"email and phone missing", map[string]string{ColEmail: "", ColPhone: "", ColPhoneVerified: "FALSE"}, []string{"email: email or phone is required"}},
		{"email too long", map[string]string{ColEmail: strings.Repeat("a", 250) + "@x.org"}, []string{"email: is longer than 254 characters"}},
		{"userName missing", map[string]string{ColUserName: ""}, []string{"userName: is required"}},
		{"userName short", map[string]string{ColUserName: "ab"}, []string{"userName: must be 3 to 64 characters"}},
		{"userName characters", map[string]string{ColUserName: "asha rao"}, []string{"userName: may contain only letters, digits, dot, underscore, hyphen and @"}},
		{"userName too long", map[string]string{ColUserName: strings.Repeat("a", 65)}, []string{"userName: is longer than 64 characters"}},
		{"password missing", map[string]string{ColPassword: ""}, []string{"password: is required"}},
		{"password short", map[string]string{ColPassword: "short"}, []string{"password: must be 8 to 128 characters"}},
		{"password too long", map[string]string{ColPassword: strings.Repeat("p", 129)}, []string{"password: is longer than 128 characters"}},
		{"provider without phoneVerified", map[string]string{ColPhoneVerified: ""}, []string{"phoneVerified: is required when provider is given"}},
		{"phoneVerified without provider", map[string]string{ColProvider: ""}, []string{"provider: is required when phoneVerified is given"}},
		{"provider characters", map[string]string{ColProvider: "T N"}, []string{"provider: may contain only letters, digits, dot, underscore and hyphen"}},
		{"phoneVerified not boolean", map[string]string{ColPhoneVerified: "yes"}, []string{"phoneVerified: must be TRUE or FALSE"}},
		{"phoneVerified without phone", map[string]string{ColPhone: ""}, []string{"phoneVerified: can be TRUE only when phone is given"}},
		{"emailVerified not boolean", map[string]string{ColEmailVerified: "1"}, []string{"emailVerified: must be TRUE or FALSE"}},
		{"emailVerified without email", map[string]string{ColEmail: "", ColEmailVerified: "TRUE"}, []string{"emailVerified: can be TRUE only when email is given"}},
		{"roles unknown", map[string]string{ColRoles: "CONTENT_CREATOR, TEACHER"}, []string{
			`roles: unknown role "TEACHER"; valid values are ` + strings.Join(roster.Roles, ", ")}},
		{"grade unknown", map[string]string{ColGrade: "Class 1,Class 13"}, []string{
			`grade: unknown grade "Class 13"; valid values are ` + strings.Join(Grades, ", ")}},
		{"language unknown", map[string]string{ColLanguage: "French"}, []string{
			`language: unknown language "French"; valid values are ` + strings.Join(Languages, ", ")}},
		{"subject unknown", map[string]string{ColSubject: "Art"}, []string{
			`subject: unknown subject "Art"; valid values are ` + strings.Join(Subjects, ", ")}},
		{"list value that may be PII is not echoed", map[string]string{ColSubject: "asha@example.org"}, []string{
			`subject: unknown subject; valid values are ` + strings.Join(Subjects, ", ")}},
		{"roles too long", map[string]string{ColRoles: strings.Repeat("PUBLIC,", 72)}, []string{"roles: is longer than 500 characters"}},
		{"position too long", map[string]string{ColPosition: strings.Repeat("p", 101)}, []string{"position: is longer than 100 characters"}},
		{"location too long", map[string]string{ColLocation: strings.Repeat("l", 201)}, []string{"location: is longer than 200 characters"}},
		{"profileSummary too long", map[string]string{ColProfileSummary: strings.Repeat("s", 1001)}, []string{"profileSummary: is longer than 1000 characters"}},
		{"DOB format", map[string]string{ColDOB: "1990.02.01"}, []string{"DOB: " + registry.MsgDOBFormat}},
		{"DOB not a date", map[string]string{ColDOB: "30-02-1990"}, []string{"DOB: is not a real date"}},
		{"DOB today", map[string]string{ColDOB: "15-06-2024"}, []string{"DOB: must be in the past"}},
		{"DOB future", map[string]string{ColDOB: "01-01-2030"}, []string{"DOB: must be in the past"}},
		{"DOB ancient", map[string]string{ColDOB: "01-01-1850"}, []string{"DOB: must be in 1900 or later"}},
		{"gender", map[string]string{ColGender: "F"}, []string{"gender: must be Male, Female or Transgender"}},
		{"externalId without type and provider", map[string]string{ColExternalIDType: "", ColExternalIDProvider: ""}, []string{
			"externalIdType: externalId, externalIdType and externalIdProvider must be given together",
			"externalIdProvider: externalId, externalIdType and externalIdProvider must be given together"}},
		{"externalIdType without externalId", map[string]string{ColExternalID: ""}, []string{
			"externalId: externalId, externalIdType and externalIdProvider must be given together"}},
		{"externalId too long", map[string]string{ColExternalID: strings.Repeat("x", 101)}, []string{"externalId: is longer than 100 characters"}},
		{"externalIds not JSON", map[string]string{ColExternalIDs: "T-2"}, []string{"externalIds: " + externalIDsShape}},
		{"externalIds object not array", map[string]string{ColExternalIDs: `{"id":"a","idType":"b","provider":"c"}`}, []string{"externalIds: " + externalIDsShape}},
		{"externalIds unknown key", map[string]string{ColExternalIDs: `[{"id":"a","idType":"b","provider":"c","who":"d"}]`}, []string{"externalIds: " + externalIDsShape}},
		{"externalIds missing provider", map[string]string{ColExternalIDs: `[{"id":"a","idType":"b","operation":"ADD"}]`}, []string{"externalIds: entry 1: id, idType and provider are required"}},
		{"externalIds bad operation", map[string]string{ColExternalIDs: `[{"id":"a","idType":"b","provider":"c","operation":"ADD"},{"id":"d","idType":"b","provider":"c","operation":"MERGE"}]`}, []string{"externalIds: entry 2: operation must be ADD, EDIT or REMOVE"}},
		{"externalIds long value", map[string]string{ColExternalIDs: `[{"id":"` + strings.Repeat("a", 101) + `","idType":"b","provider":"c"}]`}, []string{"externalIds: entry 1: values must be at most 100 characters"}},
		{"externalIds too many", map[string]string{ColExternalIDs: "[" + strings.Repeat(`{"id":"a","idType":"b","provider":"c"},`, 10) + `{"id":"a","idType":"b","provider":"c"}]`}, []string{"externalIds: must have at most 10 entries"}},
	}
	runRowCases(t, cases)
}

// All of a row's errors come back together, in column order.
func TestValidateAllErrorsOfARow(t *testing.T) {
	v := map[string]string{ColFirstName: "", ColUserName: "x", ColPassword: "", ColGender: "?"}
	recs := ValidateRows([]Row{{Number: 7, Values: v}}, today)
	want := []string{
		"firstName: is required",
		"email: email or phone is required",
		"userName: must be 3 to 64 characters",
		"password: is required",
		"gender: must be Male, Female or Transgender",
	}
	if got := errorStrings(recs[0].Errors); !reflect.DeepEqual(got, want) {
		t.Fatalf("errors\n%q\nwant\n%q", got, want)
	}
}

func TestValidateCanonicalisation(t *testing.T) {
	v := validValues()
	v[ColRoles] = "content creator, Book-Reviewer,CONTENT_CREATOR,,public"
	v[ColGrade] = "class1, KINDERGARTEN"
	v[ColLanguage] = "hindi,Tamil"
	v[ColSubject] = "environmental studies"
	v[ColGender] = "TRANSGENDER"
	v[ColDOB] = "1/2/1990"
	v[ColPhone] = "+91 98765-43210"
	v[ColPhoneVerified] = "true" // any case; FALSE with a phone is refused (TestValidateSeedRules)
	v[ColExternalIDs] = `[{“id”:“T-1”,“idType”:“teacherId”,“provider”:“TN”,“operation”:“add”},` +
		`{"id":"A-9","idType":"aadhaarRef","provider":"TN","operation":"EDIT"},` +
		`{"id":"Z","idType":"old","provider":"TN","operation":"REMOVE"}]`
	recs := ValidateRows([]Row{{Number: 2, Values: v}}, today)
	r := recs[0]
	if !r.OK() {
		t.Fatalf("errors: %v", r.Errors)
	}
	u := r.User.User
	if !reflect.DeepEqual(r.User.Roles, []string{"CONTENT_CREATOR", "BOOK_REVIEWER", "PUBLIC"}) {
		t.Errorf("roles %v", r.User.Roles)
	}
	if !reflect.DeepEqual(u.Framework["gradeLevel"], []string{"Class 1", "Kindergarten"}) ||
		!reflect.DeepEqual(u.Framework["subject"], []string{"Environmental Studies"}) {
		t.Errorf("framework %v", u.Framework)
	}
	if !reflect.DeepEqual(u.Language, []string{"Hindi", "Tamil"}) || u.Gender != "Transgender" || u.DOB != "1990-02-01" {
		t.Errorf("language %v gender %s dob %s", u.Language, u.Gender, u.DOB)
	}
	if u.Phone != "+919876543210" || !u.PhoneVerified {
		t.Errorf("phone %s verified %v", u.Phone, u.PhoneVerified)
	}
	// T-1 appears in both columns but counts once; REMOVE adds nothing.
	want := []roster.ExternalIdentity{
		{Provider: "TN", IDType: "teacherId", ExternalID: "T-1"},
		{Provider: "TN", IDType: "aadhaarRef", ExternalID: "A-9"},
	}
	if !reflect.DeepEqual(r.User.ExternalIDs, want) {
		t.Errorf("external ids %+v", r.User.ExternalIDs)
	}
	for _, p := range []string{"919876543210", "09876543210", "(98765) 43210"} {
		v[ColPhone] = p
		if r := ValidateRows([]Row{{Number: 2, Values: v}}, today)[0]; !r.OK() || r.User.User.Phone != "+919876543210" {
			t.Errorf("phone %q: %v %s", p, r.Errors, r.User.User.Phone)
		}
	}
}

// A value repeated on several rows fails every one of them, each naming
// the others; comparisons use the normalised form.
func TestValidateDuplicatesInFile(t *testing.T) {
	mk := func(n int, set map[string]string) Row {
		v := validValues()
		v[ColExternalID], v[ColExternalIDType], v[ColExternalIDProvider] = "", "", ""
		v[ColUserName] = "user" + string(rune('a'+n))
		v[ColEmail] = "u" + string(rune('a'+n)) + "@example.org"
		v[ColPhone] = "98765432" + string(rune('0'+n/10)) + string(rune('0'+n%10))
		for k, val := range set {
			v[k] = val
		}
		return Row{Number: n, Values: v}
	}
	rows := []Row{
		mk(2, map[string]string{ColEmail: "Same@Example.org"}),
		mk(3, map[string]string{ColEmail: "same@example.org ", ColUserName: "Twin"}),
		mk(4, map[string]string{ColPhone: "+91 98765 43299"}),
		mk(5, map[string]string{ColPhone: "9876543299", ColUserName: "twin"}),
		mk(6, map[string]string{ColEmail: "SAME@example.org"}),
		mk(7, map[string]string{ColExternalID: "X1", ColExternalIDType: "t", ColExternalIDProvider: "TN"}),
		mk(8, map[string]string{ColExternalIDs: `[{"id":"x1","idType":"T","provider":"tn"}]`}),
		mk(9, nil),
	}
	recs := ValidateRows(rows, today)
	want := map[int][]string{
		2: {"email: is also used in rows 3 and 6"},
		3: {"email: is also used in rows 2 and 6", "userName: is also used in row 5"},
		4: {"phone: is also used in row 5"},
		5: {"phone: is also used in row 4", "userName: is also used in row 3"},
		6: {"email: is also used in rows 2 and 3"},
		7: {"externalId: is also used in row 8"},
		8: {"externalIds: is also used in row 7"},
		9: {},
	}
	for _, r := range recs {
		if got := errorStrings(r.Errors); !reflect.DeepEqual(got, want[r.Row.Number]) {
			t.Errorf("row %d: %q, want %q", r.Row.Number, got, want[r.Row.Number])
		}
	}
}

// Rules the CSV now shares with the API (issue 8): a phone keeps its
// country, phoneVerified is TRUE with a phone, control characters are
// refused, and DOB takes the API's YYYY-MM-DD too.
func TestValidateSharedRules(t *testing.T) {
	cases := []rowCase{
		// Was silently made the Indian +919321234177.
		{"phone with a foreign prefix stays foreign", map[string]string{ColPhone: "+9321234177"}, []string{"phone: " + registry.MsgPhone}},
		{"phoneVerified FALSE with a phone", map[string]string{ColPhoneVerified: "FALSE"}, []string{"phoneVerified: " + registry.MsgPhoneVerified}},
		{"NUL in a name", map[string]string{ColFirstName: "As\x00ha"}, []string{"firstName: " + registry.MsgControl}},
		{"escape in position", map[string]string{ColPosition: "Head\x1b[31m"}, []string{"position: " + registry.MsgControl}},
		{"NUL in an external id", map[string]string{ColExternalIDs: `[{"id":"a\u0000","idType":"b","provider":"c"}]`}, []string{"externalIds: entry 1: " + registry.MsgControl}},
		{"DOB year in the future", map[string]string{ColDOB: "2999"}, []string{"DOB: " + registry.MsgDOBPast}},
	}
	runRowCases(t, cases)
	v := validValues()
	v[ColPhone], v[ColDOB], v[ColProfileSummary] = "+44 7911 123456", "1990-02-01", "Maths teacher.\nTen years."
	r := ValidateRows([]Row{{Number: 2, Values: v}}, today)[0]
	if !r.OK() || r.User.User.Phone != "+447911123456" || r.User.User.CountryCode != "+44" || r.User.User.DOB != "1990-02-01" {
		t.Fatalf("%v %+v", r.Errors, r.User.User)
	}
}

// rowCase is a valid row with some cells changed and the errors it gives.
type rowCase struct {
	name string
	set  map[string]string
	want []string
}

func runRowCases(t *testing.T, cases []rowCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := validValues()
			for k, val := range c.set {
				v[k] = val
			}
			recs := ValidateRows([]Row{{Number: 2, Values: v}}, today)
			if got := errorStrings(recs[0].Errors); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("errors\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}
