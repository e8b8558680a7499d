package registry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// This file is the rule book for a user's fields. The API (create and
// update), the CSV upload and any later entry path hand their values to
// CheckUser and report what it returns, so a value is accepted or refused
// with the same words everywhere. Entry paths keep only their own
// decoding (a CSV's TRUE/FALSE cells, comma lists, the externalIds JSON).

// Seed 002's column names, used as the field of every error. The API's JSON
// properties are the same words, except the JSON "dob" (reported as DOB)
// and framework.gradeLevel/framework.subject (reported as grade/subject).
const (
	FieldPhoneVerified   = "phoneVerified"
	FieldEmailVerified   = "emailVerified"
	FieldProvider        = "provider"
	FieldCountryCode     = "countryCode"
	FieldPosition        = "position"
	FieldGrade           = "grade"
	FieldLocation        = "location"
	FieldGender          = "gender"
	FieldLanguage        = "language"
	FieldProfileSummary  = "profileSummary"
	FieldSubject         = "subject"
	FieldExternalIDs     = "externalIds"
	FieldProfileLocation = "profileLocation"
	FieldProfileUserType = "profileUserTypes"
	FieldFramework       = "framework"
	FieldStatus          = "status"
)

// ClearMarker is the cell value that clears a field in an update upload:
// a blank cell leaves the field as it is, so clearing needs a word no real
// value can be.
const ClearMarker = "#clear"

// Values of the status field of an update upload.
const (
	StatusActive  = "active"
	StatusBlocked = "blocked"
	// Self sign-up only.
	FieldYearOfBirth = "yearOfBirth"
	FieldTncVersion  = "tncAcceptedVersion"
)

// AdultAge is the age by year of birth from which a user may hold their
// own account; younger users are managed users (seed 001: managedby).
const AdultAge = 18

// MaxLength is the longest value accepted per field, in characters. Longer
// values are refused, never truncated: a truncated email or name would
// silently make a different user. A list counts as its items joined by
// commas, as the CSV cell holds them.
var MaxLength = map[string]int{
	FieldFirstName:       MaxNameLength,
	FieldLastName:        MaxNameLength,
	FieldPhone:           20,
	FieldEmail:           254, // RFC 5321 path limit
	FieldUserName:        64,
	FieldPassword:        128,
	FieldProvider:        100,
	FieldRoles:           500,
	FieldPosition:        100,
	FieldGrade:           500,
	FieldLocation:        200,
	FieldDOB:             10,
	FieldGender:          20,
	FieldLanguage:        500,
	FieldProfileSummary:  1000,
	FieldSubject:         1000,
	FieldExternalID:      100,
	"externalIdType":     100,
	"externalIdProvider": 100,
	FieldRecoveryEmail:   254,
	FieldRecoveryPhone:   20,
	FieldCountryCode:     5,
	FieldManagedBy:       64,
	FieldOrgID:           64,
	FieldYearOfBirth:     4,
	FieldTncVersion:      32,
}

// MaxExternalIDs bounds a user's external identities.
const MaxExternalIDs = 10

// Allowed values, spelled as seed 002 spells them; input matches ignoring
// case and spaces and is stored in this spelling.
var (
	Grades = []string{
		"Class 1", "Class 2", "Class 3", "Class 4", "Class 5", "Class 6",
		"Class 7", "Class 8", "Class 9", "Class 10", "Kindergarten", "Other",
	}
	Languages = []string{
		"English", "Gujarati", "Hindi", "Kannada", "Marathi", "Punjabi", "Tamil", "Telugu",
	}
	Subjects = []string{
		"Assamese", "Bengali", "English", "Hindi", "Kannada", "Malayalam", "Oriya",
		"Punjabi", "Tamil", "Telugu", "Urdu", "Biology", "Chemistry", "Physics",
		"Mathematics", "Environmental Studies", "Geography", "History",
		"Political Science", "Economics", "Sanskrit", "Gujarati", "Marathi", "Nepali",
	}
	Genders = []string{"Male", "Female", "Transgender"}
	// LocationTypes is the hierarchy of profileLocation, top first.
	LocationTypes = []string{roster.LocationState, roster.LocationDistrict, roster.LocationBlock, roster.LocationCluster}
)

