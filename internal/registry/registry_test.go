package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

type fixture struct {
	reg            *registry.Service
	db             store.Engine
	stateA, stateB *roster.Organisation
	schoolA        *roster.Organisation
	adminA, adminB *roster.Principal
	ctx            context.Context
}

// newFixture makes two state tenants, a school in state A and an org admin
// for each state.
func newFixture(t *testing.T, db store.Engine) *fixture {
	t.Helper()
	tt := testkit.NewTenants(t, db)
	return &fixture{db: db, ctx: context.Background(), reg: tt.Reg, stateA: tt.StateA, stateB: tt.StateB,
		schoolA: tt.SchoolA, adminA: tt.AdminA, adminB: tt.AdminB}
}

func (f *fixture) mustCreate(t *testing.T, p *roster.Principal, orgID, email, phone string, roles ...string) *registry.UserView {
	t.Helper()
	v, err := f.reg.CreateUser(f.ctx, p, registry.NewUser{
		User:  roster.User{FirstName: "Test", LastName: "User", Email: email, Phone: phone},
		OrgID: orgID, Roles: roles, Password: "secret-pass-1",
	})
	if err != nil {
		t.Fatalf("create %s: %v", email, err)
	}
	return v
}

func (f *fixture) principal(t *testing.T, id string) *roster.Principal {
	t.Helper()
	p, err := f.reg.Principal(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// settled is id's principal once they have chosen their own password:
// users an admin created start restricted to that (TestMustChangePassword).
func (f *fixture) settled(t *testing.T, id string) *roster.Principal {
	t.Helper()
	p := f.principal(t, id)
	if !p.PasswordMustChange {
		t.Fatal("settled is for users whose password an admin chose")
	}
	p.PasswordMustChange = false
	return p
}

// A password an admin chose restricts its user until they choose their
// own; the operator's (system) accounts and self-chosen passwords do not.
func TestMustChangePassword(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.mustCreate(t, f.adminA, f.schoolA.ID, "chosen@example.org", "")
		p := f.principal(t, u.ID)
		if !p.PasswordMustChange {
			t.Fatal("a user an admin created need not choose a password")
		}
		if _, err := f.reg.GetUser(f.ctx, p, u.ID); err != nil {
			t.Fatalf("reading one's own profile: %v", err)
		}
		if _, err := f.reg.GetOrg(f.ctx, p, f.schoolA.ID); roster.ErrorCode(err) != roster.EFORBIDDEN {
			t.Fatalf("restricted session read an organisation: %v", err)
		}
		if err := f.reg.ChangeOwnPassword(f.ctx, p, "secret-pass-1", "my-own-pass-1"); err != nil {
			t.Fatal(err)
		}
		if f.principal(t, u.ID).PasswordMustChange {
			t.Fatal("choosing one's own password did not lift the restriction")
		}
		if f.principal(t, f.adminA.UserID).PasswordMustChange {
			t.Fatal("an operator-created admin is restricted")
		}
	})
}

