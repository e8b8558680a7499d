package registry_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// fieldErrors returns err's field errors as "field: message".
func fieldErrors(t *testing.T, err error) []string {
	t.Helper()
	var re *roster.Error
	if !errors.As(err, &re) || re.Code != roster.EINVALID {
		t.Fatalf("want a validation error, got %v", err)
	}
	var out []string
	for _, f := range re.Fields {
		out = append(out, f.String())
	}
	return out
}

func valid(email string) registry.NewUser {
	return registry.NewUser{User: roster.User{FirstName: "Asha", Email: email}}
}

// createCase is a valid user with one change and the one error it gives.
type createCase struct {
	name string
	set  func(*registry.NewUser)
	want string
}

func (f *fixture) expectCreateErrors(t *testing.T, cases []createCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := valid("case@x.org")
			in.OrgID = f.stateA.ID
			c.set(&in)
			_, err := f.reg.CreateUser(f.ctx, f.adminA, in)
			if got := fieldErrors(t, err); !reflect.DeepEqual(got, []string{c.want}) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

// The API used to accept what the CSV refused; the rule book now refuses
// it on create and on update with the CSV's messages.
func TestAPIRefusesWhatCSVRefuses(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.expectCreateErrors(t, []createCase{
			{"gender", func(n *registry.NewUser) { n.User.Gender = "Robot" }, "gender: " + registry.MsgGender},
			{"language", func(n *registry.NewUser) { n.User.Language = []string{"Klingon"} },
				`language: unknown language "Klingon"; valid values are ` + strings.Join(registry.Languages, ", ")},
			{"position", func(n *registry.NewUser) { n.User.Position = strings.Repeat("p", 5000) }, "position: is longer than 100 characters"},
			{"location", func(n *registry.NewUser) { n.User.Location = strings.Repeat("l", 201) }, "location: is longer than 200 characters"},
			{"profileSummary", func(n *registry.NewUser) { n.User.ProfileSummary = strings.Repeat("s", 1001) }, "profileSummary: is longer than 1000 characters"},
			{"grade", func(n *registry.NewUser) { n.User.Framework = map[string][]string{"gradeLevel": {"Class 13"}} },
				`grade: unknown grade "Class 13"; valid values are ` + strings.Join(registry.Grades, ", ")},
			{"subject", func(n *registry.NewUser) { n.User.Framework = map[string][]string{"subject": {"Art"}} },
				`subject: unknown subject "Art"; valid values are ` + strings.Join(registry.Subjects, ", ")},
			{"letterless name", func(n *registry.NewUser) { n.User.FirstName = "." }, "firstName: " + registry.MsgNameLetter},
			{"DOB in the future", func(n *registry.NewUser) { n.User.DOB = "01-01-2999" }, "DOB: " + registry.MsgDOBPast},
		})
		// Canonical spellings are stored, as from the CSV.
		in := valid("canon@x.org")
		in.OrgID, in.Roles = f.stateA.ID, []string{"content creator"}
		in.User.Gender, in.User.Language = "female", []string{"tamil", "Tamil"}
		in.User.Framework = map[string][]string{"gradeLevel": {"class1"}, "board": {"State (Tamil Nadu)"}}
		v, err := f.reg.CreateUser(f.ctx, f.adminA, in)
		if err != nil {
			t.Fatal(err)
		}
		if v.Gender != "Female" || !reflect.DeepEqual(v.Language, []string{"Tamil"}) ||
			!reflect.DeepEqual(v.Framework, map[string][]string{"gradeLevel": {"Class 1"}, "board": {"State (Tamil Nadu)"}}) ||
			!reflect.DeepEqual(v.Memberships[0].Roles, []string{roster.RoleContentCreator}) {
			t.Fatalf("stored %q %v %v %v", v.Gender, v.Language, v.Framework, v.Memberships[0].Roles)
		}

		// Update goes through the same rules.
		robot, dot := "Robot", "."
		_, err = f.reg.UpdateUser(f.ctx, f.adminA, v.ID, registry.UserPatch{Gender: &robot, LastName: &dot})
		if got, want := fieldErrors(t, err), []string{"lastName: " + registry.MsgNameLetter, "gender: " + registry.MsgGender}; !reflect.DeepEqual(got, want) {
			t.Fatalf("update: got %q, want %q", got, want)
		}
		male := "MALE"
		if up, err := f.reg.UpdateUser(f.ctx, f.adminA, v.ID, registry.UserPatch{Gender: &male}); err != nil || up.Gender != "Male" {
			t.Fatalf("update gender: %v", err)
		}
	})
}

