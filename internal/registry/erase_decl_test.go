package registry_test

import (
	"errors"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/otp"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// TestErasureReachesDeclarationsCodesAndUploadRows (issue 12.6): what of a
// user lives outside their row is erased too. A copy of the database from
// before the erasure cannot open their declared teacher id (sealed under
// their data key, not the ring); the live database keeps their
// declarations without teacher id or reason, out of the review queue, no
// one-time code sent to their address and no original of their upload
// rows. Another user's keep theirs.
func TestErasureReachesDeclarationsCodesAndUploadRows(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		ring := testkit.Keyring(t)
		gone, kept := w.verifiedTeacher(t, "gone@example.org", ""), w.verifiedTeacher(t, "kept@example.org", "")
		rejected := w.declare(t, gone, w.school2, "T-GONE-1")
		if _, err := w.reg.DecideDeclaration(w.ctx, w.otherAdmin, rejected.ID, registry.Decision{Reason: "Gopal, your id is wrong"}); err != nil {
			t.Fatal(err)
		}
		pending := w.declare(t, gone, w.schoolA, "T-GONE-2")
		w.declare(t, kept, w.schoolA, "T-KEPT")
		codes := otp.New(db, ring)
		for _, addr := range []string{"gone@example.org", "kept@example.org"} {
			if _, err := codes.Issue(w.ctx, otp.PurposeSignUp, otp.Destination{Channel: otp.ChannelEmail, Address: addr}, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}
		uploadRow(t, w, gone.UserID, 2, ring.Seal(`{"email":"gone@example.org"}`, pii.UploadRow("up-erase", 2)))
		uploadRow(t, w, kept.UserID, 3, ring.Seal(`{"email":"kept@example.org"}`, pii.UploadRow("up-erase", 3)))

		backup := storetest.Copy(t, db)
		if err := w.reg.EraseUser(w.ctx, roster.SystemPrincipal, gone.UserID, ""); err != nil {
			t.Fatal(err)
		}

		old := teacherIDs(t, w, backup, gone.UserID)
		if len(old) != 2 {
			t.Fatalf("the copy holds %d declarations of the erased user, want 2", len(old))
		}
		for id, enc := range old {
			if len(enc) == 0 || pii.SealedByRing(enc) {
				t.Fatal("a teacher id in the copy is missing or ring-sealed: erasure could not reach it")
			}
			if _, err := ring.NoUserKey(gone.UserID).Open(enc, pii.Declaration(id)); !errors.Is(err, pii.ErrErased) {
				t.Errorf("erased user's teacher id in the old copy: %v, want ErrErased", err)
			}
		}
		for id, enc := range teacherIDs(t, w, db, gone.UserID) {
			if len(enc) != 0 {
				t.Errorf("declaration %s keeps a teacher id", id)
			}
		}
		var reasons, pendings int
		_ = db.QueryRow(w.ctx, `SELECT COUNT(*) FROM user_declaration WHERE user_id = $1 AND reason <> ''`, gone.UserID).Scan(&reasons)
		_ = db.QueryRow(w.ctx, `SELECT COUNT(*) FROM user_declaration WHERE id = $1 AND status = 'pending'`, pending.ID).Scan(&pendings)
		if reasons != 0 || pendings != 0 {
			t.Errorf("after erasure: %d reasons kept, %d pending", reasons, pendings)
		}
		queue, err := w.reg.Declarations(w.ctx, w.schoolAdmin, w.schoolA.ID, roster.DeclarationPending, "", 50)
		if err != nil || len(queue) != 1 || queue[0].UserID != kept.UserID || queue[0].TeacherID != "T-KEPT" {
			t.Fatalf("queue after erasure: %+v %v", queue, err)
		}

		var gCodes, kCodes int
		_ = db.QueryRow(w.ctx, `SELECT COUNT(*) FROM one_time_code WHERE dest_hash = $1`, ring.OneTimeCodeDestination("email", "gone@example.org")).Scan(&gCodes)
		_ = db.QueryRow(w.ctx, `SELECT COUNT(*) FROM one_time_code WHERE dest_hash = $1`, ring.OneTimeCodeDestination("email", "kept@example.org")).Scan(&kCodes)
		if gCodes != 0 || kCodes != 1 {
			t.Errorf("one-time codes: erased user's %d (want 0), other's %d (want 1)", gCodes, kCodes)
		}
		if err := codes.Verify(w.ctx, otp.PurposeSignUp, otp.Destination{Channel: otp.ChannelEmail, Address: "gone@example.org"}, "000000"); err == nil {
			t.Error("a code to the erased address still verifies")
		}

		var gRow, kRow []byte
		_ = db.QueryRow(w.ctx, `SELECT original_enc FROM upload_row WHERE user_id = $1`, gone.UserID).Scan(&gRow)
		_ = db.QueryRow(w.ctx, `SELECT original_enc FROM upload_row WHERE user_id = $1`, kept.UserID).Scan(&kRow)
		if len(gRow) != 0 || len(kRow) == 0 {
			t.Errorf("upload row originals: erased user's %d bytes (want 0), other's %d", len(gRow), len(kRow))
		}
	})
}

// teacherIDs are the sealed teacher ids of userID's declarations in db.
func teacherIDs(t *testing.T, w *declWorld, db store.Engine, userID string) map[string][]byte {
	t.Helper()
	rows, err := db.Query(w.ctx, `SELECT id, teacher_id_enc FROM user_declaration WHERE user_id = $1`, userID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id string
		var enc []byte
		if err := rows.Scan(&id, &enc); err != nil {
			t.Fatal(err)
		}
		out[id] = enc
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// uploadRow records row n of the upload "up-erase" as having made userID.
func uploadRow(t *testing.T, w *declWorld, userID string, n int, original []byte) {
	t.Helper()
	now := roster.Now()
	if _, err := store.GetUpload(w.ctx, w.db, "up-erase"); errors.Is(err, store.ErrNoRows) {
		if err := store.InsertUpload(w.ctx, w.db, &roster.Upload{ID: "up-erase", OrgID: w.schoolA.ID, RootOrgID: w.stateA.ID,
			UploadedBy: w.adminA.UserID, FileName: "u.csv", Format: "csv", Status: "done", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.InsertUploadRows(w.ctx, w.db, []roster.UploadRow{{UploadID: "up-erase", RowNumber: n, Status: "ok",
		UserID: userID, OriginalEnc: original, CreatedAt: now}}); err != nil {
		t.Fatal(err)
	}
}