// location adds a location under the parent with id parentID.
func (f *fixture) location(t *testing.T, typ, code, parentID string) *roster.Location {
	t.Helper()
	l, err := f.reg.CreateLocation(f.ctx, roster.SystemPrincipal, roster.Location{Code: code, Name: typ + " " + code, Type: typ, ParentID: parentID})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func code(err error) string { return roster.ErrorCode(err) }

func TestCreateReadPIIVisibility(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.location(t, "state", "32", "")
		created, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{
			User: roster.User{FirstName: "Anitha", LastName: "R", Email: " TestDoc@YopMail.com ", Phone: "9812345609",
				DOB: "1987-12-31", ProfileLocation: []roster.LocationRef{{Code: "32", Type: "state"}}},
			OrgID: f.schoolA.ID, Roles: []string{roster.RoleContentCreator}, Password: "secret-pass-1",
			ExternalIDs: []roster.ExternalIdentity{{Provider: "TN", IDType: "teacherId", ExternalID: "ckc971"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if created.Email != "testdoc@yopmail.com" || created.Phone != "+919812345609" || !created.PIIVisible {
			t.Fatalf("admin must see normalised PII, got %q %q visible=%v", created.Email, created.Phone, created.PIIVisible)
		}
		if created.MaskedEmail != "te*****@yopmail.com" || created.MaskedPhone != "98******09" {
			t.Fatalf("masks: %q %q", created.MaskedEmail, created.MaskedPhone)
		}
		if created.RootOrgID != f.stateA.ID || created.Channel != "TN" || created.FlagsValue != roster.FlagTenantVerified {
			t.Fatalf("root org/channel/flags: %q %q %d", created.RootOrgID, created.Channel, created.FlagsValue)
		}
		// A user under the custodian is self-signed-up: no tenant flag.
		ssu, err := f.reg.CreateUser(f.ctx, roster.SystemPrincipal, registry.NewUser{User: roster.User{FirstName: "Self", Email: "self@x.org"}})
		if err != nil || ssu.FlagsValue != 0 || ssu.Channel != "custodian" {
			t.Fatalf("self-signed-up user: %v flags=%d channel=%q", err, ssu.FlagsValue, ssu.Channel)
		}
		if !strings.HasPrefix(created.Username, "anithar_") || len(created.Username) != len("anithar_")+4 {
			t.Fatalf("generated username %q", created.Username)
		}
		if len(created.ExternalIDs) != 1 || created.ExternalIDs[0].ExternalID != "ckc971" {
			t.Fatalf("external ids: %+v", created.ExternalIDs)
		}
		if len(created.Memberships) != 1 || created.Memberships[0].OrganisationID != f.schoolA.ID {
			t.Fatalf("memberships: %+v", created.Memberships)
		}

		// The ciphertext, not the email, is what the database holds.
		var enc []byte
		var masked string
		if err := db.QueryRow(f.ctx, `SELECT email_enc, masked_email FROM users WHERE id = $1`, created.ID).Scan(&enc, &masked); err != nil {
			t.Fatal(err)
		}
		if len(enc) == 0 || strings.Contains(string(enc), "testdoc") {
			t.Fatal("email stored in clear")
		}
		var n int
		_ = db.QueryRow(f.ctx, `SELECT count(*) FROM user_lookup WHERE value LIKE '%testdoc%' OR value LIKE '%9812345609%'`).Scan(&n)
		if n != 0 {
			t.Fatal("lookup table holds plaintext")
		}

		// A PUBLIC user of the same tenant sees the masked profile only.
		peer := f.mustCreate(t, roster.SystemPrincipal, f.schoolA.ID, "peer@tn.gov.in", "")
		pv, err := f.reg.GetUser(f.ctx, f.principal(t, peer.ID), created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if pv.PIIVisible || pv.Email != "" || pv.Phone != "" || pv.MaskedEmail == "" || pv.ExternalIDs[0].ExternalID != "" {
			t.Fatalf("peer sees PII: %+v", pv.User)
		}
		// The user sees their own PII.
		self, err := f.reg.GetUser(f.ctx, f.principal(t, created.ID), created.ID)
		if err != nil || self.Email != "testdoc@yopmail.com" {
			t.Fatalf("self view: %v %q", err, self.Email)
		}
		// Tenant isolation: state B's admin gets not found for reads and
		// lookups, forbidden-or-not-found for writes.
		if _, err := f.reg.GetUser(f.ctx, f.adminB, created.ID); code(err) != roster.ENOTFOUND {
			t.Fatalf("other tenant read: %v", err)
		}
		if _, err := f.reg.FindUser(f.ctx, f.adminB, registry.LookupQuery{Type: roster.LookupEmail, Value: "testdoc@yopmail.com"}); code(err) != roster.ENOTFOUND {
			t.Fatalf("other tenant lookup: %v", err)
		}
		first := "Hacked"
		if _, err := f.reg.UpdateUser(f.ctx, f.adminB, created.ID, registry.UserPatch{FirstName: &first}); code(err) != roster.ENOTFOUND {
			t.Fatalf("other tenant update: %v", err)
		}
		if err := f.reg.BlockUser(f.ctx, f.adminB, created.ID); code(err) != roster.ENOTFOUND {
			t.Fatalf("other tenant block: %v", err)
		}
		if _, err := f.reg.CreateUser(f.ctx, f.adminB, registry.NewUser{User: roster.User{FirstName: "X", Email: "x@y.org"}, OrgID: f.schoolA.ID}); code(err) != roster.EFORBIDDEN {
			t.Fatalf("other tenant create: %v", err)
		}
		if _, err := f.reg.ListUsers(f.ctx, f.adminB, f.schoolA.ID, "", 10); code(err) != roster.EFORBIDDEN {
			t.Fatalf("other tenant list: %v", err)
		}

		// Lookups by every key, in the admin's own tenant.
		for _, q := range []registry.LookupQuery{
			{Type: roster.LookupEmail, Value: "TESTDOC@yopmail.com"},
			{Type: roster.LookupPhone, Value: "+91 98123 45609"},
			{Type: roster.LookupUsername, Value: strings.ToUpper(created.Username)},
			{Type: roster.LookupExternalID, Value: "CKC971", Provider: "tn", IDType: "TeacherId"},
		} {
			got, err := f.reg.FindUser(f.ctx, f.adminA, q)
			if err != nil || got.ID != created.ID {
				t.Fatalf("lookup %s: %v", q.Type, err)
			}
		}

		// Update round trip, including moving the email.
		newEmail, last := "new.mail@yopmail.com", "Rajan"
		up, err := f.reg.UpdateUser(f.ctx, f.adminA, created.ID, registry.UserPatch{Email: &newEmail, LastName: &last})
		if err != nil {
			t.Fatal(err)
		}
		if up.Email != newEmail || up.PrevUsedEmail != "testdoc@yopmail.com" || up.LastName != "Rajan" || up.UpdatedBy != f.adminA.UserID {
			t.Fatalf("update: %+v", up.User)
		}
		if _, err := f.reg.FindUser(f.ctx, f.adminA, registry.LookupQuery{Type: roster.LookupEmail, Value: "testdoc@yopmail.com"}); code(err) != roster.ENOTFOUND {
			t.Fatalf("old email still finds the user: %v", err)
		}
		list, err := f.reg.ListUsers(f.ctx, f.adminA, f.schoolA.ID, "", 10)
		if err != nil || len(list) != 2 || list[0].Email != "" {
			t.Fatalf("list: %v %d", err, len(list))
		}
	})
}

func TestValidationListsEveryField(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		_, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{
			User:  roster.User{FirstName: "R2D2", Email: "not-an-email", Phone: "12345", Username: "a b", DOB: "1987-02-30"},
			OrgID: f.stateA.ID, Roles: []string{"KING"}, Password: "short",
		})
		var re *roster.Error
		if !errors.As(err, &re) || re.Code != roster.EINVALID {
			t.Fatalf("want invalid, got %v", err)
		}
		got := map[string]string{}
		for _, fe := range re.Fields {
			got[fe.Field] = fe.Message
		}
		want := map[string]string{
			"firstName": "may contain only letters, spaces, dots, apostrophes and hyphens",
			"email":     "is not a valid email address",
			"phone":     registry.MsgPhone,
			"userName":  "may contain only letters, digits, dot, underscore, hyphen and @",
			"password":  "must be 8 to 128 characters",
			"roles":     `unknown role "KING"; valid values are ` + strings.Join(roster.Roles, ", "),
			"DOB":       registry.MsgDOBReal,
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %q, want %q", k, got[k], v)
			}
		}
		// One DOB rule on every path: the API also takes the CSV's DD-MM-YYYY.
		for in, want := range map[string]string{"1987": "1987-12-31", "2001-02-03": "2001-02-03", "31-12-1986": "1986-12-31"} {
			v, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Dob", Email: "dob" + in + "@x.org", DOB: in}, OrgID: f.stateA.ID})
			if err != nil || v.DOB != want {
				t.Fatalf("dob %q: got %v %q, want %q", in, err, v.DOB, want)
			}
		}
		for _, bad := range []string{"31.12.1987", "2999", "1987-02-30"} {
			_, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Dob", Email: "bad@x.org", DOB: bad}, OrgID: f.stateA.ID})
			if code(err) != roster.EINVALID {
				t.Fatalf("dob %q accepted: %v", bad, err)
			}
		}
		// Indic script names are valid.
		if _, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "அனிதா", Email: "anitha@x.org"}, OrgID: f.stateA.ID}); err != nil {
			t.Fatalf("Tamil name rejected: %v", err)
		}
	})
}