// Messages. Rules (below) lists them per field for the documents.
const (
	MsgRequired       = "is required"
	MsgNameChars      = "may contain only letters, spaces, dots, apostrophes and hyphens"
	MsgNameLetter     = "must contain a letter"
	MsgControl        = "must not contain control characters"
	MsgPhone          = "must be a mobile number: 10 digits for India, or + and the country code first"
	MsgPhoneExcel     = MsgPhone + " (format the column as text so the spreadsheet keeps all digits)"
	MsgPhoneCountry   = "has a different country code than countryCode"
	MsgCountryCode    = "must be a country calling code such as +91"
	MsgEmailOrPhone   = "email or phone is required"
	MsgUsernameLength = "must be 3 to 64 characters"
	MsgUsernameChars  = "may contain only letters, digits, dot, underscore, hyphen and @"
	MsgPasswordLength = "must be 8 to 128 characters"
	MsgPhoneVerified  = "must be TRUE when phone is given"
	MsgProviderChars  = "may contain only letters, digits, dot, underscore and hyphen"
	MsgDOBFormat      = "must be a date DD-MM-YYYY or YYYY-MM-DD, or a year YYYY"
	MsgDOBReal        = "is not a real date"
	MsgDOB1900        = "must be in 1900 or later"
	MsgDOBPast        = "must be in the past"
	MsgGender         = "must be Male, Female or Transgender"
	MsgAssociation    = "must combine 1 (SSO), 2 (self-declared) and 4 (system upload)"
	MsgStatus         = "must be active or blocked"
	MsgStatusNew      = "a new user is always active; leave status blank or write active"
	MsgBlockSelf      = "you cannot block yourself"
	MsgNotMember      = "the user does not belong to this organisation now"
	MsgNotCleared     = "cannot be cleared"
	MsgManagedContact = "must be empty for a managed user: their parent's account holds the contact details"
	MsgYearOfBirth    = "must be a year YYYY, 1900 or later and before this year"
	MsgMinorParent    = "under 18: a parent or guardian signs you up from their own signed-in account"
	MsgOneContact     = "give an email or a phone, not both: the code goes to one of them"
	MsgStateDistrict  = "a state and a district are required"
	MsgTncStale       = "is not the current version of the terms; reload the page and accept them again"
)

// CheckStatus reads an update's status value (any case) as StatusActive or
// StatusBlocked, or returns the message; blank is "leave as is".
func CheckStatus(v string) (string, string) {
	switch s := strings.ToLower(strings.TrimSpace(v)); s {
	case "", StatusActive, StatusBlocked:
		return s, ""
	}
	return "", MsgStatus
}

// MsgTrueOnlyWith is the message of a verified flag set without its value.
func MsgTrueOnlyWith(field string) string { return "can be TRUE only when " + field + " is given" }

// MsgPairedWith is the message of one of seed 002's paired columns given
// without the other.
func MsgPairedWith(field string) string { return "is required when " + field + " is given" }

// MsgTooLong is the message of a value over its MaxLength.
func MsgTooLong(n int) string { return "is longer than " + strconv.Itoa(n) + " characters" }

// Rule documents one field's rule and its messages. docs/UPLOADS.md and the
// OpenAPI descriptions of the user bodies are checked against (or made
// from) this list, so the documents cannot drift from the code.
type Rule struct {
	Field    string
	Rule     string
	Messages []string
}

func listRule(allowed []string) string {
	return "comma-separated (a list in JSON), any case and spacing, from: " + strings.Join(allowed, ", ")
}

