package upload

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// seedUser creates a user of orgID for an update to find.
func (f *fixture) seedUser(t *testing.T, p *roster.Principal, orgID, username, email string, ids ...roster.ExternalIdentity) string {
	t.Helper()
	v, err := f.reg.CreateUser(f.ctx, p, registry.NewUser{
		User:  roster.User{FirstName: "Old", LastName: "Name", Email: email, Username: username, Gender: "Male"},
		OrgID: orgID, Password: "old-pass-12", ExternalIDs: ids, Roles: []string{roster.RoleCourseMentor},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}

// upload submits data in mode and processes it, returning the finished
// upload and its rows.
func (f *fixture) upload(t *testing.T, p *roster.Principal, orgID, mode string, data []byte, confirm bool) (*roster.Upload, []roster.UploadRow) {
	t.Helper()
	up, err := f.svc.SubmitWith(f.ctx, p, OrgRef{ID: orgID}, "update.csv", data, Options{Mode: mode, Confirm: confirm})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Process(f.ctx, up.ID); err != nil {
		t.Fatal(err)
	}
	if up, err = f.svc.Get(f.ctx, p, up.ID); err != nil {
		t.Fatal(err)
	}
	rows, err := f.svc.Rows(f.ctx, p, up.ID, RowFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return up, rows
}

func (f *fixture) dryRun(t *testing.T, p *roster.Principal, orgID, mode string, data []byte) *DryRunResult {
	t.Helper()
	res, err := f.svc.DryRunWith(f.ctx, p, OrgRef{ID: orgID}, "update.csv", data, Options{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) user(t *testing.T, id string) *registry.UserView {
	t.Helper()
	v, err := f.reg.GetUser(f.ctx, roster.SystemPrincipal, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func changesText(cs []roster.FieldChange) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Field+": "+c.Old+" -> "+c.New)
	}
	return strings.Join(parts, "; ")
}

var teacherID = func(id string) roster.ExternalIdentity {
	return roster.ExternalIdentity{Provider: "TN", IDType: "teacher", ExternalID: id}
}

// An update finds users by userName or by external id; blank cells leave
// fields alone, the clear marker clears them; the dry run shows every
// change masked, and the result CSV uploads again changing nothing.
func TestUpdateByUserNameAndExternalID(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChangeThreshold = 100
		one := f.seedUser(t, f.adminA, f.schoolA.ID, "t_one", "one@example.org")
		two := f.seedUser(t, f.adminA, f.schoolA.ID, "t_two", "two@example.org", teacherID("T-2"))
		hdr := []string{"userName", "firstName", "lastName", "email", "externalId", "externalIdType", "externalIdProvider", "gender"}
		data := csvFile(hdr,
			[]string{"t_one", "Asha", "", "new1@example.org", "", "", "", ""},
			[]string{"", "Ravi", "#clear", "", "T-2", "teacher", "TN", "#CLEAR"},
		)

		res := f.dryRun(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, data)
		if res.Upload.Failed != 0 || len(res.Rows) != 2 {
			t.Fatalf("dry run %+v %+v", res.Upload, res.Rows)
		}
		if got, want := changesText(res.Rows[0].Changes), "firstName: Old -> Asha; email: on*@example.org -> ne**@example.org"; got != want {
			t.Fatalf("row 2 diff %q, want %q", got, want)
		}
		if got, want := changesText(res.Rows[1].Changes), "firstName: Old -> Ravi; lastName: Name -> ; gender: Male -> "; got != want {
			t.Fatalf("row 3 diff %q, want %q", got, want)
		}
		if res.Rows[0].Action != roster.RowActionUpdate || res.Rows[0].Status != roster.UploadRowValid || res.Rows[0].UserID != one {
			t.Fatalf("row 2 %+v", res.Rows[0])
		}
		if v := f.user(t, one); v.FirstName != "Old" || v.Email != "one@example.org" {
			t.Fatalf("dry run changed the user: %+v", v.User)
		}
		// The stored dry run serves the same diff.
		stored, err := f.svc.Rows(f.ctx, f.adminA, res.Upload.ID, RowFilter{})
		if err != nil || changesText(stored[1].Changes) != changesText(res.Rows[1].Changes) {
			t.Fatalf("stored rows %+v %v", stored, err)
		}

		up, rows := f.upload(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, data, false)
		if up.Succeeded != 2 || up.Failed != 0 || rows[0].Status != roster.UploadRowUpdated || rows[1].UserID != two {
			t.Fatalf("upload %+v rows %+v", up, rows)
		}
		v1, v2 := f.user(t, one), f.user(t, two)
		if v1.FirstName != "Asha" || v1.LastName != "Name" || v1.Email != "new1@example.org" || v1.Gender != "Male" || v1.UpdatedBy != f.adminA.UserID {
			t.Fatalf("user one %+v", v1.User)
		}
		if v2.FirstName != "Ravi" || v2.LastName != "" || v2.Gender != "" || v2.Email != "two@example.org" {
			t.Fatalf("user two %+v", v2.User)
		}
		// Audited with the field names only; the dry run left no such entry.
		var detail string
		if err := db.QueryRow(f.ctx, `SELECT detail FROM audit_log WHERE action = 'user.update' AND object_id = $1`, one).Scan(&detail); err != nil || detail != "fields=firstName,email" {
			t.Fatalf("audit %q %v", detail, err)
		}
		if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'user.update'`); n != 2 {
			t.Fatalf("%d user.update entries, want 2 (one per updated row, none from the dry run)", n)
		}
		if _, err := f.reg.LookupUserID(f.ctx, registry.LookupQuery{Type: roster.LookupEmail, Value: "one@example.org"}); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Fatalf("old email still looked up: %v", err)
		}

		// The result CSV re-uploads cleanly: every row found, nothing left to change.
		var out bytes.Buffer
		if err := f.svc.ResultCSV(f.ctx, f.adminA, up.ID, &out); err != nil {
			t.Fatal(err)
		}
		again, rows := f.upload(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, out.Bytes(), false)
		if again.Failed != 0 || again.Succeeded != 2 || rows[0].Action != roster.RowActionUnchanged || rows[1].Action != roster.RowActionUnchanged {
			t.Fatalf("re-upload %+v rows %+v", again, rows)
		}
	})
}

// Upsert updates the rows whose user exists and creates the others.
func TestUpsertCreatesAndUpdates(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChangeThreshold = 100
		one := f.seedUser(t, f.adminA, f.schoolA.ID, "t_one", "one@example.org")
		data := csvFile(header,
			[]string{"Asha", "#clear", "", "", "t_one", "", "", ""},
			[]string{"Ravi", "", "ravi@example.org", "", "ravi_new", "secret-ravi", "", ""},
		)
		res := f.dryRun(t, f.adminA, f.schoolA.ID, roster.UploadModeUpsert, data)
		if res.Rows[0].Action != roster.RowActionUpdate || res.Rows[1].Action != roster.RowActionCreate || res.Upload.Failed != 0 {
			t.Fatalf("dry run rows %+v", res.Rows)
		}
		up, rows := f.upload(t, f.adminA, f.schoolA.ID, roster.UploadModeUpsert, data, false)
		if up.Failed != 0 || rows[0].Status != roster.UploadRowUpdated || rows[1].Status != roster.UploadRowCreated {
			t.Fatalf("upsert %+v rows %+v", up, rows)
		}
		if v := f.user(t, one); v.FirstName != "Asha" || v.LastName != "" {
			t.Fatalf("updated %+v", v.User)
		}
		if _, err := f.reg.Authenticate(f.ctx, "ravi_new", "secret-ravi"); err != nil {
			t.Fatalf("created user: %v", err)
		}
		// In update mode the same new row fails: there is no such user.
		_, rows = f.upload(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate,
			csvFile(header, []string{"Mira", "", "mira@example.org", "", "mira_new", "secret-mira", "", ""}), false)
		if rows[0].Status != roster.UploadRowFailed || JoinErrors(rows[0].Errors) != "userName: "+MsgNoUser {
			t.Fatalf("update of a new user: %+v", rows[0])
		}
	})
}

// externalIds ADD, EDIT and REMOVE do as they say, and move the lookups.
func TestUpdateExternalIDOperations(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChangeThreshold = 100
		id := f.seedUser(t, f.adminA, f.schoolA.ID, "t_one", "one@example.org",
			teacherID("T-1"), roster.ExternalIdentity{Provider: "TN", IDType: "udise", ExternalID: "U-1"})
		ops := `[{"id":"T-9","idType":"teacher","provider":"TN","operation":"EDIT"},` +
			`{"id":"U-1","idType":"udise","provider":"TN","operation":"REMOVE"},` +
			`{"id":"A-1","idType":"staff","provider":"TN","operation":"ADD"}]`
		data := csvFile([]string{"userName", "externalIds"}, []string{"t_one", ops})
		res := f.dryRun(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, data)
		if got, want := changesText(res.Rows[0].Changes),
			"externalIds: tn/teacher: *-1 -> tn/teacher: *-9; externalIds: tn/udise: *-1 -> ; externalIds:  -> tn/staff: *-1"; got != want {
			t.Fatalf("diff %q, want %q", got, want)
		}
		_, rows := f.upload(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, data, false)
		if rows[0].Status != roster.UploadRowUpdated {
			t.Fatalf("row %+v", rows[0])
		}
		var got []string
		for _, x := range f.user(t, id).ExternalIDs {
			got = append(got, x.IDType+"="+x.ExternalID)
		}
		if strings.Join(got, ",") != "staff=A-1,teacher=T-9" {
			t.Fatalf("external ids %v", got)
		}
		look := func(idType, v string) string {
			uid, _ := f.reg.LookupUserID(f.ctx, registry.LookupQuery{Type: roster.LookupExternalID, Provider: "TN", IDType: idType, Value: v})
			return uid
		}
		if look("teacher", "T-9") != id || look("teacher", "T-1") != "" || look("udise", "U-1") != "" || look("staff", "A-1") != id {
			t.Fatal("lookups not moved")
		}
		// Applying the same operations again changes nothing; ADD of an
		// existing type and EDIT of a missing one fail on the entry.
		_, rows = f.upload(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, data, false)
		if rows[0].Action != roster.RowActionUnchanged || rows[0].Status != roster.UploadRowUpdated {
			t.Fatalf("again %+v", rows[0])
		}
		bad := `[{"id":"T-5","idType":"teacher","provider":"TN","operation":"ADD"},{"id":"X","idType":"none","provider":"TN","operation":"EDIT"}]`
		_, rows = f.upload(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, csvFile([]string{"userName", "externalIds"}, []string{"t_one", bad}), false)
		if want := "externalIds: entry 1: " + registry.MsgExtIDExists + "; externalIds: entry 2: " + registry.MsgExtIDMissing; JoinErrors(rows[0].Errors) != want {
			t.Fatalf("errors %q", JoinErrors(rows[0].Errors))
		}
	})
}

// A user outside the uploader's scope, by userName or external id, is
// answered exactly like a user who does not exist.
func TestUpdateOutOfScopeIsUnknown(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChangeThreshold = 100
		schoolB, err := f.reg.CreateOrg(f.ctx, roster.SystemPrincipal, roster.Organisation{Name: "GHS Mylapore", RootOrgID: f.stateA.ID, ExternalID: "SCH-2"})
		if err != nil {
			t.Fatal(err)
		}
		schoolAdmin := testkitAdmin(t, f, f.schoolA.ID, "head@ghs.in")
		f.seedUser(t, f.adminA, f.schoolA.ID, "mine", "mine@example.org")
		f.seedUser(t, f.adminA, schoolB.ID, "other_school", "os@example.org", teacherID("T-OS"))
		f.seedUser(t, f.adminB, f.stateB.ID, "other_state", "ost@example.org", roster.ExternalIdentity{Provider: "AP", IDType: "teacher", ExternalID: "T-AP"})
		hdr := []string{"userName", "firstName", "externalId", "externalIdType", "externalIdProvider"}
		data := csvFile(hdr,
			[]string{"other_school", "X", "", "", ""},
			[]string{"other_state", "X", "", "", ""},
			[]string{"nobody_here", "X", "", "", ""},
			[]string{"", "X", "T-OS", "teacher", "TN"},
			[]string{"", "X", "T-AP", "teacher", "AP"},
			[]string{"", "X", "T-NONE", "teacher", "TN"},
			[]string{"mine", "Mina", "", "", ""},
		)
		for _, dry := range []bool{true, false} {
			var rows []roster.UploadRow
			if dry {
				rows = f.dryRun(t, schoolAdmin, f.schoolA.ID, roster.UploadModeUpdate, data).Rows
			} else {
				_, rows = f.upload(t, schoolAdmin, f.schoolA.ID, roster.UploadModeUpdate, data, false)
			}
			for i, r := range rows[:6] {
				col := "userName"
				if i >= 3 {
					col = "externalId"
				}
				if r.Status != roster.UploadRowFailed || JoinErrors(r.Errors) != col+": "+MsgNoUser || r.UserID != "" || len(r.Changes) != 0 {
					t.Fatalf("dry=%v row %d: %+v", dry, r.RowNumber, r)
				}
			}
			if rows[6].Status == roster.UploadRowFailed {
				t.Fatalf("own user: %+v", rows[6])
			}
		}
	})
}

func testkitAdmin(t *testing.T, f *fixture, orgID, email string) *roster.Principal {
	t.Helper()
	v, err := f.reg.CreateUser(f.ctx, roster.SystemPrincipal, registry.NewUser{
		User: roster.User{FirstName: "Head", Email: email}, OrgID: orgID, Roles: []string{roster.RoleOrgAdmin}, Password: "admin-pass-1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.reg.Principal(f.ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// An update that changes more than the threshold of the organisation's
// members is refused, saying how many, until confirmed.
func TestUpdateChangeThreshold(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChangeThreshold = 30
		for _, n := range []string{"u_a", "u_b", "u_c", "u_d", "u_e"} {
			f.seedUser(t, f.adminA, f.schoolA.ID, n, n+"@example.org")
		}
		hdr := []string{"userName", "status"}
		one := csvFile(hdr, []string{"u_a", "blocked"})
		two := csvFile(hdr, []string{"u_a", "blocked"}, []string{"u_b", "blocked"})
		// One of five (20 %) is within 30 %.
		if res := f.dryRun(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, one); res.Upload.Threshold == nil || res.Upload.Threshold.Exceeded || res.Upload.Threshold.Changed != 1 {
			t.Fatalf("one row: %+v", res.Upload.Threshold)
		}
		res := f.dryRun(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, two)
		if th := res.Upload.Threshold; th == nil || !th.Exceeded || th.Changed != 2 || th.OrgUsers != 5 || th.Percent != 30 {
			t.Fatalf("two rows: %+v", th)
		}
		_, err := f.svc.SubmitWith(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", two, Options{Mode: roster.UploadModeUpdate})
		wantCode(t, err, roster.EINVALID)
		if msg := roster.ErrorMessage(err) + JoinErrors(err.(*roster.Error).Fields); !strings.Contains(msg, "2 of the organisation's 5 users (40%)") || !strings.Contains(msg, "30%") {
			t.Fatalf("refusal %q", msg)
		}
		if n := f.count(t, `SELECT count(*) FROM upload WHERE NOT dry_run`); n != 0 {
			t.Fatalf("refused upload stored: %d", n)
		}
		up, rows := f.upload(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, two, true)
		if !up.Confirmed || up.Succeeded != 2 || rows[1].Status != roster.UploadRowUpdated {
			t.Fatalf("confirmed %+v %+v", up, rows)
		}
		// Nothing left to change: the same file is now within the threshold.
		if _, err := f.svc.SubmitWith(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", two, Options{Mode: roster.UploadModeUpdate}); err != nil {
			t.Fatalf("unchanged file refused: %v", err)
		}
	})
}

// status blocks and unblocks; roles change through the same policy as
// the membership API, so a school admin cannot grant ORG_ADMIN.
func TestUpdateStatusAndRoles(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChangeThreshold = 100
		schoolAdmin := testkitAdmin(t, f, f.schoolA.ID, "head@ghs.in")
		id := f.seedUser(t, f.adminA, f.schoolA.ID, "t_one", "one@example.org")
		f.seedUser(t, f.adminA, f.schoolA.ID, "t_two", "two@example.org")
		f.seedUser(t, f.adminA, f.schoolA.ID, "t_three", "three@example.org")
		hdr := []string{"userName", "status", "roles"}
		_, rows := f.upload(t, schoolAdmin, f.schoolA.ID, roster.UploadModeUpdate, csvFile(hdr,
			[]string{"t_one", "Blocked", "content creator, BOOK_REVIEWER"},
			[]string{"t_two", "", "ORG_ADMIN"},
			[]string{"t_three", "sleeping", ""},
		), false)
		if rows[0].Status != roster.UploadRowUpdated || changesText(rows[0].Changes) != "status: active -> blocked; roles: COURSE_MENTOR -> CONTENT_CREATOR, BOOK_REVIEWER" {
			t.Fatalf("row 2 %+v", rows[0])
		}
		if rows[1].Status != roster.UploadRowFailed || !strings.Contains(JoinErrors(rows[1].Errors), "roles: only an admin of the whole tenant may grant ORG_ADMIN") {
			t.Fatalf("row 3 %+v", rows[1])
		}
		if !strings.Contains(JoinErrors(rows[2].Errors), "status: "+registry.MsgStatus) {
			t.Fatalf("row 4 %+v", rows[2])
		}
		if _, err := f.reg.Authenticate(f.ctx, "t_one", "old-pass-12"); roster.ErrorCode(err) != roster.EUNAUTHORIZED || !strings.Contains(roster.ErrorMessage(err), "blocked") {
			t.Fatalf("blocked user signs in: %v", err)
		}
		if v := f.user(t, id); strings.Join(v.Memberships[0].Roles, ",") != "CONTENT_CREATOR,BOOK_REVIEWER" {
			t.Fatalf("roles %v", v.Memberships[0].Roles)
		}
		// The tenant admin may grant it; roles cleared become PUBLIC; active unblocks.
		_, rows = f.upload(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, csvFile(hdr,
			[]string{"t_one", "active", "#clear"}, []string{"t_two", "", "ORG_ADMIN"}), false)
		if rows[0].Status != roster.UploadRowUpdated || rows[1].Status != roster.UploadRowUpdated {
			t.Fatalf("tenant admin rows %+v", rows)
		}
		if v := f.user(t, id); strings.Join(v.Memberships[0].Roles, ",") != roster.RolePublic {
			t.Fatalf("cleared roles %v", v.Memberships[0].Roles)
		}
		if _, err := f.reg.Authenticate(f.ctx, "t_one", "old-pass-12"); err != nil {
			t.Fatalf("unblocked user: %v", err)
		}
		// Blocking oneself is refused; a created user cannot start blocked.
		_, rows = f.upload(t, f.adminA, f.stateA.ID, roster.UploadModeUpdate, csvFile(hdr, []string{f.adminA.Username, "blocked", ""}), false)
		if !strings.Contains(JoinErrors(rows[0].Errors), registry.MsgBlockSelf) {
			t.Fatalf("self block %+v", rows[0])
		}
		_, rows = f.upload(t, f.adminA, f.schoolA.ID, roster.UploadModeCreate, csvFile(append(header, "status"),
			[]string{"New", "", "new@example.org", "", "new_user", "secret-new1", "", "", "blocked"}), false)
		if !strings.Contains(JoinErrors(rows[0].Errors), "status: "+registry.MsgStatusNew) {
			t.Fatalf("blocked create %+v", rows[0])
		}
	})
}

// An update file needs a column naming its users, and the clear marker
// cannot clear what identifies or is required.
func TestUpdateFileRules(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChangeThreshold = 100
		_, err := f.svc.DryRunWith(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", csvFile([]string{"firstName"}, []string{"A"}), Options{Mode: roster.UploadModeUpdate})
		wantCode(t, err, roster.EINVALID)
		_, err = f.svc.DryRunWith(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", csvFile([]string{"userName"}, []string{"A"}), Options{Mode: "replace"})
		wantCode(t, err, roster.EINVALID)
		f.seedUser(t, f.adminA, f.schoolA.ID, "t_one", "one@example.org")
		rows := f.dryRun(t, f.adminA, f.schoolA.ID, roster.UploadModeUpdate, csvFile([]string{"userName", "firstName", "email", "DOB"},
			[]string{"t_one", "#clear", "bad@", "31-02-1990"},
			[]string{"", "Asha", "", ""},
		)).Rows
		if got := JoinErrors(rows[0].Errors); got != "firstName: "+registry.MsgNotCleared+"; email: is not a valid email address; DOB: "+registry.MsgDOBReal {
			t.Fatalf("row 2 errors %q", got)
		}
		if got := JoinErrors(rows[1].Errors); got != "userName: "+MsgNoKey {
			t.Fatalf("row 3 errors %q", got)
		}
	})
}

// An update whose worker dies after its first chunk resumes where it
// stopped: the rows already applied keep their outcome, the others are
// applied once, and no row is lost.
func TestUpdateResumesAfterCrash(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		f.svc.ChangeThreshold = 100
		f.svc.ChunkSize = 2
		var rows [][]string
		for i := range 5 {
			name := "t_" + string(rune('a'+i))
			f.seedUser(t, f.adminA, f.schoolA.ID, name, name+"@example.org")
			rows = append(rows, []string{name, "Changed"})
		}
		up, err := f.svc.SubmitWith(f.ctx, f.adminA, OrgRef{ID: f.schoolA.ID}, "u.csv", csvFile([]string{"userName", "lastName"}, rows...),
			Options{Mode: roster.UploadModeUpdate})
		if err != nil {
			t.Fatal(err)
		}
		crash := errors.New("worker killed")
		f.svc.afterChunk = func(string, int) error { return crash }
		if err := f.svc.Process(f.ctx, up.ID); !errors.Is(err, crash) {
			t.Fatalf("first run: %v", err)
		}
		if n := f.count(t, `SELECT count(*) FROM upload_row WHERE upload_id = $1`, up.ID); n != 2 {
			t.Fatalf("%d rows recorded before the crash, want the first chunk's 2", n)
		}
		f.svc.afterChunk = nil
		if err := f.svc.Process(f.ctx, up.ID); err != nil {
			t.Fatal(err)
		}
		got, _ := f.svc.Get(f.ctx, f.adminA, up.ID)
		if got.Status != roster.UploadCompleted || got.Succeeded != 5 || got.Failed != 0 {
			t.Fatalf("resumed %+v", got)
		}
		if n := f.count(t, `SELECT count(*) FROM audit_log WHERE action = 'user.update'`); n != 5 {
			t.Fatalf("%d updates audited, want each of the 5 users once", n)
		}
	})
}