func TestDuplicatesRejected(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		base := registry.NewUser{User: roster.User{FirstName: "A", Email: "dup@x.org", Phone: "9876543210", Username: "dupuser"},
			OrgID: f.stateA.ID, ExternalIDs: []roster.ExternalIdentity{{Provider: "TN", IDType: "tid", ExternalID: "T1"}}}
		if _, err := f.reg.CreateUser(f.ctx, f.adminA, base); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			field string
			user  roster.User
			ext   []roster.ExternalIdentity
		}{
			{"email", roster.User{FirstName: "B", Email: "DUP@x.org"}, nil},
			{"phone", roster.User{FirstName: "B", Phone: "+919876543210"}, nil},
			{"userName", roster.User{FirstName: "B", Email: "b@x.org", Username: "DupUser"}, nil},
			{"externalId", roster.User{FirstName: "B", Email: "c@x.org"}, []roster.ExternalIdentity{{Provider: "tn", IDType: "TID", ExternalID: "t1"}}},
		}
		for _, c := range cases {
			_, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: c.user, OrgID: f.stateA.ID, ExternalIDs: c.ext})
			var re *roster.Error
			if !errors.As(err, &re) || re.Code != roster.ECONFLICT || len(re.Fields) != 1 || re.Fields[0].Field != c.field ||
				re.Fields[0].Message != c.field+" already in use" {
				t.Fatalf("%s duplicate: got %v", c.field, err)
			}
		}
		// Conflicts (dry-run check) agrees with the writer.
		fe, err := f.reg.Conflicts(f.ctx, db, roster.SystemPrincipal, registry.NewUser{User: roster.User{FirstName: "Z", Email: "dup@x.org", Phone: "9876543210"}})
		if err != nil || len(fe) != 2 {
			t.Fatalf("conflicts: %v %+v", err, fe)
		}
		// A failed create leaves nothing behind.
		var users int
		_ = db.QueryRow(f.ctx, `SELECT count(*) FROM users`).Scan(&users)
		if users != 3 { // two admins + base
			t.Fatalf("users after failed creates: %d", users)
		}
	})
}