// Rules is the rule book as documentation, in seed 002's column order.
var Rules = []Rule{
	{FieldFirstName, "required; letters of any script, marks, spaces, `.`, `'`, `-`; at least one letter", []string{MsgRequired, MsgNameChars, MsgNameLetter}},
	{FieldLastName, "optional, as firstName", []string{MsgNameChars, MsgNameLetter}},
	{FieldPhone, "a mobile number valid for its country: +<country code> and the number, or the number alone read with countryCode, else as Indian (+91, also written 91…, 0…); spaces, dashes, dots, brackets allowed; stored E.164", []string{MsgPhone, MsgPhoneExcel, MsgPhoneCountry}},
	{FieldCountryCode, "API only (seed 001 `countrycode`): the calling code of phone when it has no +, `+1`, `1` or `+001`; stored from the number itself", []string{MsgCountryCode}},
	{FieldEmail, "standard address, lower-cased; email or phone is required", []string{pii.ErrEmail.Error(), MsgEmailOrPhone}},
	{FieldUserName, "3–64 of `A-Z a-z 0-9 . _ - @`; required in a system upload, generated from the name elsewhere when empty", []string{MsgRequired, MsgUsernameLength, MsgUsernameChars}},
	{FieldPassword, "8–128 bytes, hashed with argon2id, never stored or shown; required in a system upload unless the server sends activation messages (`--upload-activation`), when a row without one gets a code to set it at its verified email or phone", []string{MsgRequired, MsgPasswordLength}},
	{FieldProvider, "system upload only: letters, digits, `. _ -`; given together with phoneVerified", []string{MsgProviderChars, MsgPairedWith(FieldPhoneVerified)}},
	{FieldPhoneVerified, "TRUE or FALSE; TRUE only with a phone, and never FALSE with one (seed 002: \"TRUE, if phone number is provided\"); in a system upload given together with provider", []string{MsgTrueOnlyWith(FieldPhone), MsgPhoneVerified, MsgPairedWith(FieldProvider)}},
	{FieldEmailVerified, "TRUE or FALSE; TRUE only with an email", []string{MsgTrueOnlyWith(FieldEmail)}},
	{FieldRoles, listRule(roster.Roles) + "; PUBLIC when none", []string{`unknown role "X"; valid values are …`}},
	{FieldPosition, "free text", nil},
	{FieldGrade, listRule(Grades) + " (the API's framework.gradeLevel)", []string{`unknown grade "X"; valid values are …`}},
	{FieldLocation, "free text", nil},
	{FieldDOB, "`DD-MM-YYYY` (or `/`), `YYYY-MM-DD` or a year `YYYY` (stored YYYY-12-31); a real date, 1900 or later, before today; stored `YYYY-MM-DD` (the API's dob)", []string{MsgDOBFormat, MsgDOBReal, MsgDOB1900, MsgDOBPast}},
	{FieldGender, strings.Join(Genders, ", ") + " (any case)", []string{MsgGender}},
	{FieldLanguage, listRule(Languages), []string{`unknown language "X"; valid values are …`}},
	{FieldProfileSummary, "free text; may span lines", nil},
	{FieldSubject, listRule(Subjects) + " (the API's framework.subject)", []string{`unknown subject "X"; valid values are …`}},
	{FieldExternalIDs, "at most 10 of {id, idType, provider}, each value 1–100 characters", []string{"entry 2: id, idType and provider are required", "entry 2: values must be at most 100 characters", "must have at most 10 entries"}},
	{FieldProfileLocation, "API only: at most one entry per type (state, district, block, cluster); each code exists in the location table; each entry lies inside the entries above it", []string{`entry 2: unknown type "X"; valid types are state, district, block, cluster`, `entry 2: code is required`, `entry 2: no district has code "X"`, `entry 2: only one district may be given`, `entry 2: district "X" is not in state "Y"`}},
	{FieldStatus, "update uploads: `active` or `blocked` (any case); blocking ends the user's sessions; blank leaves it as it is; a created user is always active", []string{MsgStatus, MsgStatusNew, MsgBlockSelf}},
	{"update", "in update and upsert uploads a blank cell leaves the field as it is and `" + ClearMarker + "` clears it (firstName, userName and status cannot be cleared; roles cleared become PUBLIC); password is used only when a row creates a user", []string{MsgNotCleared, MsgNotMember}},
	{FieldYearOfBirth, "self sign-up only: required, a year `YYYY` from 1900 to last year (stored as DOB YYYY-12-31); under 18 (this year minus it) means a managed user: signed up by a signed-in parent, who becomes managedBy", []string{MsgRequired, MsgYearOfBirth, MsgMinorParent}},
	{FieldManagedBy, "the parent of a managed (child) user, a user of the same tenant (a signed-up child: the signed-in parent, any tenant); a managed user has no email or phone of their own; at most 10 per parent in a sign-up", []string{MsgManagedContact, "is not a user of this tenant", MsgTooManyManaged}},
	{FieldTncVersion, "self sign-up only: required, the current version of the platform terms", []string{MsgRequired, MsgTncStale}},
	{"any", "no control characters (profileSummary may have line breaks and tabs); no longer than the limit below", []string{MsgControl, "is longer than N characters"}},
}

// RuleFor returns the documented rule of a field.
func RuleFor(field string) (Rule, bool) {
	for _, r := range Rules {
		if r.Field == field {
			return r, true
		}
	}
	return Rule{}, false
}

// fieldErrors collects a user's errors and remembers which fields already
// failed, so a pasted paragraph gets "too long" and not five more errors.
type fieldErrors struct {
	list   []roster.FieldError
	failed map[string]bool
}

func (e *fieldErrors) add(field, msg string) {
	e.list = append(e.list, roster.FieldError{Field: field, Message: msg})
	if e.failed == nil {
		e.failed = map[string]bool{}
	}
	e.failed[field] = true
}

func (e *fieldErrors) addValue(field, msg, value string) {
	e.add(field, msg)
	e.list[len(e.list)-1].Value = value
}

// scalar trims *v and checks its length and characters; it reports whether
// further rules should look at the value.
func (e *fieldErrors) scalar(field string, v *string, multiline bool) bool {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		return false
	}
	if n, ok := MaxLength[field]; ok && utf8.RuneCountInString(*v) > n {
		e.add(field, MsgTooLong(n))
		return false
	}
	if hasControl(*v, multiline) {
		e.add(field, MsgControl)
		return false
	}
	return true
}

// hasControl reports control characters (NUL included), which PostgreSQL
// refuses in text and which no name, code or address needs.
func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return true
		}
	}
	return false
}

