package upload

import (
	"bytes"
	"encoding/json"
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
	"github.com/roster-dev/roster/internal/registry"
)

// MaxLength is the longest value accepted per column, in characters.
// Longer values are rejected, never truncated: a truncated email or name
// would silently create a different user. Names and userName follow the
// registry's own limits; the rest are generous bounds for free text.
var MaxLength = map[string]int{
	ColFirstName:          registry.MaxNameLength,
	ColLastName:           registry.MaxNameLength,
	ColPhone:              20,
	ColEmail:              254, // RFC 5321 path limit
	ColUserName:           64,
	ColPassword:           128,
	ColProvider:           100,
	ColPhoneVerified:      5,
	ColEmailVerified:      5,
	ColRoles:              500,
	ColPosition:           100,
	ColGrade:              500,
	ColLocation:           200,
	ColDOB:                10,
	ColGender:             20,
	ColLanguage:           500,
	ColProfileSummary:     1000,
	ColSubject:            1000,
	ColExternalID:         100,
	ColExternalIDs:        2000,
	ColExternalIDType:     100,
	ColExternalIDProvider: 100,
}

// MaxExternalIDs bounds the entries of the externalIds column.
const MaxExternalIDs = 10

// Record is one validated row: the user to create, or the row's errors.
type Record struct {
	Row    Row
	User   registry.NewUser // meaningful only when Errors is empty
	Errors []roster.FieldError
	// keys are the normalised unique values (email, phone, username,
	// external ids) used to find duplicates inside the file.
	keys []uniqueKey
}

// OK reports whether the row passed validation.
func (r *Record) OK() bool { return len(r.Errors) == 0 }

type uniqueKey struct{ field, value string }

// namespace maps a key to the namespace it is unique in: an id in the
// externalIds JSON column and one in the externalId column are the same
// identity.
func (k uniqueKey) namespace() uniqueKey {
	if k.field == ColExternalIDs {
		k.field = ColExternalID
	}
	return k
}

// ValidateRows validates every row, then marks values that repeat across
// rows. today is the date DOB must precede (in the admin's calendar; the
// caller passes roster.Now()).
func ValidateRows(rows []Row, today time.Time) []Record {
	out := make([]Record, len(rows))
	for i, r := range rows {
		out[i] = validateRow(r, today)
	}
	markDuplicates(out)
	return out
}

// rowErrors collects a row's errors, at most one per rule.
type rowErrors []roster.FieldError

func (e *rowErrors) add(field, msg string) {
	*e = append(*e, roster.FieldError{Field: field, Message: msg})
}