// Many goroutines race to create users with one email: exactly one wins,
// on both engines, because the database's unique index decides.
func TestConcurrentCreatesOneWinner(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		const racers = 8
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{
					User: roster.User{FirstName: "Racer", Email: "race@x.org", Username: fmt.Sprintf("racer%d", i)}, OrgID: f.stateA.ID})
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch code(err) {
			case "":
				wins++
			case roster.ECONFLICT:
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		var n int
		_ = db.QueryRow(f.ctx, `SELECT count(*) FROM users WHERE first_name = 'Racer'`).Scan(&n)
		if wins != 1 || n != 1 {
			t.Fatalf("wins=%d users=%d, want exactly one", wins, n)
		}
	})
}

func TestKeyRotationKeepsOldDataReadable(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		old := f.mustCreate(t, f.adminA, f.stateA.ID, "before@rotation.org", "9876500001")

		k1 := testkit.DefaultKey
		k2 := pii.Key{ID: "k2", Key: make([]byte, 32)}
		k2.Key[0] = 2
		rotated := registry.New(db, testkit.Keyring(t, k2, k1))
		rotated.HashPassword = testkit.CheapHash

		got, err := rotated.GetUser(f.ctx, f.adminA, old.ID)
		if err != nil || got.Email != "before@rotation.org" || got.Phone != "+919876500001" {
			t.Fatalf("old row after rotation: %v %q", err, got.Email)
		}
		if _, err := rotated.FindUser(f.ctx, f.adminA, registry.LookupQuery{Type: roster.LookupEmail, Value: "before@rotation.org"}); err != nil {
			t.Fatalf("blind index must survive rotation: %v", err)
		}
		fresh, err := rotated.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "New", Email: "after@rotation.org"}, OrgID: f.stateA.ID})
		if err != nil {
			t.Fatal(err)
		}
		// New values are sealed under the user's data key, and that key
		// is wrapped by the new primary.
		var enc, wrapped []byte
		var keyID string
		_ = db.QueryRow(f.ctx, `SELECT email_enc FROM users WHERE id = $1`, fresh.ID).Scan(&enc)
		_ = db.QueryRow(f.ctx, `SELECT key_id, wrapped_enc FROM user_key WHERE user_id = $1`, fresh.ID).Scan(&keyID, &wrapped)
		if pii.SealedByRing(enc) || keyID != "k2" || pii.KeyID(wrapped) != "k2" {
			t.Fatalf("new data: sealed by the ring %v, data key wrapped with %q/%q, want k2", pii.SealedByRing(enc), keyID, pii.KeyID(wrapped))
		}
		// Without the retired key the old row cannot be read: the test
		// above proves the ring, not luck.
		only2 := registry.New(db, testkit.Keyring(t, k2))
		if _, err := only2.GetUser(f.ctx, f.adminA, old.ID); err == nil {
			t.Fatal("old row readable without its key")
		}
	})
}

