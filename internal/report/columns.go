// Package report builds course reports, delivered as a WinZip AES-256
// encrypted zip that only the course creator may request and download.
// Each report is a Kind (kinds.go); the first is the User Profile Exhaust of
// seed 000: one row per learner enrolled in a course batch, with personal
// fields filled only for learners who currently consent to share them.
// Reports are River jobs; the file is streamed from a keyset cursor through
// the format's writer and the zip writer to disk, so memory stays flat
// whatever the batch size.
package report

import (
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/roster-dev/roster/internal/pii"
)

// ExhaustHeader is the User Profile Exhaust's first row: the seed's
// columns, in the seed's order.
var ExhaustHeader = []string{
	"Collection Id", "Collection Name", "Batch Id", "Batch Name", "User UUID", "User Name", "State", "District",
	"Org Name", "External ID", "Mobile number", "Email ID", "Consent Provided", "Consent Provided Date",
}

// Personal fields a tenant policy can withhold (the API's JSON names).
const (
	FieldUserName   = "userName"
	FieldExternalID = "externalId"
	FieldPhone      = "phone"
	FieldEmail      = "email"
)

// PersonalFields lists the fields that are shared only on consent.
var PersonalFields = []string{FieldUserName, FieldExternalID, FieldPhone, FieldEmail}

// Share says which personal fields a report may show for a consenting user.
// A field left out of a request is not shared: the safe reading of "share
// only email" is that nothing else is.
type Share struct {
	UserName   bool `json:"userName" required:"false"`
	ExternalID bool `json:"externalId" required:"false"`
	Phone      bool `json:"phone" required:"false"`
	Email      bool `json:"email" required:"false"`
}

// ShareOf builds a Share from field names; unknown names are ignored (the
// service validates them before storing).
func ShareOf(fields []string) Share {
	var s Share
	for _, f := range fields {
		switch f {
		case FieldUserName:
			s.UserName = true
		case FieldExternalID:
			s.ExternalID = true
		case FieldPhone:
			s.Phone = true
		case FieldEmail:
			s.Email = true
		}
	}
	return s
}

// Fields lists the shared field names in PersonalFields order.
func (s Share) Fields() []string {
	out := []string{}
	for _, f := range []struct {
		on   bool
		name string
	}{{s.UserName, FieldUserName}, {s.ExternalID, FieldExternalID}, {s.Phone, FieldPhone}, {s.Email, FieldEmail}} {
		if f.on {
			out = append(out, f.name)
		}
	}
	return out
}

// Policy is a tenant's choice of shared personal fields, separately for
// self-signed-up users (SSU) and state-validated users (SSO).
type Policy struct {
	SSU Share `json:"selfSignedUp"`
	SSO Share `json:"stateValidated"`
}

// Policy presets.
const (
	PresetDefault = "default" // every personal field, for every consenting user
	PresetSeed    = "seed"    // what seed 000 describes
)

// DefaultPolicy shares all four personal fields on consent.
var DefaultPolicy = Policy{
	SSU: Share{UserName: true, ExternalID: true, Phone: true, Email: true},
	SSO: Share{UserName: true, ExternalID: true, Phone: true, Email: true},
}

// SeedPolicy is the policy seed 000's column notes describe: user name and
// external id "blank for all self signed up users but populated for States
// that opt for SSO"; mobile number and email "blank for both SSU & SSO".
var SeedPolicy = Policy{
	SSU: Share{},
	SSO: Share{UserName: true, ExternalID: true},
}

// Presets maps preset names to policies.
var Presets = map[string]Policy{PresetDefault: DefaultPolicy, PresetSeed: SeedPolicy}

// Row is one learner's data, already resolved and decrypted. Build fills
// the cells, applying consent and the policy, so the rules live in one place.
type Row struct {
	CourseID, CourseName string
	BatchID, BatchName   string
	UserID               string
	Name                 string // first and last name
	State, District      string
	Block, Cluster       string // filled for layouts that show them
	UserType             string // profileUserTypes' types, comma-separated
	UserSubType          string
	SchoolID, SchoolName string // the earliest joined school's code and name, for layouts that show them
	OrgName              string
	ExternalID           string
	Phone                string // E.164, as the registry stores it
	Email                string
	Validated            bool // state-validated (SSO) user: flagsValue has FlagTenantVerified
	Consented            bool // latest consent entry at generation time is ACTIVE
	ConsentAt            time.Time
}

// Shared returns which personal fields this row may show: none without
// consent, otherwise what the policy allows for the kind of user.
func (r *Row) Shared(p Policy) Share {
	if !r.Consented {
		return Share{}
	}
	if r.Validated {
		return p.SSO
	}
	return p.SSU
}

// Build writes the row's cells into dst (len(ExhaustHeader) long) and returns it.
// Values are raw; the CSV writer neutralises formulas.
func (r *Row) Build(p Policy, loc *time.Location, dst []string) []string {
	if cap(dst) < len(ExhaustHeader) {
		dst = make([]string, len(ExhaustHeader))
	}
	dst = dst[:len(ExhaustHeader)]
	share := r.Shared(p)
	dst[0], dst[1], dst[2], dst[3], dst[4] = r.CourseID, r.CourseName, r.BatchID, r.BatchName, r.UserID
	dst[5] = pick(share.UserName, r.Name)
	dst[6], dst[7], dst[8] = r.State, r.District, r.OrgName
	dst[9] = pick(share.ExternalID, r.ExternalID)
	dst[10] = pick(share.Phone, FormatPhone(r.Phone))
	dst[11] = pick(share.Email, r.Email)
	dst[12], dst[13] = "No", ""
	if r.Consented {
		dst[12] = "Yes"
		if !r.ConsentAt.IsZero() {
			dst[13] = r.ConsentAt.In(loc).Format(time.DateOnly)
		}
	}
	return dst
}

func pick(ok bool, v string) string {
	if ok {
		return v
	}
	return ""
}

// FullName joins first and last name as the seed's profile shows them.
func FullName(first, last string) string {
	return strings.TrimSpace(strings.TrimSpace(first) + " " + strings.TrimSpace(last))
}

// FormatPhone shows Indian numbers as the 10-digit national number people
// dial and the seed's masked phone ("98******09") is based on; numbers of
// other countries keep their E.164 form so they stay unambiguous (the CSV
// writer then prefixes the leading "+" with an apostrophe, which is what
// keeps spreadsheets from reading it as a formula).
func FormatPhone(e164 string) string {
	if e164 == "" {
		return ""
	}
	// The rule book stores only valid mobiles in E.164, and every Indian
	// mobile is +91 and ten digits, so the common case needs no parser:
	// libphonenumber's regexes were a fifth to a third of the exhaust's CPU.
	if len(e164) == 13 && strings.HasPrefix(e164, "+91") && allDigits(e164[3:]) {
		return e164[3:]
	}
	num, err := phonenumbers.Parse(e164, pii.DefaultRegion)
	if err != nil {
		return e164
	}
	if phonenumbers.GetRegionCodeForNumber(num) == pii.DefaultRegion {
		return phonenumbers.GetNationalSignificantNumber(num)
	}
	return e164
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