// CheckUser applies the rule book to a new user and returns every problem
// at once. It normalises in to the stored form as it goes (trimmed names,
// E.164 phone, lower-cased email, YYYY-MM-DD DOB, canonical list spellings),
// and running it again on its own output gives the same result. today is
// the date DOB must precede. The location table is checked by
// CheckProfileLocation, which needs the database.
func CheckUser(in *NewUser, today time.Time) []roster.FieldError {
	var e fieldErrors
	u := &in.User
	upload := in.AssociationType&roster.AssociationSystemUpload != 0

	for _, f := range []struct {
		field string
		v     *string
	}{{FieldFirstName, &u.FirstName}, {FieldLastName, &u.LastName}} {
		if e.scalar(f.field, f.v, false) {
			if msg := CheckName(*f.v); msg != "" {
				e.add(f.field, msg)
			}
		}
	}
	if u.FirstName == "" && !e.failed[FieldFirstName] {
		e.add(FieldFirstName, MsgRequired)
	}

	cc := ""
	if e.scalar(FieldCountryCode, &u.CountryCode, false) {
		var ok bool
		if cc, ok = callingCode(u.CountryCode); !ok {
			e.add(FieldCountryCode, MsgCountryCode)
		} else {
			u.CountryCode = "+" + cc
		}
	}
	if e.scalar(FieldPhone, &u.Phone, false) && !e.failed[FieldCountryCode] {
		if p, msg := normalisePhone(u.Phone, cc); msg != "" {
			e.add(FieldPhone, msg)
		} else {
			u.Phone, u.CountryCode = p, pii.CountryCode(p)
		}
	}
	if e.scalar(FieldEmail, &u.Email, false) {
		if v, err := pii.NormaliseEmail(u.Email); err != nil {
			e.add(FieldEmail, err.Error())
		} else {
			u.Email = v
		}
	}
	if e.scalar(FieldRecoveryEmail, &u.RecoveryEmail, false) {
		if v, err := pii.NormaliseEmail(u.RecoveryEmail); err != nil {
			e.add(FieldRecoveryEmail, err.Error())
		} else {
			u.RecoveryEmail = v
		}
	}
	if e.scalar(FieldRecoveryPhone, &u.RecoveryPhone, false) {
		if v, msg := normalisePhone(u.RecoveryPhone, ""); msg != "" {
			e.add(FieldRecoveryPhone, msg)
		} else {
			u.RecoveryPhone = v
		}
	}
	// A value that failed a rule stays as given, so "given" is "not empty".
	if u.Phone == "" && u.Email == "" && u.ManagedBy == "" && !e.failed[FieldEmail] {
		e.add(FieldEmail, MsgEmailOrPhone)
	}
	e.scalar(FieldManagedBy, &u.ManagedBy, false)
	if u.ManagedBy != "" && !e.failed[FieldManagedBy] {
		// Seed 001: a managed user's email and phone are blank.
		for _, f := range []struct {
			field, v string
		}{{FieldEmail, u.Email}, {FieldPhone, u.Phone}} {
			if f.v != "" && !e.failed[f.field] {
				e.add(f.field, MsgManagedContact)
			}
		}
	}
	if in.SelfSignUp {
		e.signUp(in, today)
	}

	if e.scalar(FieldUserName, &u.Username, false) {
		if msg := CheckUsername(u.Username); msg != "" {
			e.add(FieldUserName, msg)
		}
	} else if upload && u.Username == "" && !e.failed[FieldUserName] {
		e.add(FieldUserName, MsgRequired)
	}
	// The password is not trimmed here: the API takes it as typed.
	switch pw := in.Password; {
	case pw == "":
		if upload && u.PasswordHash == "" && !in.Activate {
			e.add(FieldPassword, MsgRequired)
		}
	case utf8.RuneCountInString(pw) > MaxLength[FieldPassword]:
		e.add(FieldPassword, MsgTooLong(MaxLength[FieldPassword]))
	case hasControl(pw, false):
		e.add(FieldPassword, MsgControl)
	default:
		if msg := CheckPassword(pw); msg != "" {
			e.add(FieldPassword, msg)
		}
	}

	// Seed 002: provider and phoneVerified are given together or not at
	// all, phoneVerified is "TRUE, if phone number is provided", and
	// emailVerified likewise for email.
	if upload {
		if e.scalar(FieldProvider, &in.Provider, false) && !codeRE.MatchString(in.Provider) {
			e.add(FieldProvider, MsgProviderChars)
		}
		if in.Provider != "" && in.PhoneVerified == nil {
			e.add(FieldPhoneVerified, MsgPairedWith(FieldProvider))
		}
		if in.PhoneVerified != nil && in.Provider == "" && !e.failed[FieldProvider] {
			e.add(FieldProvider, MsgPairedWith(FieldPhoneVerified))
		}
	}
	verified := func(field string, given *bool, stored *bool, subjectField, subject string) {
		v := *stored
		if given != nil {
			v = *given
		}
		switch {
		case v && subject == "":
			e.add(field, MsgTrueOnlyWith(subjectField))
			v = false
		case given != nil && !v && subject != "" && field == FieldPhoneVerified:
			e.add(field, MsgPhoneVerified)
		}
		*stored = v
	}
	verified(FieldPhoneVerified, in.PhoneVerified, &u.PhoneVerified, FieldPhone, u.Phone)
	verified(FieldEmailVerified, in.EmailVerified, &u.EmailVerified, FieldEmail, u.Email)

	if len(in.Roles) > 0 {
		in.Roles = e.list1(FieldRoles, "role", in.Roles, roster.Roles, roleKey)
	}
	for _, f := range []struct {
		field, key, what string
		allowed          []string
	}{{FieldGrade, "gradeLevel", "grade", Grades}, {FieldSubject, "subject", "subject", Subjects}} {
		if vals, ok := u.Framework[f.key]; ok {
			if c := e.list1(f.field, f.what, vals, f.allowed, valueKey); len(c) > 0 {
				u.Framework[f.key] = c
			} else {
				delete(u.Framework, f.key)
			}
		}
	}
	for k, vals := range u.Framework {
		if hasControl(k, false) || slices.ContainsFunc(vals, func(v string) bool { return hasControl(v, false) }) {
			e.add(FieldFramework, MsgControl)
			break
		}
	}
	if len(u.Language) > 0 {
		u.Language = e.list1(FieldLanguage, "language", u.Language, Languages, valueKey)
	}

	e.scalar(FieldPosition, &u.Position, false)
	e.scalar(FieldLocation, &u.Location, false)
	e.scalar(FieldProfileSummary, &u.ProfileSummary, true)
	if e.scalar(FieldDOB, &u.DOB, false) {
		if d, msg := ParseDOB(u.DOB, today); msg != "" {
			e.add(FieldDOB, msg)
		} else {
			u.DOB = d
		}
	}
	if e.scalar(FieldGender, &u.Gender, false) {
		if g, ok := canonical(u.Gender, Genders, valueKey); ok {
			u.Gender = g
		} else {
			e.add(FieldGender, MsgGender)
		}
	}

	e.externalIDs(in.ExternalIDs)

	for i := range u.ProfileLocation {
		l := &u.ProfileLocation[i]
		l.Code, l.Type = strings.TrimSpace(l.Code), strings.ToLower(strings.TrimSpace(l.Type))
		if hasControl(l.Code+l.Type, false) {
			e.add(FieldProfileLocation, fmt.Sprintf("entry %d: %s", i+1, MsgControl))
			break
		}
	}
	for _, t := range u.ProfileUserTypes {
		if hasControl(t.Type+t.SubType, false) {
			e.add(FieldProfileUserType, MsgControl)
			break
		}
	}
	e.scalar(FieldOrgID, &in.OrgID, false)
	if in.AssociationType&^(roster.AssociationSSO|roster.AssociationSelfDeclared|roster.AssociationSystemUpload) != 0 {
		e.add(FieldAssociationType, MsgAssociation)
	}
	return e.list
}