func TestBlockAndDelete(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.mustCreate(t, f.adminA, f.stateA.ID, "teacher@tn.gov.in", "9876500002")
		login := func() error { _, err := f.reg.Authenticate(f.ctx, "teacher@tn.gov.in", "secret-pass-1"); return err }
		if err := login(); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.Authenticate(f.ctx, "9876500002", "wrong-pass"); code(err) != roster.EUNAUTHORIZED {
			t.Fatalf("wrong password: %v", err)
		}
		if err := f.reg.BlockUser(f.ctx, f.adminA, u.ID); err != nil {
			t.Fatal(err)
		}
		got, _ := f.reg.GetUser(f.ctx, f.adminA, u.ID)
		if got.Status != roster.StatusInactive || !got.IsDeleted || got.DeletedDate != nil {
			t.Fatalf("blocked: status=%d isDeleted=%v", got.Status, got.IsDeleted)
		}
		if err := login(); code(err) != roster.EUNAUTHORIZED {
			t.Fatalf("blocked user logged in: %v", err)
		}
		if _, err := f.reg.Principal(f.ctx, u.ID); code(err) != roster.EUNAUTHORIZED {
			t.Fatalf("blocked user's token still accepted: %v", err)
		}
		// Blocked users keep their email: nobody else may take it.
		if _, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "X", Email: "teacher@tn.gov.in"}, OrgID: f.stateA.ID}); code(err) != roster.ECONFLICT {
			t.Fatalf("blocked user's email reused: %v", err)
		}
		if err := f.reg.UnblockUser(f.ctx, f.adminA, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := login(); err != nil {
			t.Fatalf("unblocked user cannot log in: %v", err)
		}

		if err := f.reg.DeleteUser(f.ctx, f.adminA, u.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = f.reg.GetUser(f.ctx, f.adminA, u.ID)
		if !got.IsDeleted || got.Status != roster.StatusInactive || got.DeletedDate == nil || got.Email != "" || got.PrevUsedEmail != "teacher@tn.gov.in" {
			t.Fatalf("deleted: %+v", got.User)
		}
		if !got.Memberships[0].IsDeleted || got.Memberships[0].OrgLeftDate == nil {
			t.Fatal("membership not left")
		}
		if err := f.reg.UnblockUser(f.ctx, f.adminA, u.ID); code(err) != roster.ECONFLICT {
			t.Fatalf("deleted user unblocked: %v", err)
		}
		// A deleted user's email is free again.
		if _, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Y", Email: "teacher@tn.gov.in"}, OrgID: f.stateA.ID}); err != nil {
			t.Fatalf("email of deleted user not released: %v", err)
		}
		var audits, conflicts int
		_ = db.QueryRow(f.ctx, `SELECT count(*) FROM audit_log WHERE object_id = $1 AND action <> $2`, u.ID, registry.AuditConflict).Scan(&audits)
		if audits != 5 {
			t.Fatalf("audit entries = %d, want 5 (create, block, unblock, delete, leaving the organisation)", audits)
		}
		// Issue 8: the refused reuse of the blocked user's email is audited too.
		_ = db.QueryRow(f.ctx, `SELECT count(*) FROM audit_log WHERE object_id = $1 AND action = $2 AND outcome = $3`,
			u.ID, registry.AuditConflict, registry.ConflictSameTenant).Scan(&conflicts)
		if conflicts != 1 {
			t.Fatalf("conflict audit entries = %d, want 1", conflicts)
		}
	})
}

func TestMembershipsAndRoles(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.mustCreate(t, f.adminA, f.stateA.ID, "mentor@tn.gov.in", "")
		if _, err := f.reg.AddMembership(f.ctx, f.adminA, u.ID, f.schoolA.ID, []string{roster.RoleCourseMentor}, roster.AssociationSSO); err != nil {
			t.Fatal(err)
		}
		p := f.principal(t, u.ID)
		if !p.HasRole(f.schoolA.ID, roster.RoleCourseMentor) || p.HasRole(f.schoolA.ID, roster.RoleOrgAdmin) {
			t.Fatalf("grants: %+v", p.Grants)
		}
		if _, err := f.reg.AddMembership(f.ctx, f.adminB, u.ID, f.schoolA.ID, []string{roster.RoleOrgAdmin}, 0); code(err) != roster.ENOTFOUND {
			t.Fatalf("cross-tenant role grant: %v", err)
		}
		if _, err := f.reg.AddMembership(f.ctx, f.adminA, u.ID, f.stateB.ID, nil, 0); code(err) != roster.EINVALID {
			t.Fatalf("membership in another tenant: %v", err)
		}
		if err := f.reg.RemoveMembership(f.ctx, f.adminA, u.ID, f.schoolA.ID); err != nil {
			t.Fatal(err)
		}
		if f.principal(t, u.ID).HasRole(f.schoolA.ID, roster.RoleCourseMentor) {
			t.Fatal("role kept after leaving")
		}
		// Organisations can be found by provider and external id (seed 002).
		o, err := f.reg.FindOrg(f.ctx, "tn", "sch-1")
		if err != nil || o.ID != f.schoolA.ID {
			t.Fatalf("find org: %v", err)
		}
		if _, err := f.reg.CreateOrg(f.ctx, f.adminA, roster.Organisation{Name: "Rogue", Channel: "RG", IsTenant: true}); code(err) != roster.EFORBIDDEN {
			t.Fatalf("org admin created a tenant: %v", err)
		}
		st, err := f.reg.CreateLocation(f.ctx, roster.SystemPrincipal, roster.Location{Code: "32", Name: "Tamil Nadu", Type: "state"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.CreateLocation(f.ctx, roster.SystemPrincipal, roster.Location{Code: "3201", Name: "Chennai", Type: "district"}); code(err) != roster.EINVALID {
			t.Fatalf("district without parent: %v", err)
		}
		if _, err := f.reg.CreateLocation(f.ctx, roster.SystemPrincipal, roster.Location{Code: "3201", Name: "Chennai", Type: "district", ParentID: st.ID}); err != nil {
			t.Fatal(err)
		}
		if ls, _ := f.reg.ListLocations(f.ctx, "district", st.ID); len(ls) != 1 {
			t.Fatalf("districts: %d", len(ls))
		}
	})
}

