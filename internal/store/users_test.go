package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// at returns a distinct UTC, microsecond-precision time per offset, so a
// column swapped with another would show.
func at(base time.Time, minutes int) *time.Time {
	t := base.Add(time.Duration(minutes)*time.Minute + 123456*time.Microsecond)
	return &t
}

// fullUser has every column of users set to a value no other column holds.
func fullUser(tenant *roster.Organisation, manager string, base time.Time) *store.UserRecord {
	return &store.UserRecord{
		User: roster.User{
			ID: roster.NewID(), Username: "meena_k1x9", FirstName: "Meena", LastName: "Kumari",
			MaskedEmail: "me*****@example.org", EmailVerified: true, MaskedPhone: "98******10", PhoneVerified: true,
			CountryCode: "+91", DOB: "1987-12-31", Gender: "female", Language: []string{"Tamil", "English"},
			Position: "Headmistress", ProfileSummary: "Teaches maths", Location: "Madurai", Channel: "TN",
			RootOrgID: tenant.ID, FlagsValue: 4,
			Framework:        map[string][]string{"board": {"State (Tamil Nadu)"}, "gradeLevel": {"Class 6", "Class 7"}},
			ProfileLocation:  []roster.LocationRef{{Code: "33", Type: "state"}, {Code: "3301", Type: "district"}},
			ProfileUserTypes: []roster.UserType{{Type: "teacher", SubType: "hm"}, {Type: "administrator"}},
			AllTncAccepted: map[string]roster.TncAcceptance{
				"groupsTnc":   {TncAcceptedOn: "2024-01-02 10:11:12:000+0000", Version: "3.5.0"},
				"orgAdminTnc": {TncAcceptedOn: "2024-02-03 09:08:07:000+0000", Version: "1.0"},
			},
			TncAcceptedOn: at(base, 1), TncAcceptedVersion: "v4", ManagedBy: manager,
			Status: roster.StatusInactive, IsDeleted: true, DeletedDate: at(base, 2), PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA",
			CreatedBy: manager, CreatedDate: *at(base, 3), UpdatedBy: "updater-id", UpdatedDate: at(base, 4),
		},
		EmailEnc: []byte("email-ct"), PhoneEnc: []byte("phone-ct"),
		RecoveryEmailEnc: []byte("recovery-email-ct"), RecoveryPhoneEnc: []byte("recovery-phone-ct"),
		PrevUsedEmailEnc: []byte("prev-email-ct"), PrevUsedPhoneEnc: []byte("prev-phone-ct"),
	}
}

func TestUserColumnsRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		tenant := newTenant(t, db, "TN")
		base := roster.Now()

		// A minimal user (the manager) stores NULLs and defaults; the JSON
		// columns come back as empty, not nil, values.
		manager := &store.UserRecord{User: roster.User{ID: roster.NewID(), Username: "guardian", FirstName: "Guardian",
			RootOrgID: tenant.ID, Status: roster.StatusActive, CreatedDate: base}}
		if err := store.InsertUser(ctx, db, manager); err != nil {
			t.Fatal(err)
		}
		got, err := store.GetUser(ctx, db, manager.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *manager
		want.Language, want.ProfileLocation, want.ProfileUserTypes = []string{}, []roster.LocationRef{}, []roster.UserType{}
		want.Framework, want.AllTncAccepted = map[string][]string{}, map[string]roster.TncAcceptance{}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("minimal user:\n got %+v\nwant %+v", *got, want)
		}

		full := fullUser(tenant, manager.ID, base)
		if err := store.InsertUser(ctx, db, full); err != nil {
			t.Fatal(err)
		}
		if got, err = store.GetUser(ctx, db, full.ID); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, full) {
			t.Errorf("inserted user:\n got %+v\nwant %+v", *got, *full)
		}

		// UpdateUser rewrites every column but the id.
		changed := fullUser(tenant, manager.ID, base.Add(time.Hour))
		changed.ID = full.ID
		changed.Username, changed.FirstName, changed.LastName = "meena_new", "Mina", "Devi"
		changed.MaskedEmail, changed.EmailVerified, changed.MaskedPhone, changed.PhoneVerified = "mi*****@example.org", false, "91******00", false
		changed.CountryCode, changed.DOB, changed.Gender = "+1", "1990-01-02", "other"
		changed.Language, changed.Position, changed.ProfileSummary, changed.Location = []string{"Hindi"}, "Teacher", "Science", "Delhi"
		changed.Channel, changed.FlagsValue = "DL", 2
		changed.Framework = map[string][]string{"medium": {"Hindi"}}
		changed.ProfileLocation = []roster.LocationRef{{Code: "07", Type: "state"}}
		changed.ProfileUserTypes = []roster.UserType{{Type: "student"}}
		changed.AllTncAccepted = map[string]roster.TncAcceptance{"groupsTnc": {TncAcceptedOn: "2025-05-05", Version: "4.0"}}
		changed.TncAcceptedVersion, changed.ManagedBy = "v5", ""
		changed.Status, changed.IsDeleted, changed.DeletedDate = roster.StatusActive, false, nil
		changed.PasswordHash, changed.CreatedBy, changed.UpdatedBy = "", "", "someone-else"
		changed.EmailEnc, changed.PhoneEnc = []byte("email-ct-2"), nil
		changed.RecoveryEmailEnc, changed.RecoveryPhoneEnc = []byte("recovery-email-ct-2"), []byte("recovery-phone-ct-2")
		changed.PrevUsedEmailEnc, changed.PrevUsedPhoneEnc = []byte("email-ct"), []byte("phone-ct")
		if err := store.UpdateUser(ctx, db, changed); err != nil {
			t.Fatal(err)
		}
		if got, err = store.GetUser(ctx, db, full.ID); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, changed) {
			t.Errorf("updated user:\n got %+v\nwant %+v", *got, *changed)
		}

		// ListUsersByOrg reads the same columns through its join.
		m := roster.Membership{UserID: full.ID, OrganisationID: tenant.ID, Roles: []string{"PUBLIC"}, IsApproved: true, OrgJoinDate: base}
		if err := store.UpsertMembership(ctx, db, m); err != nil {
			t.Fatal(err)
		}
		list, err := store.ListUsersByOrg(ctx, db, tenant.ID, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || !reflect.DeepEqual(&list[0], changed) {
			t.Errorf("listed users = %+v", list)
		}
	})
}

func TestMembershipColumnsRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		tenant := newTenant(t, db, "TN")
		school := &roster.Organisation{ID: roster.NewID(), Name: "School", RootOrgID: tenant.ID, Status: 1, CreatedDate: roster.Now()}
		if err := store.InsertOrg(ctx, db, school); err != nil {
			t.Fatal(err)
		}
		base := roster.Now()
		user := fullUser(tenant, "", base)
		if err := store.InsertUser(ctx, db, user); err != nil {
			t.Fatal(err)
		}

		full := roster.Membership{
			UserID: user.ID, OrganisationID: school.ID, AssociationType: 1 | 4,
			Roles:      []string{"ORG_ADMIN", "COURSE_MENTOR"},
			IsApproved: false, IsRejected: true, IsDeleted: true,
			ApprovalDate: at(base, 1), OrgJoinDate: *at(base, 2), OrgLeftDate: at(base, 3),
			UpdatedBy: "admin-id", UpdatedDate: at(base, 4),
		}
		minimal := roster.Membership{UserID: user.ID, OrganisationID: tenant.ID, Roles: []string{}, IsApproved: true, OrgJoinDate: base}
		for _, m := range []roster.Membership{full, minimal} {
			if err := store.UpsertMembership(ctx, db, m); err != nil {
				t.Fatal(err)
			}
		}
		got, err := store.Memberships(ctx, db, user.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Ordered by join date: the tenant membership joined first.
		if want := []roster.Membership{minimal, full}; !reflect.DeepEqual(got, want) {
			t.Errorf("memberships:\n got %+v\nwant %+v", got, want)
		}

		// The upsert replaces every column of an existing row.
		full.AssociationType, full.Roles = 2, []string{"PUBLIC"}
		full.IsApproved, full.IsRejected, full.IsDeleted = true, false, false
		full.ApprovalDate, full.OrgJoinDate, full.OrgLeftDate = nil, *at(base, -5), nil
		full.UpdatedBy, full.UpdatedDate = "", nil
		if err := store.UpsertMembership(ctx, db, full); err != nil {
			t.Fatal(err)
		}
		if got, err = store.Memberships(ctx, db, user.ID); err != nil {
			t.Fatal(err)
		}
		if want := []roster.Membership{full, minimal}; !reflect.DeepEqual(got, want) {
			t.Errorf("after upsert:\n got %+v\nwant %+v", got, want)
		}
	})
}

func TestExternalIdentityColumnsRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		tenant := newTenant(t, db, "TN")
		base := roster.Now()
		user, other := fullUser(tenant, "", base), fullUser(tenant, "", base)
		other.ID = roster.NewID()
		for _, u := range []*store.UserRecord{user, other} {
			if err := store.InsertUser(ctx, db, u); err != nil {
				t.Fatal(err)
			}
		}
		ids := []store.ExternalIdentityRecord{
			{Provider: "tn", IDType: "teacherid", Hash: "hash-1", Enc: []byte("ct-1"), UserID: user.ID, CreatedBy: "admin-id", CreatedOn: *at(base, 1)},
			{Provider: "tn-sso", IDType: "sso", Hash: "hash-2", Enc: []byte("ct-2"), UserID: user.ID, CreatedOn: *at(base, 2)},
		}
		for _, x := range ids {
			if ok, err := store.InsertExternalIdentity(ctx, db, x); err != nil || !ok {
				t.Fatalf("insert %s: %v, %v", x.Provider, ok, err)
			}
		}
		// The same (provider, idType, hash) for another user is refused
		// without an error.
		clash := ids[0]
		clash.UserID, clash.Enc = other.ID, []byte("ct-other")
		if ok, err := store.InsertExternalIdentity(ctx, db, clash); err != nil || ok {
			t.Errorf("clashing identity: inserted %v, %v", ok, err)
		}
		got, err := store.ExternalIdentities(ctx, db, user.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ids) {
			t.Errorf("identities:\n got %+v\nwant %+v", got, ids)
		}
		if got, err := store.ExternalIdentities(ctx, db, other.ID); err != nil || len(got) != 0 {
			t.Errorf("other user's identities = %+v, %v", got, err)
		}
	})
}