// signUp is the rule book of a self sign-up: one contact to verify, a
// year of birth that decides whether the user is a managed minor, a
// state and district, and an accepted terms version (which version is
// current is the caller's configuration: CheckTncVersion).
func (e *fieldErrors) signUp(in *NewUser, today time.Time) {
	u := &in.User
	if u.Email != "" && u.Phone != "" {
		e.add(FieldPhone, MsgOneContact)
	}
	if e.scalar(FieldYearOfBirth, &in.YearOfBirth, false) {
		year, err := strconv.Atoi(in.YearOfBirth)
		switch {
		case err != nil || len(in.YearOfBirth) != 4 || year < 1900 || year >= today.Year():
			e.add(FieldYearOfBirth, MsgYearOfBirth)
		case today.Year()-year < AdultAge && u.ManagedBy == "":
			e.add(FieldYearOfBirth, MsgMinorParent)
		default:
			u.DOB = in.YearOfBirth
		}
	} else if !e.failed[FieldYearOfBirth] {
		e.add(FieldYearOfBirth, MsgRequired)
	}
	types := map[string]bool{}
	for _, l := range u.ProfileLocation {
		types[strings.ToLower(strings.TrimSpace(l.Type))] = true
	}
	if !types[roster.LocationState] || !types[roster.LocationDistrict] {
		e.add(FieldProfileLocation, MsgStateDistrict)
	}
	if !e.scalar(FieldTncVersion, &u.TncAcceptedVersion, false) && !e.failed[FieldTncVersion] {
		e.add(FieldTncVersion, MsgRequired)
	}
}

// IsMinor reports whether a year of birth (YYYY) makes a user under
// AdultAge this year.
func IsMinor(yearOfBirth string, today time.Time) bool {
	year, err := strconv.Atoi(strings.TrimSpace(yearOfBirth))
	return err == nil && today.Year()-year < AdultAge
}