func TestProfileLocationCheckedAgainstLocationTable(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		tn := f.location(t, "state", "32", "")
		kl := f.location(t, "state", "33", "")
		chennai := f.location(t, "district", "3201", tn.ID)
		f.location(t, "district", "3301", kl.ID)
		block := f.location(t, "block", "320101", chennai.ID)
		f.location(t, "cluster", "32010101", block.ID)
		ref := func(pairs ...string) []roster.LocationRef {
			var out []roster.LocationRef
			for i := 0; i < len(pairs); i += 2 {
				out = append(out, roster.LocationRef{Code: pairs[i], Type: pairs[i+1]})
			}
			return out
		}
		for _, c := range []struct {
			name string
			refs []roster.LocationRef
			want string
		}{
			{"unknown code", ref("99", "state"), `profileLocation: entry 1: no state has code "99"`},
			{"unknown type", ref("33", "planet"), `profileLocation: entry 1: unknown type "planet"; valid types are state, district, block, cluster`},
			// The report's symptom: swapped codes gave blank State and District.
			{"state and district swapped", ref("3201", "state", "32", "district"), `profileLocation: entry 1: no state has code "3201"; profileLocation: entry 2: no district has code "32"`},
			{"district of another state", ref("32", "state", "3301", "district"), `profileLocation: entry 2: district "3301" is not in state "32"`},
			{"block of another state", ref("33", "state", "320101", "block"), `profileLocation: entry 2: block "320101" is not in state "33"`},
			{"two states", ref("32", "state", "33", "State"), "profileLocation: entry 2: only one state may be given"},
			{"no code", ref("", "district"), "profileLocation: entry 1: code is required"},
		} {
			t.Run(c.name, func(t *testing.T) {
				in := valid("loc@x.org")
				in.OrgID, in.User.ProfileLocation = f.stateA.ID, c.refs
				_, err := f.reg.CreateUser(f.ctx, f.adminA, in)
				if got := strings.Join(fieldErrors(t, err), "; "); got != c.want {
					t.Fatalf("got %q, want %q", got, c.want)
				}
			})
		}
		in := valid("loc@x.org")
		in.OrgID, in.User.ProfileLocation = f.stateA.ID, ref(" 32 ", "STATE", "3201", "district", "320101", "block", "32010101", "cluster")
		v, err := f.reg.CreateUser(f.ctx, f.adminA, in)
		if err != nil {
			t.Fatal(err)
		}
		if want := ref("32", "state", "3201", "district", "320101", "block", "32010101", "cluster"); !reflect.DeepEqual(v.ProfileLocation, want) {
			t.Fatalf("stored %v", v.ProfileLocation)
		}
		swapped := ref("3201", "state", "32", "district")
		if _, err := f.reg.UpdateUser(f.ctx, f.adminA, v.ID, registry.UserPatch{ProfileLocation: &swapped}); len(fieldErrors(t, err)) == 0 {
			t.Fatalf("update accepted swapped codes: %v", err)
		}
	})
}

// A number is read in its own country (+CC, or countryCode), in India only
// when neither is given, and never moved to another country.
func TestPhoneParsedWithItsCountry(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		create := func(email, phone, cc string) (*registry.UserView, error) {
			in := valid(email)
			in.OrgID, in.User.Phone, in.User.CountryCode = f.stateA.ID, phone, cc
			return f.reg.CreateUser(f.ctx, f.adminA, in)
		}
		for _, c := range []struct{ phone, cc, want string }{
			{"9874561230", "+001", "phone: " + registry.MsgPhone}, // was stored as +919874561230
			{"+9321234177", "", "phone: " + registry.MsgPhone},    // the CSV made it +919321234177
			{"+16502530000", "+91", "phone: " + registry.MsgPhoneCountry},
			{"6502530000", "zz", "countryCode: " + registry.MsgCountryCode},
			{"0442345678", "", "phone: " + registry.MsgPhone}, // a Chennai landline
		} {
			_, err := create("p@x.org", c.phone, c.cc)
			if got := fieldErrors(t, err); !reflect.DeepEqual(got, []string{c.want}) {
				t.Errorf("%s %s: got %q, want %q", c.phone, c.cc, got, c.want)
			}
		}
		for i, c := range []struct{ phone, cc, want, wantCC string }{
			{"6502530000", "+001", "+16502530000", "+1"},
			{"+44 7911 123456", "", "+447911123456", "+44"},
			{"09876543210", "", "+919876543210", "+91"},
			{"98765 43211", "91", "+919876543211", "+91"},
		} {
			v, err := create("ok"+string(rune('a'+i))+"@x.org", c.phone, c.cc)
			if err != nil || v.Phone != c.want || v.CountryCode != c.wantCC {
				t.Fatalf("%s %s: %v %+v", c.phone, c.cc, err, v)
			}
		}
		if v, err := create("cc-only@x.org", "", "001"); err != nil || v.CountryCode != "+1" {
			t.Fatalf("countryCode without phone: %v %+v", err, v)
		}
		v, _ := f.reg.FindUser(f.ctx, f.adminA, registry.LookupQuery{Type: roster.LookupPhone, Value: "+16502530000"})
		phone, cc := "2025550143", "+1"
		if v == nil {
			t.Fatal("lookup by E.164 failed")
		}
		up, err := f.reg.UpdateUser(f.ctx, f.adminA, v.ID, registry.UserPatch{Phone: &phone, CountryCode: &cc})
		if err != nil || up.Phone != "+12025550143" || up.CountryCode != "+1" {
			t.Fatalf("update with countryCode: %v %+v", err, up)
		}
		other := "9874561230"
		if _, err := f.reg.UpdateUser(f.ctx, f.adminA, v.ID, registry.UserPatch{Phone: &other, CountryCode: &cc}); len(fieldErrors(t, err)) != 1 {
			t.Fatalf("update re-homed a number: %v", err)
		}
	})
}

