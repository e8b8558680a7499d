package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/sheet"
	"pgregory.net/rapid"
)

func baseRow() Row {
	return Row{CourseID: "do_1", CourseName: "Fractions", BatchID: "b1", BatchName: "Batch 1", UserID: "u1",
		Name: "Asha Devi", State: "Kerala", District: "Ernakulam", OrgName: "Custodian", ExternalID: "DECL-1",
		Phone: "+919876543210", Email: "asha@example.org",
		ConsentAt: time.Date(2024, 3, 4, 20, 30, 0, 0, time.UTC)}
}

func TestBuildAppliesConsentAndPolicy(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	cases := []struct {
		name      string
		validated bool
		consented bool
		policy    Policy
		loc       *time.Location
		want      string
	}{
		{"consented SSU, default policy: all personal fields", false, true, DefaultPolicy, time.UTC,
			"do_1|Fractions|b1|Batch 1|u1|Asha Devi|Kerala|Ernakulam|Custodian|DECL-1|9876543210|asha@example.org|Yes|2024-03-04"},
		{"consent date in the configured zone", false, true, DefaultPolicy, ist,
			"do_1|Fractions|b1|Batch 1|u1|Asha Devi|Kerala|Ernakulam|Custodian|DECL-1|9876543210|asha@example.org|Yes|2024-03-05"},
		{"not consented: personal fields and date blank", false, false, DefaultPolicy, time.UTC,
			"do_1|Fractions|b1|Batch 1|u1||Kerala|Ernakulam|Custodian||||No|"},
		{"not consented SSO: same", true, false, DefaultPolicy, time.UTC,
			"do_1|Fractions|b1|Batch 1|u1||Kerala|Ernakulam|Custodian||||No|"},
		{"consented SSU, seed policy: nothing personal", false, true, SeedPolicy, time.UTC,
			"do_1|Fractions|b1|Batch 1|u1||Kerala|Ernakulam|Custodian||||Yes|2024-03-04"},
		{"consented SSO, seed policy: name and external id only", true, true, SeedPolicy, time.UTC,
			"do_1|Fractions|b1|Batch 1|u1|Asha Devi|Kerala|Ernakulam|Custodian|DECL-1|||Yes|2024-03-04"},
		{"custom policy: SSO email only", true, true, Policy{SSO: Share{Email: true}}, time.UTC,
			"do_1|Fractions|b1|Batch 1|u1||Kerala|Ernakulam|Custodian|||asha@example.org|Yes|2024-03-04"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := baseRow()
			r.Validated, r.Consented = c.validated, c.consented
			got := strings.Join(r.Build(c.policy, c.loc, nil), "|")
			if got != c.want {
				t.Fatalf("row\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestFormatPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+919876543210": "9876543210",    // India: national number
		"+447911123456": "+447911123456", // elsewhere: E.164
		"":              "",
	} {
		if got := FormatPhone(in); got != want {
			t.Errorf("FormatPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

// The shortcut for Indian mobiles must give what libphonenumber gives.
func TestFormatPhoneMatchesParser(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e164 := "+91" + rapid.StringMatching(`[6-9][0-9]{9}`).Draw(t, "national")
		num, err := phonenumbers.Parse(e164, pii.DefaultRegion)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := FormatPhone(e164), phonenumbers.GetNationalSignificantNumber(num); got != want {
			t.Fatalf("FormatPhone(%q) = %q, parser says %q", e164, got, want)
		}
	})
}

// BenchmarkFormatPhone puts the shortcut beside the parser it replaced,
// on the same number in one run.
func BenchmarkFormatPhone(b *testing.B) {
	b.Run("parser", func(b *testing.B) {
		for b.Loop() {
			num, _ := phonenumbers.Parse("+919876543210", pii.DefaultRegion)
			if phonenumbers.GetRegionCodeForNumber(num) == pii.DefaultRegion {
				phonenumbers.GetNationalSignificantNumber(num)
			}
		}
	})
	b.Run("shortcut", func(b *testing.B) {
		for b.Loop() {
			FormatPhone("+919876543210")
		}
	})
}

func TestCSVWriterBOMHeaderAndGuard(t *testing.T) {
	var buf bytes.Buffer
	w, err := sheet.NewWriter(&buf, ExhaustHeader)
	if err != nil {
		t.Fatal(err)
	}
	r := baseRow()
	r.Consented, r.Phone, r.ExternalID = true, "+447911123456", "=1+2"
	if err := w.Write(r.Build(DefaultPolicy, time.UTC, nil)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "\xEF\xBB\xBF" +
		"Collection Id,Collection Name,Batch Id,Batch Name,User UUID,User Name,State,District,Org Name," +
		"External ID,Mobile number,Email ID,Consent Provided,Consent Provided Date\r\n" +
		"do_1,Fractions,b1,Batch 1,u1,Asha Devi,Kerala,Ernakulam,Custodian,'=1+2,'+447911123456,asha@example.org,Yes,2024-03-04\r\n"
	if buf.String() != want {
		t.Fatalf("csv\n got %q\nwant %q", buf.String(), want)
	}
}

func TestValidatePassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"abcdefg1":                    true,
		"Report 2024!":                true,
		"abcdefgh":                    false, // no digit
		"12345678":                    false, // no letter
		"abc1":                        false, // short
		"pässwort1":                   false, // not ASCII
		strings.Repeat("a1", 50):      false, // 100 bytes
		strings.Repeat("a", 98) + "1": true,
	} {
		if fe := ValidatePassword(pw); (fe == nil) != ok {
			t.Errorf("ValidatePassword(%q) = %v, want ok=%v", pw, fe, ok)
		} else if fe != nil && (fe.Field != "password" || fe.Message == "") {
			t.Errorf("field error = %+v", fe)
		}
	}
}

func TestDownloadTokens(t *testing.T) {
	s := &Service{linkKeys: [][]byte{[]byte("k")}, Now: roster.Now}
	now := time.Unix(1_700_000_000, 0)
	tok := s.token("r1", "alice", now.Add(time.Minute))
	if id, p := s.verify(tok, "alice", now); p != tokenOK || id != "r1" {
		t.Fatalf("verify = %q, %v", id, p)
	}
	if _, p := s.verify(tok, "bob", now); p != tokenBadSignature {
		t.Fatalf("another user: %v, want bad signature", p)
	}
	if _, p := s.verify(tok, "alice", now.Add(time.Minute)); p != tokenExpired {
		t.Fatalf("at expiry: %v, want expired", p)
	}
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + "9999999999" + "." + parts[2]
	if _, p := s.verify(forged, "alice", now); p != tokenBadSignature {
		t.Fatalf("extended expiry: %v, want bad signature", p)
	}
	other := &Service{linkKeys: [][]byte{[]byte("other")}}
	if _, p := other.verify(tok, "alice", now); p != tokenBadSignature {
		t.Fatalf("other key: %v, want bad signature", p)
	}
	for _, bad := range []string{"", "r1", "r1.x.y", "r1.123.!!!", ".1.AA"} {
		if _, p := s.verify(bad, "alice", now); p != tokenMalformed {
			t.Errorf("verify(%q) = %v, want malformed", bad, p)
		}
	}
}

// Link keys rotate: a new first key signs, the old one still verifies the
// links it signed until it is dropped.
func TestLinkKeysRotate(t *testing.T) {
	now := time.Now()
	oldKey, newKey := []byte("old-key"), []byte("new-key")
	before := &Service{linkKeys: [][]byte{oldKey}}
	tok := before.token("r1", "alice", now.Add(time.Minute))
	during := &Service{linkKeys: [][]byte{newKey, oldKey}}
	if id, p := during.verify(tok, "alice", now); p != tokenOK || id != "r1" {
		t.Fatalf("old link after rotation: %v, want ok", p)
	}
	fresh := during.token("r1", "alice", now.Add(time.Minute))
	after := &Service{linkKeys: [][]byte{newKey}}
	if _, p := after.verify(fresh, "alice", now); p != tokenOK {
		t.Fatalf("new link: %v, want ok", p)
	}
	if _, p := after.verify(tok, "alice", now); p != tokenBadSignature {
		t.Fatalf("old link once the old key is dropped: %v, want bad signature", p)
	}
}
