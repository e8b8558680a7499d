package registry_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

const testIdP = "https://sso.example/realms/tn"

func ssoProfile(sub string) registry.SSOProfile {
	return registry.SSOProfile{Provider: testIdP, IDType: "sso", Subject: sub, Channel: "tn",
		SchoolExternalID: "SCH-1", TeacherID: "T-77", FirstName: "Kavya", LastName: "R",
		Email: "kavya@tn.example", EmailVerified: true, Phone: "9876543210"}
}

func TestProvisionSSOUserJoinsStateAndSchool(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		id, err := f.reg.ProvisionSSOUser(f.ctx, ssoProfile("kc-1"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := f.reg.GetUser(f.ctx, f.adminA, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.RootOrgID != f.stateA.ID || v.FlagsValue&roster.FlagTenantVerified == 0 || v.CreatedBy != "sso" {
			t.Fatalf("root %s flags %d createdBy %q", v.RootOrgID, v.FlagsValue, v.CreatedBy)
		}
		if !v.EmailVerified || v.PhoneVerified {
			t.Fatalf("verified email %v phone %v: only what the token says", v.EmailVerified, v.PhoneVerified)
		}
		if len(v.Memberships) != 1 || v.Memberships[0].OrganisationID != f.schoolA.ID || v.Memberships[0].AssociationType != roster.AssociationSSO {
			t.Fatalf("memberships %+v", v.Memberships)
		}
		var ext []string
		for _, x := range v.ExternalIDs {
			ext = append(ext, x.Provider+"/"+x.IDType+"/"+x.ExternalID)
		}
		if strings.Join(ext, ",") != testIdP+"/sso/kc-1,tn/tn/T-77" {
			t.Fatalf("external ids %v", ext)
		}
		// A second sign-in of the subject is a lookup, not a second user.
		got, err := f.reg.LookupUserID(f.ctx, registry.LookupQuery{Type: roster.LookupExternalID, Value: "kc-1", Provider: testIdP, IDType: "sso"})
		if err != nil || got != id {
			t.Fatalf("lookup %q %v", got, err)
		}
		if n := auditCount(t, f, "user.sso_create", id); n != 1 {
			t.Fatalf("audited %d times", n)
		}
	})
}

func TestProvisionSSOUserRefusesBadClaims(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		for _, c := range []struct {
			name, field string
			change      func(*registry.SSOProfile)
		}{
			{"no state", registry.FieldChannel, func(p *registry.SSOProfile) { p.Channel = "" }},
			{"unknown state", registry.FieldChannel, func(p *registry.SSOProfile) { p.Channel = "XX" }},
			{"school of another state", registry.FieldSchoolExternalID, func(p *registry.SSOProfile) { p.Channel = "AP" }},
			{"unknown school", registry.FieldSchoolExternalID, func(p *registry.SSOProfile) { p.SchoolExternalID = "nope" }},
			{"no name", registry.FieldFirstName, func(p *registry.SSOProfile) { p.FirstName = "" }},
			{"bad email", registry.FieldEmail, func(p *registry.SSOProfile) { p.Email = "not-an-email" }},
			{"oversized claim", registry.FieldTeacherID, func(p *registry.SSOProfile) { p.TeacherID = strings.Repeat("9", 300) }},
		} {
			p := ssoProfile("kc-" + c.name)
			c.change(&p)
			_, err := f.reg.ProvisionSSOUser(f.ctx, p)
			var re *roster.Error
			if code(err) != roster.EINVALID || !errors.As(err, &re) || !hasField(err, c.field) {
				t.Fatalf("%s: %v, want EINVALID on %s", c.name, err, c.field)
			}
			for _, fe := range re.Fields {
				if fe.Value != "" {
					t.Fatalf("%s: the error repeats a value: %+v", c.name, fe)
				}
			}
		}
		var n int
		_ = db.QueryRow(f.ctx, `SELECT count(*) FROM users WHERE created_by = 'sso'`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d users created from bad claims", n)
		}
	})
}

func TestConcurrentFirstSSOSignInsMakeOneUser(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		const racers = 6
		ids := make([]string, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids[i], errs[i] = f.reg.ProvisionSSOUser(f.ctx, ssoProfile("kc-race"))
			}()
		}
		wg.Wait()
		for i := range racers {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("racer %d: %q %v, want %q", i, ids[i], errs[i], ids[0])
			}
		}
		var n int
		_ = db.QueryRow(f.ctx, `SELECT count(*) FROM users WHERE created_by = 'sso'`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d users, want 1", n)
		}
	})
}