// A generated username that is already taken is retried with a new suffix;
// after the last attempt the clash is reported, not hidden.
func TestGeneratedUsernameRetriesOnCollision(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		var calls int
		suffixes := []string{"aaaa", "aaaa", "bbbb"}
		defer registry.SetUsernameSuffix(func() string {
			s := suffixes[min(calls, len(suffixes)-1)]
			calls++
			return s
		})()
		create := func(email string) (*registry.UserView, error) {
			return f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Anitha", LastName: "R", Email: email}, OrgID: f.stateA.ID})
		}
		first, err := create("one@x.org")
		if err != nil || first.Username != "anithar_aaaa" {
			t.Fatalf("first: %v %q", err, first.Username)
		}
		second, err := create("two@x.org")
		if err != nil || second.Username != "anithar_bbbb" || calls != 3 {
			t.Fatalf("second: %v %q after %d suffixes, want anithar_bbbb after 3", err, second.Username, calls)
		}
		// Every suffix taken: the create fails with the field named.
		suffixes = []string{"aaaa"}
		_, err = create("three@x.org")
		var re *roster.Error
		if !errors.As(err, &re) || re.Code != roster.ECONFLICT || re.Fields[0].Field != "userName" {
			t.Fatalf("exhausted retries: %v", err)
		}
	})
}

// A school's ORG_ADMIN manages its school, not the state: it cannot grant
// itself ORG_ADMIN on the tenant, reset the state admin's password, or
// block the state admin. The state admin can do all of it.
func TestSchoolAdminCannotTakeOverTenant(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		schoolAdmin := f.settled(t, f.mustCreate(t, f.adminA, f.schoolA.ID, "head@ghs.tn.gov.in", "", roster.RoleOrgAdmin).ID)
		teacher := f.mustCreate(t, f.adminA, f.schoolA.ID, "teacher@ghs.tn.gov.in", "")

		if _, err := f.reg.AddMembership(f.ctx, schoolAdmin, schoolAdmin.UserID, f.stateA.ID, []string{roster.RoleOrgAdmin}, 0); code(err) != roster.EFORBIDDEN {
			t.Fatalf("school admin made itself state admin: %v", err)
		}
		if _, err := f.reg.AddMembership(f.ctx, schoolAdmin, teacher.ID, f.schoolA.ID, []string{roster.RoleOrgAdmin}, 0); code(err) != roster.EFORBIDDEN {
			t.Fatalf("school admin granted ORG_ADMIN: %v", err)
		}
		pw := "hijacked-pass-1"
		if _, err := f.reg.UpdateUser(f.ctx, schoolAdmin, f.adminA.UserID, registry.UserPatch{Password: &pw}); code(err) != roster.EFORBIDDEN {
			t.Fatalf("school admin reset the state admin's password: %v", err)
		}
		if err := f.reg.BlockUser(f.ctx, schoolAdmin, f.adminA.UserID); code(err) != roster.EFORBIDDEN {
			t.Fatalf("school admin blocked the state admin: %v", err)
		}
		// Within its school it still works.
		if _, err := f.reg.AddMembership(f.ctx, schoolAdmin, teacher.ID, f.schoolA.ID, []string{roster.RoleCourseMentor}, 0); err != nil {
			t.Fatalf("school admin giving a school role: %v", err)
		}
		if err := f.reg.BlockUser(f.ctx, schoolAdmin, teacher.ID); err != nil {
			t.Fatalf("school admin blocking a teacher: %v", err)
		}
		// The state admin may act on the school admin.
		if err := f.reg.BlockUser(f.ctx, f.adminA, schoolAdmin.UserID); err != nil {
			t.Fatalf("state admin blocking a school admin: %v", err)
		}
		// Another tenant's admin learns nothing about membership targets.
		if err := f.reg.RemoveMembership(f.ctx, f.adminB, teacher.ID, f.schoolA.ID); code(err) != roster.ENOTFOUND {
			t.Fatalf("cross-tenant remove: %v", err)
		}
		if err := f.reg.DeleteUser(f.ctx, f.adminB, teacher.ID); code(err) != roster.ENOTFOUND {
			t.Fatalf("cross-tenant delete: %v", err)
		}
		if got, _ := f.reg.GetUser(f.ctx, f.adminA, teacher.ID); got.DeletedDate != nil || len(got.Memberships) == 0 || got.Memberships[0].IsDeleted {
			t.Fatal("cross-tenant calls changed the user")
		}
	})
}