// Seed 002: phoneVerified is "TRUE, if phone number is provided".
func TestPhoneVerifiedRule(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		no, yes := false, true
		in := valid("pv@x.org")
		in.OrgID, in.User.Phone, in.PhoneVerified = f.stateA.ID, "9876543210", &no
		_, err := f.reg.CreateUser(f.ctx, f.adminA, in)
		if got, want := fieldErrors(t, err), []string{"phoneVerified: " + registry.MsgPhoneVerified}; !reflect.DeepEqual(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		in.User.Phone, in.PhoneVerified = "", &yes
		_, err = f.reg.CreateUser(f.ctx, f.adminA, in)
		if got, want := fieldErrors(t, err), []string{"phoneVerified: " + registry.MsgTrueOnlyWith("phone")}; !reflect.DeepEqual(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		in.User.Phone = "9876543210"
		if v, err := f.reg.CreateUser(f.ctx, f.adminA, in); err != nil || !v.PhoneVerified {
			t.Fatalf("phone with TRUE: %v", err)
		}
	})
}

// A NUL or other control character is a clear field error on both
// engines (it was a 500 on PostgreSQL and stored as is on SQLite).
func TestControlCharactersRefused(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.expectCreateErrors(t, []createCase{
			{"firstName", func(n *registry.NewUser) { n.User.FirstName = "As\x00ha" }, "firstName: " + registry.MsgControl},
			{"position", func(n *registry.NewUser) { n.User.Position = "Head\x00" }, "position: " + registry.MsgControl},
			{"location", func(n *registry.NewUser) { n.User.Location = "Chen\x1bnai" }, "location: " + registry.MsgControl},
			{"userName", func(n *registry.NewUser) { n.User.Username = "as\x00ha" }, "userName: " + registry.MsgControl},
			{"password", func(n *registry.NewUser) { n.Password = "secret\x00pass" }, "password: " + registry.MsgControl},
			{"managedBy", func(n *registry.NewUser) { n.User.ManagedBy = "\x00" }, "managedBy: " + registry.MsgControl},
			{"orgId", func(n *registry.NewUser) { n.OrgID = "x\x00" }, "orgId: " + registry.MsgControl},
			{"externalIds", func(n *registry.NewUser) {
				n.ExternalIDs = []roster.ExternalIdentity{{Provider: "TN", IDType: "t", ExternalID: "a\x00"}}
			}, "externalIds: entry 1: " + registry.MsgControl},
			{"profileLocation", func(n *registry.NewUser) {
				n.User.ProfileLocation = []roster.LocationRef{{Code: "3\x002", Type: "state"}}
			},
				"profileLocation: entry 1: " + registry.MsgControl},
			{"framework", func(n *registry.NewUser) { n.User.Framework = map[string][]string{"board": {"\x00"}} }, "framework: " + registry.MsgControl},
		})
		// A summary may span lines.
		in := valid("summary@x.org")
		in.OrgID, in.User.ProfileSummary = f.stateA.ID, "Maths teacher.\r\n\tTen years."
		if _, err := f.reg.CreateUser(f.ctx, f.adminA, in); err != nil {
			t.Fatal(err)
		}
		u := f.mustCreate(t, f.adminA, f.stateA.ID, "nul2@x.org", "")
		bad := "Ra\x00o"
		if _, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{LastName: &bad}); !reflect.DeepEqual(fieldErrors(t, err), []string{"lastName: " + registry.MsgControl}) {
			t.Fatalf("update: %v", err)
		}
	})
}

// docs/UPLOADS.md shows the rule book itself, so the CSV's documented rules
// are the API's (whose document is made from the same Rules).
func TestUploadsDocShowsTheRuleBook(t *testing.T) {
	doc, err := os.ReadFile("../../docs/UPLOADS.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := registry.RulesMarkdown(); !strings.Contains(string(doc), want) {
		t.Fatalf("docs/UPLOADS.md lacks the rule book; its table must read:\n\n%s", want)
	}
}