func TestLinkAndUnlinkSSOIdentity(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.mustCreate(t, f.adminA, f.schoolA.ID, "linked@x.org", "")
		other := f.mustCreate(t, f.adminA, f.schoolA.ID, "other@x.org", "")
		schoolAdmin := f.mustCreate(t, f.adminA, f.schoolA.ID, "sa@x.org", "", roster.RoleOrgAdmin)
		x := roster.ExternalIdentity{Provider: testIdP, IDType: "sso", ExternalID: "kc-link"}

		if err := f.reg.LinkIdentity(f.ctx, f.adminB, u.ID, x); code(err) != roster.ENOTFOUND {
			t.Fatalf("other tenant's admin: %v, want ENOTFOUND", err)
		}
		if err := f.reg.LinkIdentity(f.ctx, f.settled(t, schoolAdmin.ID), u.ID, x); code(err) != roster.EFORBIDDEN {
			t.Fatalf("school admin: %v, want EFORBIDDEN", err)
		}
		if err := f.reg.LinkIdentity(f.ctx, f.settled(t, u.ID), u.ID, x); code(err) != roster.EFORBIDDEN {
			t.Fatalf("the user without proof: %v, want EFORBIDDEN", err)
		}
		if err := f.reg.LinkIdentity(f.ctx, f.adminA, u.ID, x); err != nil {
			t.Fatal(err)
		}
		if err := f.reg.LinkIdentity(f.ctx, f.adminA, u.ID, x); err != nil {
			t.Fatalf("linking again: %v", err)
		}
		got, err := f.reg.LookupUserID(f.ctx, registry.LookupQuery{Type: roster.LookupExternalID, Value: "kc-link", Provider: testIdP, IDType: "sso"})
		if err != nil || got != u.ID {
			t.Fatalf("lookup %q %v", got, err)
		}
		err = f.reg.LinkOwnIdentity(f.ctx, f.settled(t, other.ID), x)
		if code(err) != roster.ECONFLICT || !strings.Contains(err.Error(), registry.MsgLinkedElsewhere) {
			t.Fatalf("subject linked elsewhere: %v", err)
		}
		if err := f.reg.UnlinkIdentity(f.ctx, f.adminB, u.ID, testIdP, "sso"); code(err) != roster.ENOTFOUND {
			t.Fatalf("other tenant unlinks: %v", err)
		}
		if err := f.reg.UnlinkIdentity(f.ctx, f.settled(t, other.ID), u.ID, testIdP, "sso"); code(err) != roster.EFORBIDDEN {
			t.Fatalf("another learner unlinks: %v", err)
		}
		if err := f.reg.UnlinkIdentity(f.ctx, f.settled(t, u.ID), u.ID, testIdP, "sso"); err != nil {
			t.Fatalf("the user unlinks: %v", err)
		}
		if err := f.reg.UnlinkIdentity(f.ctx, f.adminA, u.ID, testIdP, "sso"); code(err) != roster.ENOTFOUND {
			t.Fatalf("unlink twice: %v", err)
		}
		// Released: the other user proves the subject and takes it.
		if err := f.reg.LinkOwnIdentity(f.ctx, f.settled(t, other.ID), x); err != nil {
			t.Fatal(err)
		}
		if err := f.reg.UnlinkIdentity(f.ctx, f.adminA, other.ID, testIdP, "sso"); err != nil {
			t.Fatal(err)
		}
		for _, a := range []struct {
			action, user string
			want         int
		}{{"user.sso_link", u.ID, 1}, {"user.sso_link", other.ID, 1}, {"user.sso_unlink", u.ID, 1}, {"user.sso_unlink", other.ID, 1}} {
			if n := auditCount(t, f, a.action, a.user); n != a.want {
				t.Fatalf("%s of %s audited %d times", a.action, a.user, n)
			}
		}
		var details []string
		rows, err := db.Query(f.ctx, `SELECT detail FROM audit_log WHERE action LIKE 'user.sso_%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var d string
			_ = rows.Scan(&d)
			details = append(details, d)
		}
		if strings.Contains(strings.Join(details, " "), "kc-link") {
			t.Fatalf("the audit holds the subject: %v", details)
		}
	})
}

func auditCount(t *testing.T, f *fixture, action, objectID string) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(f.ctx, `SELECT count(*) FROM audit_log WHERE action = $1 AND object_id = $2`, action, objectID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