func TestUpdateValidatesDOB(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.mustCreate(t, f.adminA, f.stateA.ID, "dob@x.org", "")
		year := "1987"
		got, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{DOB: &year})
		if err != nil || got.DOB != "1987-12-31" {
			t.Fatalf("year-only DOB on update: %v %q", err, got.DOB)
		}
		bad := "not a date"
		_, err = f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{DOB: &bad})
		var re *roster.Error
		if !errors.As(err, &re) || re.Code != roster.EINVALID || re.Fields[0].Field != "DOB" {
			t.Fatalf("bad DOB on update: %v", err)
		}
	})
}

// A school admin creates and lists users of its own school only.
func TestSchoolAdminScopedToSchool(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		schoolAdmin := f.settled(t, f.mustCreate(t, f.adminA, f.schoolA.ID, "head2@ghs.tn.gov.in", "", roster.RoleOrgAdmin).ID)
		other, err := f.reg.CreateOrg(f.ctx, f.adminA, roster.Organisation{Name: "GHS Madurai", RootOrgID: f.stateA.ID, ExternalID: "SCH-2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.CreateUser(f.ctx, schoolAdmin, registry.NewUser{User: roster.User{FirstName: "Own", Email: "own@x.org"}, OrgID: f.schoolA.ID}); err != nil {
			t.Fatalf("own school: %v", err)
		}
		for _, orgID := range []string{other.ID, f.stateA.ID} {
			if _, err := f.reg.CreateUser(f.ctx, schoolAdmin, registry.NewUser{User: roster.User{FirstName: "X", Email: "x" + orgID[:4] + "@x.org"}, OrgID: orgID}); code(err) != roster.EFORBIDDEN {
				t.Fatalf("create in %s: %v", orgID, err)
			}
			if _, err := f.reg.ListUsers(f.ctx, schoolAdmin, orgID, "", 10); code(err) != roster.EFORBIDDEN {
				t.Fatalf("list %s: %v", orgID, err)
			}
		}
		if _, err := f.reg.CreateOrg(f.ctx, schoolAdmin, roster.Organisation{Name: "Rogue school", RootOrgID: f.stateA.ID}); code(err) != roster.EFORBIDDEN {
			t.Fatalf("school admin created an organisation: %v", err)
		}
	})
}

func TestRecoveryContactsCountryCodeAndManagedUsers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Rec", Email: "rec@x.org",
			Phone: "+14155552671", CountryCode: "+1", RecoveryEmail: " Backup@X.org ", RecoveryPhone: "9812345609"}, OrgID: f.stateA.ID})
		if err != nil {
			t.Fatal(err)
		}
		if u.RecoveryEmail != "backup@x.org" || u.RecoveryPhone != "+919812345609" || u.CountryCode != "+1" {
			t.Fatalf("recovery/country: %q %q %q", u.RecoveryEmail, u.RecoveryPhone, u.CountryCode)
		}
		var enc []byte
		_ = db.QueryRow(f.ctx, `SELECT recovery_email_enc FROM users WHERE id = $1`, u.ID).Scan(&enc)
		if len(enc) == 0 || strings.Contains(string(enc), "backup") {
			t.Fatal("recovery email not sealed")
		}
		peer := f.principal(t, f.mustCreate(t, roster.SystemPrincipal, f.stateA.ID, "peer2@x.org", "").ID)
		if v, _ := f.reg.GetUser(f.ctx, peer, u.ID); v.RecoveryEmail != "" || v.RecoveryPhone != "" {
			t.Fatal("peer sees recovery contacts")
		}
		empty, phone := "", "9876500009"
		up, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{RecoveryEmail: &empty, Phone: &phone})
		if err != nil || up.RecoveryEmail != "" || up.CountryCode != "+91" || up.PrevUsedPhone != "+14155552671" {
			t.Fatalf("update: %v %+v", err, up.User)
		}
		bad := "nope"
		if _, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{RecoveryPhone: &bad}); code(err) != roster.EINVALID {
			t.Fatalf("bad recovery phone: %v", err)
		}

		// Field checks that need no database: association type bits.
		_, err = f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "A", Email: "a99@x.org"}, OrgID: f.stateA.ID, AssociationType: 99})
		if re, ok := err.(*roster.Error); !ok || re.Fields[0].Field != "associationType" {
			t.Fatalf("association type 99: %v", err)
		}
		// A managed user needs a parent in the same tenant, and then needs
		// no email or phone of their own (seed: managedBy).
		for _, parent := range []string{"no-such-user", f.adminB.UserID} {
			_, err = f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Kid", ManagedBy: parent}, OrgID: f.stateA.ID})
			if re, ok := err.(*roster.Error); !ok || re.Fields[0].Field != "managedBy" {
				t.Fatalf("managedBy %s: %v", parent, err)
			}
		}
		kid, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "Kid", ManagedBy: u.ID}, OrgID: f.stateA.ID})
		if err != nil || kid.ManagedBy != u.ID || kid.Email != "" {
			t.Fatalf("managed user: %v", err)
		}
	})
}