// CheckTncVersion is the rule for an accepted terms version: it must be
// the current one, so nobody signs up under terms that were replaced
// while their page was open.
func CheckTncVersion(given, current string) *roster.FieldError {
	if strings.TrimSpace(given) != current {
		return &roster.FieldError{Field: FieldTncVersion, Message: MsgTncStale}
	}
	return nil
}

// externalIDs is the rule for external identities, wherever they come
// from: a new user, or a link to an identity provider's subject.
func (e *fieldErrors) externalIDs(ids []roster.ExternalIdentity) {
	if len(ids) > MaxExternalIDs {
		e.add(FieldExternalIDs, "must have at most "+strconv.Itoa(MaxExternalIDs)+" entries")
	} else {
		for i := range ids {
			x := &ids[i]
			x.Provider, x.IDType, x.ExternalID = strings.TrimSpace(x.Provider), strings.TrimSpace(x.IDType), strings.TrimSpace(x.ExternalID)
			n := i + 1
			switch {
			case x.Provider == "" || x.IDType == "" || x.ExternalID == "":
				e.add(FieldExternalIDs, fmt.Sprintf("entry %d: id, idType and provider are required", n))
			case utf8.RuneCountInString(x.ExternalID) > 100 || utf8.RuneCountInString(x.Provider) > 100 || utf8.RuneCountInString(x.IDType) > 100:
				e.add(FieldExternalIDs, fmt.Sprintf("entry %d: values must be at most 100 characters", n))
			case hasControl(x.Provider+x.IDType+x.ExternalID, false):
				e.add(FieldExternalIDs, fmt.Sprintf("entry %d: %s", n, MsgControl))
			default:
				continue
			}
			break
		}
	}
}

// CheckExternalIDs applies the external-identity rule alone, for an
// identity added to an existing user (an SSO link). It trims ids in place.
func CheckExternalIDs(ids []roster.ExternalIdentity) []roster.FieldError {
	var e fieldErrors
	e.externalIDs(ids)
	return e.list
}

// maxListErrors caps the errors one list produces.
const maxListErrors = 3

// list1 maps each item of a list to its canonical spelling; duplicates
// collapse and empty items are ignored. A list with a bad item is returned
// as given, so that checking it again reports it again.
func (e *fieldErrors) list1(field, what string, items, allowed []string, key func(string) string) []string {
	if n := MaxLength[field]; utf8.RuneCountInString(strings.Join(items, ",")) > n {
		e.add(field, MsgTooLong(n))
		return items
	}
	var out []string
	bad := 0
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		c, ok := canonical(item, allowed, key)
		if !ok {
			if bad++; bad <= maxListErrors {
				q := quoteValue(item)
				msg := "unknown " + what + q + "; valid values are " + strings.Join(allowed, ", ")
				if q != "" {
					e.addValue(field, msg, item)
				} else {
					e.add(field, msg)
				}
			}
			continue
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if bad > 0 {
		return items
	}
	return out
}

// CheckRoles applies the roles rule to the roles of one membership, as
// an edit or a transfer gives them: the canonical spellings, PUBLIC when
// none, or the errors.
func CheckRoles(roles []string) ([]string, []roster.FieldError) {
	var e fieldErrors
	out := e.list1(FieldRoles, "role", roles, roster.Roles, roleKey)
	if len(e.list) > 0 {
		return nil, e.list
	}
	if len(out) == 0 {
		out = []string{roster.RolePublic}
	}
	return out, nil
}

func canonical(v string, allowed []string, key func(string) string) (string, bool) {
	k := key(v)
	for _, a := range allowed {
		if key(a) == k {
			return a, true
		}
	}
	return "", false
}

// valueKey matches list values ignoring case and any whitespace, so
// "class1" is "Class 1".
func valueKey(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "")) }

// roleKey matches roles case-insensitively and lets "Content Creator" or
// "content-creator" stand for CONTENT_CREATOR.
func roleKey(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return unicode.ToUpper(r)
	}, strings.Join(strings.Fields(s), " "))
}