func validateRow(r Row, today time.Time) Record {
	rec := Record{Row: r}
	var errs rowErrors
	get := func(col string) string { return r.Values[col] }
	// Over-long values get only that error: further checks on a pasted
	// paragraph would just add noise.
	tooLong := map[string]bool{}
	for _, col := range Columns {
		if n := MaxLength[col]; utf8.RuneCountInString(get(col)) > n {
			errs.add(col, "is longer than "+strconv.Itoa(n)+" characters")
			tooLong[col] = true
		}
	}
	check := func(col string) bool { return !tooLong[col] && get(col) != "" }

	u := &rec.User.User
	u.FlagsValue = roster.FlagTenantVerified

	// Names.
	u.FirstName, u.LastName = get(ColFirstName), get(ColLastName)
	if get(ColFirstName) == "" {
		errs.add(ColFirstName, "is required")
	} else if check(ColFirstName) {
		if msg := nameProblem(u.FirstName); msg != "" {
			errs.add(ColFirstName, msg)
		}
	}
	if check(ColLastName) {
		if msg := nameProblem(u.LastName); msg != "" {
			errs.add(ColLastName, msg)
		}
	}

	// Contact details: at least one, each in canonical form.
	if check(ColPhone) {
		if p, msg := indianMobile(get(ColPhone)); msg != "" {
			errs.add(ColPhone, msg)
		} else {
			u.Phone = p
			rec.keys = append(rec.keys, uniqueKey{ColPhone, p})
		}
	}
	if check(ColEmail) {
		if e, err := pii.NormaliseEmail(get(ColEmail)); err != nil {
			errs.add(ColEmail, err.Error())
		} else {
			u.Email = e
			rec.keys = append(rec.keys, uniqueKey{ColEmail, e})
		}
	}
	if get(ColPhone) == "" && get(ColEmail) == "" {
		errs.add(ColEmail, "email or phone is required")
	}

	// Login.
	if get(ColUserName) == "" {
		errs.add(ColUserName, "is required")
	} else if check(ColUserName) {
		if msg := registry.CheckUsername(get(ColUserName)); msg != "" {
			errs.add(ColUserName, msg)
		} else {
			u.Username = get(ColUserName)
			rec.keys = append(rec.keys, uniqueKey{ColUserName, pii.NormaliseUsername(u.Username)})
		}
	}
	if pw := get(ColPassword); pw == "" {
		errs.add(ColPassword, "is required")
	} else if msg := registry.CheckPassword(pw); !tooLong[ColPassword] && msg != "" {
		errs.add(ColPassword, msg)
	} else {
		rec.User.Password = pw
	}

	// provider and phoneVerified come as a pair (seed 002, note on both).
	provider, phoneVerified := get(ColProvider), get(ColPhoneVerified)
	if provider != "" && phoneVerified == "" {
		errs.add(ColPhoneVerified, "is required when provider is given")
	}
	if phoneVerified != "" && provider == "" {
		errs.add(ColProvider, "is required when phoneVerified is given")
	}
	if check(ColProvider) && !isCode(provider) {
		errs.add(ColProvider, "may contain only letters, digits, dot, underscore and hyphen")
	}
	u.PhoneVerified = verifiedFlag(&errs, ColPhoneVerified, phoneVerified, ColPhone, get(ColPhone))
	u.EmailVerified = verifiedFlag(&errs, ColEmailVerified, get(ColEmailVerified), ColEmail, get(ColEmail))

	// Lists from the seed's allowed values.
	if check(ColRoles) {
		rec.User.Roles = listValues(&errs, ColRoles, "role", get(ColRoles), roster.Roles, roleKey)
	}
	var framework map[string][]string
	if check(ColGrade) {
		if g := listValues(&errs, ColGrade, "grade", get(ColGrade), Grades, columnKey); len(g) > 0 {
			framework = map[string][]string{"gradeLevel": g}
		}
	}
	if check(ColSubject) {
		if s := listValues(&errs, ColSubject, "subject", get(ColSubject), Subjects, columnKey); len(s) > 0 {
			if framework == nil {
				framework = map[string][]string{}
			}
			framework["subject"] = s
		}
	}
	u.Framework = framework
	if check(ColLanguage) {
		u.Language = listValues(&errs, ColLanguage, "language", get(ColLanguage), Languages, columnKey)
	}

	// Free text: only the length limit applies.
	u.Position, u.Location, u.ProfileSummary = get(ColPosition), get(ColLocation), get(ColProfileSummary)

	if check(ColDOB) {
		if d, msg := parseDOB(get(ColDOB), today); msg != "" {
			errs.add(ColDOB, msg)
		} else {
			u.DOB = d
		}
	}
	if check(ColGender) {
		if g, ok := canonical(get(ColGender), Genders, columnKey); ok {
			u.Gender = g
		} else {
			errs.add(ColGender, "must be Male, Female or Transgender")
		}
	}

	// External identities: the three single columns, plus the JSON list.
	id, idType, idProvider := get(ColExternalID), get(ColExternalIDType), get(ColExternalIDProvider)
	if id != "" || idType != "" || idProvider != "" {
		complete := true
		for _, c := range []string{ColExternalID, ColExternalIDType, ColExternalIDProvider} {
			if get(c) == "" {
				errs.add(c, "externalId, externalIdType and externalIdProvider must be given together")
				complete = false
			}
		}
		if complete && !tooLong[ColExternalID] && !tooLong[ColExternalIDType] && !tooLong[ColExternalIDProvider] {
			rec.addExternalID(ColExternalID, idProvider, idType, id)
		}
	}
	if check(ColExternalIDs) {
		ids, msg := parseExternalIDs(get(ColExternalIDs))
		if msg != "" {
			errs.add(ColExternalIDs, msg)
		}
		for _, x := range ids {
			rec.addExternalID(ColExternalIDs, x.Provider, x.IDType, x.ID)
		}
	}

	rec.Errors = errs
	return rec
}

