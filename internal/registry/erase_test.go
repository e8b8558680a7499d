package registry_test

import (
	"errors"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

const adminPassword = "admin-pass-1" // testkit.Tenants' admins

// sealedValues are the ciphertexts of a user's email, phone and external
// id as a database (or a copy of one) holds them.
type sealedValues struct{ email, phone, extID []byte }

func readSealed(t *testing.T, f *fixture, db store.Engine, id string) sealedValues {
	t.Helper()
	var v sealedValues
	if err := db.QueryRow(f.ctx, `SELECT email_enc, phone_enc FROM users WHERE id = $1`, id).Scan(&v.email, &v.phone); err != nil {
		t.Fatal(err)
	}
	ids, err := store.ExternalIdentities(f.ctx, db, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) > 0 {
		v.extID = ids[0].Enc
	}
	return v
}

// openWithCurrentKeys opens old ciphertexts of a user with the keys as they
// are now: the key ring and the user's data key in the live database.
func openWithCurrentKeys(t *testing.T, f *fixture, ring *pii.Keyring, id string, v sealedValues) (email, phone, extID string, err error) {
	t.Helper()
	keys := ring.NoUserKey(id)
	if r, err := store.GetUserKey(f.ctx, f.db, id); err == nil {
		if keys, err = ring.UnwrapUserKey(id, r.Wrapped); err != nil {
			t.Fatal(err)
		}
	} else if !errors.Is(err, store.ErrNoRows) {
		t.Fatal(err)
	}
	var errs [3]error
	email, errs[0] = keys.Open(v.email, pii.UserField(id, pii.FieldEmail))
	phone, errs[1] = keys.Open(v.phone, pii.UserField(id, pii.FieldPhone))
	extID, errs[2] = keys.Open(v.extID, pii.ExternalID("tn", "teacherid", id))
	return email, phone, extID, errors.Join(errs[:]...)
}

func (f *fixture) createWithExtID(t *testing.T, email, phone, extID string) *registry.UserView {
	t.Helper()
	v, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{
		User:  roster.User{FirstName: "Erin", LastName: "Case", Email: email, Phone: phone},
		OrgID: f.schoolA.ID, Password: "secret-pass-1",
		ExternalIDs: []roster.ExternalIdentity{{Provider: "TN", IDType: "teacherId", ExternalID: extID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The "Done when": a copy of the database taken before the erasure
// (the SQLite file, a pg_dump restored) plus the current keys cannot open
// the erased user's email, phone or external id, and still opens another
// user's.
func TestErasureReachesOldCopies(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		ring := testkit.Keyring(t)
		gone := f.createWithExtID(t, "gone@example.org", "9876500011", "TCH-GONE")
		kept := f.createWithExtID(t, "kept@example.org", "9876500012", "TCH-KEPT")

		backup := storetest.Copy(t, db)
		if err := f.reg.EraseUser(f.ctx, f.adminA, gone.ID, adminPassword); err != nil {
			t.Fatal(err)
		}

		old := readSealed(t, f, backup, gone.ID)
		if len(old.email) == 0 || len(old.phone) == 0 || len(old.extID) == 0 {
			t.Fatal("the copy does not hold the erased user's sealed values: the test would prove nothing")
		}
		if _, _, _, err := openWithCurrentKeys(t, f, ring, gone.ID, old); !errors.Is(err, pii.ErrErased) {
			t.Fatalf("erased user's values in the old copy: %v, want ErrErased", err)
		}
		// Nor does the ring alone open them: they were never ring-sealed.
		for _, ct := range [][]byte{old.email, old.phone, old.extID} {
			if pii.SealedByRing(ct) {
				t.Fatal("a personal value was sealed by the ring, not the user's data key")
			}
		}
		email, phone, extID, err := openWithCurrentKeys(t, f, ring, kept.ID, readSealed(t, f, backup, kept.ID))
		if err != nil || email != "kept@example.org" || phone != "+919876500012" || extID != "TCH-KEPT" {
			t.Fatalf("other user's values in the old copy: %q %q %q %v", email, phone, extID, err)
		}

		// The live database keeps nothing personal of the erased user, but
		// their id and memberships (for counts).
		now := readSealed(t, f, db, gone.ID)
		if now.email != nil || now.phone != nil || now.extID != nil {
			t.Fatal("sealed values left in the live database")
		}
		v, err := f.reg.GetUser(f.ctx, f.adminA, gone.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.ErasedDate == nil || !v.IsDeleted || v.Status != roster.StatusInactive || v.FirstName != "" || v.MaskedEmail != "" ||
			v.Email != "" || v.Username != "" || len(v.ExternalIDs) != 0 {
			t.Fatalf("erased user as read: %+v", v.User)
		}
		if len(v.Memberships) != 1 || v.Memberships[0].OrganisationID != f.schoolA.ID || v.Memberships[0].IsDeleted {
			t.Fatalf("memberships must stay for counts: %+v", v.Memberships)
		}
		var lookups, audits int
		_ = db.QueryRow(f.ctx, `SELECT COUNT(*) FROM user_lookup WHERE user_id = $1`, gone.ID).Scan(&lookups)
		_ = db.QueryRow(f.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'user.erase' AND object_id = $1`, gone.ID).Scan(&audits)
		if lookups != 0 || audits != 1 {
			t.Fatalf("after erasure: %d lookups, %d audit entries", lookups, audits)
		}
		// The released email can be used by someone new.
		f.mustCreate(t, f.adminA, f.schoolA.ID, "gone@example.org", "")
	})
}

func TestErasureRules(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.createWithExtID(t, "rules@example.org", "9876500021", "TCH-R")
		// An admin of another tenant does not see the user at all; a
		// learner of the same school may not erase another.
		if err := f.reg.EraseUser(f.ctx, f.adminB, u.ID, adminPassword); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Fatalf("other tenant's admin: %v", err)
		}
		peer := f.mustCreate(t, f.adminA, f.schoolA.ID, "peer@example.org", "")
		if err := f.reg.EraseUser(f.ctx, f.settled(t, peer.ID), u.ID, "secret-pass-1"); roster.ErrorCode(err) != roster.EFORBIDDEN {
			t.Fatalf("another learner: %v", err)
		}
		// The password confirms: none, or a wrong one, erases nothing.
		if err := f.reg.EraseUser(f.ctx, f.adminA, u.ID, ""); roster.ErrorCode(err) != roster.EINVALID {
			t.Fatalf("no password: %v", err)
		}
		if err := f.reg.EraseUser(f.ctx, f.adminA, u.ID, "wrong-pass-1"); err != registry.ErrErasePassword {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err := f.reg.Authenticate(f.ctx, "rules@example.org", "secret-pass-1"); err != nil {
			t.Fatalf("a refused erasure changed the user: %v", err)
		}
		// The user erases themself with their own password.
		self := f.settled(t, u.ID)
		if err := f.reg.EraseUser(f.ctx, self, u.ID, "secret-pass-1"); err != nil {
			t.Fatal(err)
		}
		// A second erasure says so.
		err := f.reg.EraseUser(f.ctx, f.adminA, u.ID, adminPassword)
		if roster.ErrorCode(err) != roster.ECONFLICT || err.(*roster.Error).Message != registry.MsgAlreadyErased {
			t.Fatalf("second erasure: %v", err)
		}
		// Nobody signs in as the erased user, and their sessions are over.
		for _, login := range []string{"rules@example.org", "+919876500021", u.Username} {
			if _, err := f.reg.Authenticate(f.ctx, login, "secret-pass-1"); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
				t.Fatalf("sign-in as the erased user with %q: %v", login, err)
			}
		}
		if _, err := f.reg.Principal(f.ctx, u.ID); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
			t.Fatalf("erased user's session: %v", err)
		}
		rec, _ := store.GetUser(f.ctx, db, u.ID)
		if rec.SessionGeneration <= self.SessionGeneration {
			t.Fatal("the erasure did not end the user's sessions")
		}
		// An erased user cannot be changed back into having data.
		if _, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{FirstName: ptr("Back")}); roster.ErrorCode(err) != roster.ECONFLICT {
			t.Fatalf("update of an erased user: %v", err)
		}
		if _, err := store.GetUserKey(f.ctx, db, u.ID); !errors.Is(err, store.ErrNoRows) {
			t.Fatalf("erased user's data key: %v", err)
		}
	})
}

// Rotation with per-user keys: rewrap moves every data key onto the new
// primary without re-encrypting values, moves users from before per-user
// keys (ring-sealed values) onto data keys, and afterwards the retired key
// can leave the ring with everything still readable.
func TestRewrapRetiresAKey(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		k1 := testkit.DefaultKey
		k2 := pii.Key{ID: "k2", Key: make([]byte, 32)}
		k2.Key[0] = 2
		withDEK := f.createWithExtID(t, "dek@example.org", "9876500031", "TCH-D")
		legacy := f.createWithExtID(t, "legacy@example.org", "9876500032", "TCH-L")
		makeLegacy(t, f, legacy.ID)
		before := readSealed(t, f, db, withDEK.ID)

		rotated := registry.New(db, testkit.Keyring(t, k2, k1))
		pending, err := rotated.RewrapPending(f.ctx)
		if err != nil || pending < 3 { // two admins and withDEK
			t.Fatalf("pending: %d %v", pending, err)
		}
		var seen int
		n, err := rotated.RewrapUserKeys(f.ctx, 2, func(k int) { seen += k })
		if err != nil || n != pending || seen != pending {
			t.Fatalf("rewrapped %d (progress %d) of %d: %v", n, seen, pending, err)
		}
		if left, _ := rotated.RewrapPending(f.ctx); left != 0 {
			t.Fatalf("%d data keys left under k1", left)
		}
		if after := readSealed(t, f, db, withDEK.ID); string(after.email) != string(before.email) || string(after.extID) != string(before.extID) {
			t.Fatal("rewrap re-encrypted values; it must only re-wrap the data key")
		}
		moved, err := rotated.MoveToUserKeys(f.ctx, 2, nil)
		if err != nil || moved != 3 { // the legacy user's email, phone and external id
			t.Fatalf("moved %d values: %v", moved, err)
		}
		if again, err := rotated.MoveToUserKeys(f.ctx, 2, nil); err != nil || again != 0 {
			t.Fatalf("second run moved %d: %v", again, err)
		}
		for _, ct := range readSealedAll(t, f, db, legacy.ID) {
			if pii.SealedByRing(ct) {
				t.Fatal("a legacy value is still sealed by the ring")
			}
		}

		// k1 retired: everything opens with k2 alone.
		only2 := registry.New(db, testkit.Keyring(t, k2))
		for _, c := range []struct{ id, email, extID string }{{withDEK.ID, "dek@example.org", "TCH-D"}, {legacy.ID, "legacy@example.org", "TCH-L"}} {
			v, err := only2.GetUser(f.ctx, f.adminA, c.id)
			if err != nil || v.Email != c.email || len(v.ExternalIDs) != 1 || v.ExternalIDs[0].ExternalID != c.extID {
				t.Fatalf("after retiring k1: %v %+v", err, v)
			}
		}
		// And the legacy user, now on a data key, is erasable for good.
		backup := storetest.Copy(t, db)
		if err := only2.EraseUser(f.ctx, f.adminA, legacy.ID, adminPassword); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := openWithCurrentKeys(t, f, testkit.Keyring(t, k2), legacy.ID, readSealed(t, f, backup, legacy.ID)); !errors.Is(err, pii.ErrErased) {
			t.Fatalf("moved legacy user after erasure: %v", err)
		}
	})
}

// Values sealed by the ring before per-user keys keep opening, and the
// user's next change gives them a data key.
func TestRingSealedUsersStayReadable(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.createWithExtID(t, "old@example.org", "9876500041", "TCH-O")
		makeLegacy(t, f, u.ID)
		v, err := f.reg.GetUser(f.ctx, f.adminA, u.ID)
		if err != nil || v.Email != "old@example.org" || v.Phone != "+919876500041" || v.ExternalIDs[0].ExternalID != "TCH-O" {
			t.Fatalf("ring-sealed user: %v %+v", err, v)
		}
		if _, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{Email: ptr("new@example.org")}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetUserKey(f.ctx, db, u.ID); err != nil {
			t.Fatalf("no data key after a change: %v", err)
		}
		now := readSealed(t, f, db, u.ID)
		if pii.SealedByRing(now.email) || !pii.SealedByRing(now.phone) {
			t.Fatal("the changed email must be under the data key, the untouched phone stays ring-sealed until a rewrap")
		}
		v, err = f.reg.GetUser(f.ctx, f.adminA, u.ID)
		if err != nil || v.Email != "new@example.org" || v.PrevUsedEmail != "old@example.org" || v.Phone != "+919876500041" {
			t.Fatalf("mixed user: %v %+v", err, v)
		}
	})
}

// makeLegacy turns a user into one created before per-user keys: values
// sealed by the ring directly, no data key.
func makeLegacy(t *testing.T, f *fixture, id string) {
	t.Helper()
	ring := testkit.Keyring(t)
	v, err := f.reg.GetUser(f.ctx, f.adminA, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE users SET email_enc = $2, phone_enc = $3 WHERE id = $1`,
			[]any{id, ring.Seal(v.Email, pii.UserField(id, pii.FieldEmail)), ring.Seal(v.Phone, pii.UserField(id, pii.FieldPhone))}},
		{`UPDATE usr_external_identity SET external_id_enc = $2 WHERE user_id = $1`,
			[]any{id, ring.Seal(v.ExternalIDs[0].ExternalID, pii.ExternalID("tn", "teacherid", id))}},
		{`DELETE FROM user_key WHERE user_id = $1`, []any{id}},
	} {
		if _, err := f.db.Exec(f.ctx, stmt.sql, stmt.args...); err != nil {
			t.Fatal(err)
		}
	}
}

func readSealedAll(t *testing.T, f *fixture, db store.Engine, id string) [][]byte {
	v := readSealed(t, f, db, id)
	return [][]byte{v.email, v.phone, v.extID}
}