// quoteValue echoes an offending list value back, unless it could be
// personal data typed into the wrong field (an email or phone): errors are
// stored in clear (upload results) and must never hold PII.
func quoteValue(v string) string {
	digits := 0
	for _, r := range v {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if utf8.RuneCountInString(v) > 40 || strings.ContainsRune(v, '@') || digits > 4 || hasControl(v, false) {
		return ""
	}
	return " " + strconv.Quote(v)
}

var codeRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// callingCode reads a country calling code written "+1", "1" or "+001" and
// returns its digits when some region uses it.
func callingCode(s string) (string, bool) {
	d := strings.TrimLeft(strings.TrimPrefix(s, "+"), "0")
	n, err := strconv.Atoi(d)
	if err != nil || n <= 0 || strings.ContainsAny(d, "+- ") {
		return "", false
	}
	if pii.RegionForCallingCode(n) == "" {
		return "", false
	}
	return strconv.Itoa(n), true
}

// normalisePhone parses a phone with its country: its own +CC prefix, else
// the calling code cc, else India. A number whose prefix contradicts cc is
// refused rather than re-homed.
func normalisePhone(s, cc string) (string, string) {
	if strings.ContainsAny(s, "eE") {
		// Excel shows long numbers as 9.88E+09 unless the column is text.
		return "", MsgPhoneExcel
	}
	region := ""
	if cc != "" {
		n, _ := strconv.Atoi(cc)
		region = pii.RegionForCallingCode(n)
	}
	p, err := pii.NormaliseMobile(s, region)
	if err != nil {
		return "", MsgPhone
	}
	if cc != "" && pii.CountryCode(p) != "+"+cc {
		return "", MsgPhoneCountry
	}
	return p, ""
}

var dobRE = regexp.MustCompile(`^(\d{1,2})[-/](\d{1,2})[-/](\d{4})$`)

// ParseDOB reads a date of birth written DD-MM-YYYY (seed 002; "/" too,
// as spreadsheets display dates), YYYY-MM-DD, or only a year, which seed
// 001 stores as YYYY-12-31. It returns YYYY-MM-DD or a message.
func ParseDOB(s string, today time.Time) (string, string) {
	s = strings.TrimSpace(s)
	var day, month, year int
	if m := dobRE.FindStringSubmatch(s); m != nil {
		day, _ = strconv.Atoi(m[1])
		month, _ = strconv.Atoi(m[2])
		year, _ = strconv.Atoi(m[3])
	} else if len(s) == 4 && strings.Trim(s, "0123456789") == "" {
		year, _ = strconv.Atoi(s)
		day, month = 31, 12
	} else if len(s) == 10 && s[4] == '-' && s[7] == '-' && strings.Trim(s[:4]+s[5:7]+s[8:], "0123456789") == "" {
		year, _ = strconv.Atoi(s[:4])
		month, _ = strconv.Atoi(s[5:7])
		day, _ = strconv.Atoi(s[8:])
	} else {
		return "", MsgDOBFormat
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month || t.Year() != year {
		return "", MsgDOBReal
	}
	if year < 1900 {
		return "", MsgDOB1900
	}
	y, mo, d := today.Date()
	if !t.Before(time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)) {
		return "", MsgDOBPast
	}
	return t.Format(time.DateOnly), ""
}

// CheckProfileLocation checks a profileLocation against the location table
// (seed 001: "validated against the location types and the location
// table"): a known type, at most one entry per type, a code that exists,
// and each entry inside the ones above it, so that a swapped state and
// district are refused rather than shown blank in reports. Entries are
// expected trimmed and lower-cased, as CheckUser leaves them.
func CheckProfileLocation(ctx context.Context, q store.Queryer, refs []roster.LocationRef) ([]roster.FieldError, error) {
	var e fieldErrors
	byType := map[string]*roster.Location{}
	entry := map[string]int{}
	for i, ref := range refs {
		n := i + 1
		switch {
		case !slices.Contains(LocationTypes, ref.Type):
			e.add(FieldProfileLocation, fmt.Sprintf("entry %d: unknown type%s; valid types are %s", n, quoteValue(ref.Type), strings.Join(LocationTypes, ", ")))
			continue
		case byType[ref.Type] != nil || entry[ref.Type] != 0:
			e.add(FieldProfileLocation, fmt.Sprintf("entry %d: only one %s may be given", n, ref.Type))
			continue
		}
		entry[ref.Type] = n
		if hasControl(ref.Code, false) {
			continue // CheckUser reports it
		}
		if ref.Code == "" {
			e.add(FieldProfileLocation, fmt.Sprintf("entry %d: code is required", n))
			continue
		}
		l, err := store.LocationByTypeCode(ctx, q, ref.Type, ref.Code)
		if errors.Is(err, store.ErrNoRows) {
			e.add(FieldProfileLocation, fmt.Sprintf("entry %d: no %s has code%s", n, ref.Type, quoteValue(ref.Code)))
			continue
		} else if err != nil {
			return nil, err
		}
		byType[ref.Type] = l
	}
	// Each declared location must lie under every declared one above it.
	for i, lower := range LocationTypes {
		l := byType[lower]
		if l == nil {
			continue
		}
		for _, upper := range LocationTypes[:i] {
			want := byType[upper]
			if want == nil {
				continue
			}
			anc, err := ancestor(ctx, q, l, upper)
			if err != nil {
				return nil, err
			}
			if anc == nil || anc.ID != want.ID {
				// Codes from the location table are not personal data.
				e.add(FieldProfileLocation, fmt.Sprintf("entry %d: %s %q is not in %s %q", entry[lower], lower, l.Code, upper, want.Code))
				break
			}
		}
	}
	return e.list, nil
}

// ancestor walks up from l to its parent of type typ (nil when none).
func ancestor(ctx context.Context, q store.Queryer, l *roster.Location, typ string) (*roster.Location, error) {
	for steps := 0; l.ParentID != "" && steps < len(LocationTypes); steps++ {
		p, err := store.GetLocation(ctx, q, l.ParentID)
		if errors.Is(err, store.ErrNoRows) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		if p.Type == typ {
			return p, nil
		}
		l = p
	}
	return nil, nil
}

// ruleMessages writes a rule's messages as the documents show them.
func ruleMessages(r Rule) string {
	var q []string
	for _, m := range r.Messages {
		q = append(q, "`"+m+"`")
	}
	return strings.Join(q, " / ")
}

// Describe is the API document's description of a field: its rule, its
// length limit and its messages, the same words as docs/UPLOADS.md.
func Describe(field string) string {
	r, ok := RuleFor(field)
	if !ok {
		return ""
	}
	d := r.Rule
	if n, ok := MaxLength[field]; ok {
		d += "; at most " + strconv.Itoa(n) + " characters"
	}
	if len(r.Messages) > 0 {
		d += ". Errors (field " + field + "): " + ruleMessages(r)
	}
	return d
}

// RulesMarkdown is the rule book as the table and limits of
// docs/UPLOADS.md, which a test keeps equal to it.
func RulesMarkdown() string {
	var b strings.Builder
	b.WriteString("| field | rule | messages |\n|---|---|---|\n")
	for _, r := range Rules {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.Field, r.Rule, ruleMessages(r))
	}
	b.WriteString("\nLength limits (characters): ")
	var limits []string
	for _, r := range Rules {
		if n, ok := MaxLength[r.Field]; ok {
			limits = append(limits, r.Field+" "+strconv.Itoa(n))
		}
	}
	b.WriteString(strings.Join(limits, "; ") + ".\n")
	return b.String()
}

