package upload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
)

// MaxExternalIDs bounds the entries of the externalIds column.
const MaxExternalIDs = registry.MaxExternalIDs

// maxExternalIDsText bounds the externalIds cell before its JSON is read.
const maxExternalIDsText = 2000

// Record is one validated row: the user to create, or the row's errors.
type Record struct {
	Row    Row
	User   registry.NewUser // meaningful only when Errors is empty
	Errors []roster.FieldError
	// Key, Change and UpdateErrors are the row read as an update, in
	// update and upsert mode: the user it names and what it changes.
	Key          registry.UserKey
	Change       registry.UserChange
	UpdateErrors []roster.FieldError
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
	return validateRows(rows, today, roster.UploadModeCreate, false)
}

// validateRows validates rows for mode: as new users, and in update and
// upsert mode also as changes of existing users.
func validateRows(rows []Row, today time.Time, mode string, activation bool) []Record {
	out := make([]Record, len(rows))
	for i, r := range rows {
		if mode == roster.UploadModeCreate {
			out[i] = validateRow(r, today, activation)
			if st, msg := registry.CheckStatus(r.Values[ColStatus]); msg != "" || st == registry.StatusBlocked {
				out[i].Errors = append(out[i].Errors, roster.FieldError{Field: ColStatus, Message: orDefault(msg, registry.MsgStatusNew)})
			}
			continue
		}
		out[i] = validateRow(blankClears(r), today, activation)
		out[i].Row = r
		out[i].Key, out[i].Change, out[i].UpdateErrors = decodeChange(r)
	}
	markDuplicates(out)
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// rowErrors collects the errors of decoding a row's cells.
type rowErrors []roster.FieldError

func (e *rowErrors) add(field, msg string) {
	*e = append(*e, roster.FieldError{Field: field, Message: msg})
}

// has reports whether field already has an error.
func (e rowErrors) has(field string) bool {
	return slices.ContainsFunc(e, func(f roster.FieldError) bool { return f.Field == field })
}

// validateRow decodes a row's cells into a new user and applies the
// registry's rule book to it. Only what is particular to a file is done
// here: TRUE/FALSE cells, comma-separated lists, the externalIds JSON and
// the three externalId columns that go together.
func validateRow(r Row, today time.Time, activation bool) Record {
	rec := Record{Row: r}
	var errs rowErrors
	get := func(col string) string { return r.Values[col] }
	// Columns the rule book does not see as such: the JSON text and the
	// three single external id columns.
	tooLong := map[string]bool{}
	limits := map[string]int{ColExternalIDs: maxExternalIDsText}
	for _, col := range []string{ColExternalID, ColExternalIDType, ColExternalIDProvider} {
		limits[col] = registry.MaxLength[col]
	}
	for col, n := range limits {
		if utf8.RuneCountInString(get(col)) > n {
			errs.add(col, registry.MsgTooLong(n))
			tooLong[col] = true
		}
	}

	nu := &rec.User
	nu.AssociationType = roster.AssociationSystemUpload
	u := &nu.User
	u.FlagsValue = roster.FlagTenantVerified
	u.FirstName, u.LastName = get(ColFirstName), get(ColLastName)
	u.Phone, u.Email, u.Username = get(ColPhone), get(ColEmail), get(ColUserName)
	nu.Password, nu.Provider = get(ColPassword), get(ColProvider)
	nu.Activate = activation && nu.Password == ""
	nu.PhoneVerified = flag(&errs, ColPhoneVerified, get(ColPhoneVerified))
	nu.EmailVerified = flag(&errs, ColEmailVerified, get(ColEmailVerified))
	nu.Roles = list(get(ColRoles))
	if g, s := list(get(ColGrade)), list(get(ColSubject)); g != nil || s != nil {
		u.Framework = map[string][]string{}
		if g != nil {
			u.Framework["gradeLevel"] = g
		}
		if s != nil {
			u.Framework["subject"] = s
		}
	}
	u.Language = list(get(ColLanguage))
	u.Position, u.Location, u.ProfileSummary = get(ColPosition), get(ColLocation), get(ColProfileSummary)
	u.DOB, u.Gender = get(ColDOB), get(ColGender)

	// External identities: the JSON list (REMOVE entries included, so the
	// rule book's "entry N" is the entry the admin wrote), then the three
	// single columns unless the list already has that identity.
	var removed []bool
	if get(ColExternalIDs) != "" && !tooLong[ColExternalIDs] {
		ids, msg := parseExternalIDs(get(ColExternalIDs))
		if msg != "" {
			errs.add(ColExternalIDs, msg)
		}
		for _, x := range ids {
			nu.ExternalIDs = append(nu.ExternalIDs, roster.ExternalIdentity{Provider: x.Provider, IDType: x.IDType, ExternalID: x.ID})
			removed = append(removed, strings.EqualFold(strings.TrimSpace(x.Operation), "REMOVE"))
		}
	}
	id, idType, idProvider := get(ColExternalID), get(ColExternalIDType), get(ColExternalIDProvider)
	fromColumns := false
	if id != "" || idType != "" || idProvider != "" {
		complete := true
		for _, c := range []string{ColExternalID, ColExternalIDType, ColExternalIDProvider} {
			if get(c) == "" {
				errs.add(c, MsgExtIDTogether)
				complete = false
			}
		}
		key := pii.NormaliseExternalID(idProvider, idType, id)
		dup := slices.ContainsFunc(nu.ExternalIDs, func(x roster.ExternalIdentity) bool {
			return pii.NormaliseExternalID(x.Provider, x.IDType, x.ExternalID) == key
		})
		if complete && !dup && !tooLong[ColExternalID] && !tooLong[ColExternalIDType] && !tooLong[ColExternalIDProvider] {
			nu.ExternalIDs = append(nu.ExternalIDs, roster.ExternalIdentity{Provider: idProvider, IDType: idType, ExternalID: id})
			removed = append(removed, false)
			fromColumns = true
		}
	}

	for _, e := range registry.CheckUser(nu, today) {
		// A cell that could not be decoded has its one error already.
		if !errs.has(e.Field) {
			errs = append(errs, e)
		}
	}
	slices.SortStableFunc(errs, func(a, b roster.FieldError) int { return columnIndex(a.Field) - columnIndex(b.Field) })
	rec.Errors = errs

	// A new user has nothing to remove: REMOVE entries are checked, then
	// dropped. What remains, and every valid unique value, is a key for
	// finding the same value on another row of the file.
	kept := nu.ExternalIDs[:0]
	for i, x := range nu.ExternalIDs {
		if removed[i] {
			continue
		}
		col := ColExternalIDs
		if fromColumns && i == len(removed)-1 {
			col = ColExternalID
		}
		k := uniqueKey{col, pii.NormaliseExternalID(x.Provider, x.IDType, x.ExternalID)}
		if slices.ContainsFunc(rec.keys, func(o uniqueKey) bool { return o.namespace() == k.namespace() }) {
			continue // the same identity twice in one row counts once
		}
		kept = append(kept, x)
		rec.keys = append(rec.keys, k)
	}
	nu.ExternalIDs = kept
	if len(kept) == 0 {
		nu.ExternalIDs = nil
	}
	for _, k := range []uniqueKey{{ColPhone, u.Phone}, {ColEmail, u.Email}, {ColUserName, pii.NormaliseUsername(u.Username)}} {
		if k.value != "" && !errs.has(k.field) {
			rec.keys = append(rec.keys, k)
		}
	}
	return rec
}

// columnIndex orders a row's errors as its columns are ordered.
func columnIndex(field string) int {
	if i := slices.Index(Columns, field); i >= 0 {
		return i
	}
	return len(Columns)
}

// flag reads a TRUE/FALSE cell (any case); nil when it is empty.
func flag(errs *rowErrors, col, v string) *bool {
	switch strings.ToUpper(v) {
	case "":
		return nil
	case "TRUE", "FALSE":
		b := strings.ToUpper(v) == "TRUE"
		return &b
	}
	errs.add(col, "must be TRUE or FALSE")
	return nil
}

// list splits a comma-separated cell; the rule book trims the items and
// counts their length as the cell's.
func list(cell string) []string {
	if cell == "" {
		return nil
	}
	return strings.Split(cell, ",")
}

type externalIDEntry struct {
	ID        string `json:"id"`
	IDType    string `json:"idType"`
	Provider  string `json:"provider"`
	Operation string `json:"operation"`
}

const externalIDsShape = `must be a JSON array like [{"id":"…","idType":"…","provider":"…","operation":"ADD"}]`

// parseExternalIDs decodes the externalIds column. The seed's own example
// uses typographic quotes (as word processors type them), so those are read
// as plain ones. Operation is ADD, EDIT or REMOVE (default ADD); the rule
// book checks the entries' values.
func parseExternalIDs(s string) ([]externalIDEntry, string) {
	s = strings.NewReplacer("“", `"`, "”", `"`, "„", `"`, "″", `"`).Replace(s)
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	var list []externalIDEntry
	if err := dec.Decode(&list); err != nil || dec.More() {
		return nil, externalIDsShape
	}
	for i, x := range list {
		switch strings.ToUpper(strings.TrimSpace(x.Operation)) {
		case "", "ADD", "EDIT", "REMOVE":
		default:
			return nil, fmt.Sprintf("entry %d: operation must be ADD, EDIT or REMOVE", i+1)
		}
	}
	return list, ""
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
			dup := roster.FieldError{Field: k.field, Message: alsoIn(others)}
			recs[i].Errors = append(recs[i].Errors, dup)
			recs[i].UpdateErrors = append(recs[i].UpdateErrors, dup)
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