func (rec *Record) addExternalID(col, provider, idType, id string) {
	key := pii.NormaliseExternalID(provider, idType, id)
	for _, k := range rec.keys {
		if k.namespace() == (uniqueKey{ColExternalID, key}) {
			return // the same identity in both columns counts once
		}
	}
	rec.keys = append(rec.keys, uniqueKey{col, key})
	rec.User.ExternalIDs = append(rec.User.ExternalIDs, roster.ExternalIdentity{Provider: provider, IDType: idType, ExternalID: id})
}

// nameProblem applies the registry's name rule, and also insists on one
// letter so that "." or "'" alone is not a name.
func nameProblem(s string) string {
	if msg := registry.CheckName(s); msg != "" {
		return msg
	}
	for _, r := range s {
		if unicode.IsLetter(r) {
			return ""
		}
	}
	return "must contain a letter"
}

// indianMobile accepts a 10-digit Indian mobile number, optionally written
// with +91, 91 or 0 in front and with spaces, dots, hyphens or brackets,
// and returns it in E.164.
func indianMobile(s string) (string, string) {
	const msg = "must be a 10-digit mobile number"
	if strings.ContainsAny(s, "eE") {
		// Excel shows long numbers as 9.88E+09 unless the column is text.
		return "", msg + " (format the column as text so the spreadsheet keeps all digits)"
	}
	digits := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case r == '+' || r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
			return -1
		}
		return 'x'
	}, s)
	switch {
	case len(digits) == 12 && strings.HasPrefix(digits, "91"):
		digits = digits[2:]
	case len(digits) == 11 && digits[0] == '0':
		digits = digits[1:]
	}
	if len(digits) != 10 || digits[0] < '6' || strings.ContainsRune(digits, 'x') {
		return "", msg
	}
	e164, err := pii.NormalisePhone(digits, "IN")
	if err != nil {
		return "", msg
	}
	return e164, ""
}

// verifiedFlag reads a TRUE/FALSE column that may be TRUE only when the
// value it vouches for (phone or email) is present.
func verifiedFlag(errs *rowErrors, col, v, subjectCol, subject string) bool {
	switch strings.ToUpper(v) {
	case "":
		return false
	case "FALSE":
		return false
	case "TRUE":
		if subject == "" {
			errs.add(col, "can be TRUE only when "+subjectCol+" is given")
			return false
		}
		return true
	}
	errs.add(col, "must be TRUE or FALSE")
	return false
}

var codeRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func isCode(s string) bool { return codeRE.MatchString(s) }

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

func canonical(v string, allowed []string, key func(string) string) (string, bool) {
	k := key(v)
	for _, a := range allowed {
		if key(a) == k {
			return a, true
		}
	}
	return "", false
}

// maxListErrors caps the errors one list cell produces.
const maxListErrors = 3