func TestUpdateToTakenContactIsConflict(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		a := f.mustCreate(t, f.adminA, f.stateA.ID, "a@taken.org", "9876500011")
		b := f.mustCreate(t, f.adminA, f.stateA.ID, "b@taken.org", "9876500012")
		for _, patch := range []registry.UserPatch{{Email: &a.Email}, {Phone: &a.Phone}} {
			_, err := f.reg.UpdateUser(f.ctx, f.adminA, b.ID, patch)
			var re *roster.Error
			if !errors.As(err, &re) || re.Code != roster.ECONFLICT {
				t.Fatalf("update to a taken value: %v", err)
			}
		}
		if got, _ := f.reg.GetUser(f.ctx, f.adminA, b.ID); got.Email != "b@taken.org" || got.Phone != "+919876500012" {
			t.Fatal("failed update changed the user")
		}
	})
}

// Every unique attribute, not only email, is decided by the database when
// creates race.
func TestConcurrentCreatesEveryUniqueField(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		for name, user := range map[string]func(i int) registry.NewUser{
			"phone": func(i int) registry.NewUser {
				return registry.NewUser{User: roster.User{FirstName: "P", Phone: "9876511111", Email: fmt.Sprintf("p%d@x.org", i)}, OrgID: f.stateA.ID}
			},
			"userName": func(i int) registry.NewUser {
				return registry.NewUser{User: roster.User{FirstName: "U", Username: "same.name", Email: fmt.Sprintf("u%d@x.org", i)}, OrgID: f.stateA.ID}
			},
			"externalId": func(i int) registry.NewUser {
				return registry.NewUser{User: roster.User{FirstName: "E", Email: fmt.Sprintf("e%d@x.org", i)}, OrgID: f.stateA.ID,
					ExternalIDs: []roster.ExternalIdentity{{Provider: "TN", IDType: "tid", ExternalID: "RACE-1"}}}
			},
		} {
			var wg sync.WaitGroup
			errs := make([]error, 6)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = f.reg.CreateUser(f.ctx, f.adminA, user(i))
				}()
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
				} else if code(err) != roster.ECONFLICT {
					t.Fatalf("%s: unexpected %v", name, err)
				}
			}
			if wins != 1 {
				t.Fatalf("%s: %d winners, want 1", name, wins)
			}
		}
	})
}

// The custodian is created once even when replicas bootstrap together, and
// users created without an organisation land under it.
func TestCustodianBootstrapOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		var wg sync.WaitGroup
		ids := make([]string, 4)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reg := registry.New(db, testkit.Keyring(t))
				if org, err := reg.Bootstrap(f.ctx); err == nil {
					ids[i] = org.ID
				}
			}()
		}
		wg.Wait()
		var n int
		_ = db.QueryRow(f.ctx, `SELECT count(*) FROM organisation WHERE is_custodian`).Scan(&n)
		if n != 1 || ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] || ids[2] != ids[3] {
			t.Fatalf("custodians = %d, ids %v", n, ids)
		}
		u, err := f.reg.CreateUser(f.ctx, roster.SystemPrincipal, registry.NewUser{User: roster.User{FirstName: "Self", Email: "ssu@x.org"}})
		if err != nil || u.RootOrgID != ids[0] {
			t.Fatalf("no-org user root = %q, want custodian %q (%v)", u.RootOrgID, ids[0], err)
		}
	})
}