// Self-declaration (issue 11.2). A teacher's declaration is checked here,
// not by the handler, so the console, the API and any later path (an SSO
// claim, a bulk import) refuse the same declarations in the same words.
const (
	FieldTeacherID = "teacherId"
	FieldReason    = "reason"
	FieldStateID   = "stateId"
	FieldSchoolID  = "schoolId"

	// MaxTeacherIDLength bounds a declared teacher id as an external id is
	// bounded (MaxLength[FieldExternalID]).
	MaxTeacherIDLength = 100
	// MaxReasonLength bounds a reviewer's reason: a sentence or two for
	// the teacher, not a letter.
	MaxReasonLength = 500

	MsgNotAState        = "is not a state you can declare for"
	MsgNotASchool       = "is not a school"
	MsgSchoolNotInState = "is a school of another state than the one declared"
	MsgSchoolOrID       = "give the school's id or its external id"
	MsgReasonForReject  = "is required when rejecting, so the teacher learns why"
)

// CheckDeclaration trims and checks what a teacher declares about
// themself: the teacher id is required, at most MaxTeacherIDLength
// characters, without control characters.
func CheckDeclaration(d *roster.Declaration) []roster.FieldError {
	var e fieldErrors
	d.TeacherID = strings.TrimSpace(d.TeacherID)
	switch {
	case d.TeacherID == "":
		e.add(FieldTeacherID, MsgRequired)
	case utf8.RuneCountInString(d.TeacherID) > MaxTeacherIDLength:
		e.add(FieldTeacherID, MsgTooLong(MaxTeacherIDLength))
	case hasControl(d.TeacherID, false):
		e.add(FieldTeacherID, MsgControl)
	}
	return e.list
}

// CheckDeclaredSchool is the consistency rule of a declaration: the state
// is a tenant other than the custodian, and the school is one of its
// organisations (not the state itself, not another state's school).
func CheckDeclaredSchool(state, school *roster.Organisation) []roster.FieldError {
	var e fieldErrors
	if !state.IsTenant || state.IsCustodian {
		e.add(FieldStateID, MsgNotAState)
		return e.list
	}
	switch {
	case school.IsTenant:
		e.add(FieldSchoolID, MsgNotASchool)
	case school.RootOrgID != state.ID:
		e.add(FieldSchoolID, MsgSchoolNotInState)
	}
	return e.list
}

// CheckDecisionReason trims and bounds a reviewer's reason, which may span
// lines; rejecting needs one.
func CheckDecisionReason(reason *string, rejecting bool) []roster.FieldError {
	var e fieldErrors
	*reason = strings.TrimSpace(*reason)
	switch {
	case *reason == "" && rejecting:
		e.add(FieldReason, MsgReasonForReject)
	case utf8.RuneCountInString(*reason) > MaxReasonLength:
		e.add(FieldReason, MsgTooLong(MaxReasonLength))
	case hasControl(*reason, true):
		e.add(FieldReason, MsgControl)
	}
	return e.list
}