// listValues splits a comma-separated cell and maps each item to its
// canonical spelling; duplicates collapse and empty items are ignored.
func listValues(errs *rowErrors, col, what, cell string, allowed []string, key func(string) string) []string {
	var out []string
	bad := 0
	for _, item := range strings.Split(cell, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		c, ok := canonical(item, allowed, key)
		if !ok {
			if bad++; bad <= maxListErrors {
				errs.add(col, "unknown "+what+quoteValue(item)+"; valid values are "+strings.Join(allowed, ", "))
			}
			continue
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// quoteValue echoes an offending list value back to the admin, unless it
// could be personal data typed into the wrong column (an email or phone):
// row errors are stored in clear and must never hold PII.
func quoteValue(v string) string {
	digits := 0
	for _, r := range v {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if utf8.RuneCountInString(v) > 40 || strings.ContainsRune(v, '@') || digits > 4 {
		return ""
	}
	return " " + strconv.Quote(v)
}

var dobRE = regexp.MustCompile(`^(\d{1,2})[-/](\d{1,2})[-/](\d{4})$`)

// parseDOB reads DD-MM-YYYY (the seed's format; "/" is accepted too because
// spreadsheets often display dates that way) and returns YYYY-MM-DD.
func parseDOB(s string, today time.Time) (string, string) {
	m := dobRE.FindStringSubmatch(s)
	if m == nil {
		return "", "must be a date in DD-MM-YYYY format"
	}
	day, _ := strconv.Atoi(m[1])
	month, _ := strconv.Atoi(m[2])
	year, _ := strconv.Atoi(m[3])
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month || t.Year() != year {
		return "", "is not a real date"
	}
	if year < 1900 {
		return "", "must be in 1900 or later"
	}
	y, mo, d := today.Date()
	if !t.Before(time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)) {
		return "", "must be in the past"
	}
	return t.Format(time.DateOnly), ""
}

type externalIDEntry struct {
	ID        string `json:"id"`
	IDType    string `json:"idType"`
	Provider  string `json:"provider"`
	Operation string `json:"operation"`
}

const externalIDsShape = `must be a JSON array like [{"id":"…","idType":"…","provider":"…","operation":"ADD"}]`

// parseExternalIDs reads the externalIds column. The seed's own example
// uses typographic quotes (as word processors type them), so those are
// read as plain ones. A new user has nothing to edit or remove: EDIT adds
// the identity like ADD, REMOVE entries are accepted and ignored.
func parseExternalIDs(s string) ([]externalIDEntry, string) {
	s = strings.NewReplacer("“", `"`, "”", `"`, "„", `"`, "″", `"`).Replace(s)
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	var list []externalIDEntry
	if err := dec.Decode(&list); err != nil || dec.More() {
		return nil, externalIDsShape
	}
	if len(list) > MaxExternalIDs {
		return nil, "must have at most " + strconv.Itoa(MaxExternalIDs) + " entries"
	}
	var out []externalIDEntry
	for i, x := range list {
		x.ID, x.IDType, x.Provider = strings.TrimSpace(x.ID), strings.TrimSpace(x.IDType), strings.TrimSpace(x.Provider)
		n := i + 1
		switch {
		case x.ID == "" || x.IDType == "" || x.Provider == "":
			return nil, fmt.Sprintf("entry %d: id, idType and provider are required", n)
		case len(x.ID) > 100 || len(x.IDType) > 100 || len(x.Provider) > 100:
			return nil, fmt.Sprintf("entry %d: values must be at most 100 characters", n)
		}
		switch strings.ToUpper(strings.TrimSpace(x.Operation)) {
		case "", "ADD", "EDIT":
			out = append(out, x)
		case "REMOVE":
		default:
			return nil, fmt.Sprintf("entry %d: operation must be ADD, EDIT or REMOVE", n)
		}
	}
	return out, ""
}

// markDuplicates gives every row whose email, phone, userName or external
// id also appears on another row an error naming the other rows, so the
// admin sees both sides of the clash.
func markDuplicates(recs []Record) {
	seen := map[uniqueKey][]int{} // key → indexes into recs
	for i := range recs {
		for _, k := range recs[i].keys {
			seen[k.namespace()] = append(seen[k.namespace()], i)
		}
	}
	for i := range recs {
		for _, k := range recs[i].keys {
			idx := seen[k.namespace()]
			if len(idx) < 2 {
				continue
			}
			var others []int
			for _, j := range idx {
				if j != i {
					others = append(others, recs[j].Row.Number)
				}
			}
			recs[i].Errors = append(recs[i].Errors, roster.FieldError{Field: k.field, Message: alsoIn(others)})
		}
	}
}

func alsoIn(rows []int) string {
	const maxListed = 10
	words := make([]string, 0, min(len(rows), maxListed))
	for _, n := range rows[:min(len(rows), maxListed)] {
		words = append(words, strconv.Itoa(n))
	}
	list := words[0]
	if len(words) > 1 {
		list = strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
	}
	if len(rows) > maxListed {
		list += fmt.Sprintf(" (and %d more)", len(rows)-maxListed)
	}
	if len(rows) == 1 {
		return "is also used in row " + list
	}
	return "is also used in rows " + list
}
