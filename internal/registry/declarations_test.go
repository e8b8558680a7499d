package registry_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// declWorld adds, to the fixture, a second school of state A with its
// admin, a school of state B, a school admin of school A and a way to make
// self-signed-up teachers (custodian members, no tenant bit).
type declWorld struct {
	*fixture
	school2, schoolB        *roster.Organisation
	schoolAdmin, otherAdmin *roster.Principal
	n                       int
}

func newDeclWorld(t *testing.T, db store.Engine) *declWorld {
	t.Helper()
	w := &declWorld{fixture: newFixture(t, db)}
	var err error
	if w.school2, err = w.reg.CreateOrg(w.ctx, roster.SystemPrincipal, roster.Organisation{Name: "GHS Mylapore", RootOrgID: w.stateA.ID, ExternalID: "SCH-2"}); err != nil {
		t.Fatal(err)
	}
	if w.schoolB, err = w.reg.CreateOrg(w.ctx, roster.SystemPrincipal, roster.Organisation{Name: "ZP School Guntur", RootOrgID: w.stateB.ID, ExternalID: "SCH-1"}); err != nil {
		t.Fatal(err)
	}
	w.schoolAdmin = w.principal(t, w.mustCreate(t, roster.SystemPrincipal, w.schoolA.ID, "head@adyar.example", "", roster.RoleOrgAdmin).ID)
	w.otherAdmin = w.principal(t, w.mustCreate(t, roster.SystemPrincipal, w.school2.ID, "head@mylapore.example", "", roster.RoleOrgAdmin).ID)
	return w
}

// teacher is a self-signed-up user: created in the custodian org.
func (w *declWorld) teacher(t *testing.T) *roster.Principal {
	t.Helper()
	w.n++
	v := w.mustCreate(t, roster.SystemPrincipal, "", "teacher"+strings.Repeat("x", w.n)+"@example.org", "")
	if v.FlagsValue&roster.FlagTenantVerified != 0 {
		t.Fatal("a custodian user has the tenant bit")
	}
	return w.principal(t, v.ID)
}

func (w *declWorld) declare(t *testing.T, p *roster.Principal, school *roster.Organisation, teacherID string) *registry.DeclarationView {
	t.Helper()
	d, err := w.reg.Declare(w.ctx, p, registry.DeclarationInput{StateID: school.RootOrgID, SchoolID: school.ID, TeacherID: teacherID})
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	return d
}

func fields(err error) []string {
	var out []string
	if e, ok := err.(*roster.Error); ok {
		for _, f := range e.Fields {
			out = append(out, f.Field+": "+f.Message)
		}
	}
	return out
}

func TestApprovalMovesTeacherIntoState(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		teacher := w.teacher(t)
		d := w.declare(t, teacher, w.schoolA, " TN-T-0042 ")
		if d.Status != roster.DeclarationPending || d.TeacherID != "TN-T-0042" || d.SchoolName != "GHS Adyar" || d.StateName != "Tamil Nadu" {
			t.Fatalf("declared %+v", d)
		}
		// While pending, the user is still a custodian user without a grant
		// in the school, and the school's admin does not manage them.
		if p := w.principal(t, teacher.UserID); slices.ContainsFunc(p.Grants, func(g roster.Grant) bool { return g.OrgID == w.schoolA.ID }) {
			t.Fatal("pending declaration gave a grant in the school")
		}
		if users, _ := w.reg.ListUsers(w.ctx, w.schoolAdmin, w.schoolA.ID, "", 100); slices.ContainsFunc(users, func(u registry.UserView) bool { return u.ID == teacher.UserID }) {
			t.Fatal("a pending teacher is listed as a school member")
		}

		queue, err := w.reg.Declarations(w.ctx, w.schoolAdmin, w.schoolA.ID, "pending", "", 0)
		if err != nil || len(queue) != 1 || queue[0].ID != d.ID || queue[0].TeacherID != "TN-T-0042" {
			t.Fatalf("school queue: %+v %v", queue, err)
		}
		got, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, d.ID, registry.Decision{Approve: true})
		if err != nil || got.Status != roster.DeclarationApproved || got.DecidedBy != w.schoolAdmin.UserID || got.DecidedDate == nil {
			t.Fatalf("approve: %+v %v", got, err)
		}

		v, err := w.reg.GetUser(w.ctx, w.adminA, teacher.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if v.RootOrgID != w.stateA.ID || v.Channel != "TN" || v.FlagsValue&roster.FlagTenantVerified == 0 {
			t.Errorf("user after approval: root %s channel %q flags %d", v.RootOrgID, v.Channel, v.FlagsValue)
		}
		var school *roster.Membership
		for i, m := range v.Memberships {
			if m.OrganisationID == w.schoolA.ID {
				school = &v.Memberships[i]
			} else if !m.IsDeleted {
				t.Errorf("still a member of %s", m.OrganisationID)
			}
		}
		if school == nil || school.AssociationType != roster.AssociationSelfDeclared || !school.IsApproved || school.IsRejected || school.ApprovalDate == nil {
			t.Fatalf("school membership %+v", school)
		}
		if len(v.ExternalIDs) != 1 || v.ExternalIDs[0].Provider != "tn" || v.ExternalIDs[0].IDType != roster.IDTypeDeclaredTeacher || v.ExternalIDs[0].ExternalID != "TN-T-0042" {
			t.Errorf("external ids %+v", v.ExternalIDs)
		}
		found, err := w.reg.FindUser(w.ctx, w.adminA, registry.LookupQuery{Type: roster.LookupExternalID, Provider: "tn", IDType: roster.IDTypeDeclaredTeacher, Value: "TN-T-0042"})
		if err != nil || found.ID != teacher.UserID {
			t.Errorf("lookup by teacher id: %v", err)
		}
		// Now a school member, managed by the school's admin.
		if users, _ := w.reg.ListUsers(w.ctx, w.schoolAdmin, w.schoolA.ID, "", 100); !slices.ContainsFunc(users, func(u registry.UserView) bool { return u.ID == teacher.UserID }) {
			t.Error("approved teacher not listed in the school")
		}
		if _, err := w.reg.Declare(w.ctx, w.principal(t, teacher.UserID), registry.DeclarationInput{StateID: w.stateA.ID, SchoolID: w.school2.ID, TeacherID: "X"}); code(err) != roster.EFORBIDDEN {
			t.Errorf("a state's teacher declared again: %v", err)
		}
		audit := auditActions(t, w, d.ID)
		if !slices.Contains(audit, "declaration.submit ok") || !slices.Contains(audit, "declaration.approve ok") {
			t.Errorf("audit %v", audit)
		}
	})
}

func auditActions(t *testing.T, w *declWorld, objectID string) []string {
	t.Helper()
	rows, err := w.db.Query(w.ctx, `SELECT action, outcome, actor_id, detail FROM audit_log WHERE object_id = $1 ORDER BY at`, objectID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, o, actor, detail string
		if err := rows.Scan(&a, &o, &actor, &detail); err != nil {
			t.Fatal(err)
		}
		if actor == "" || strings.Contains(detail, "TN-T") || strings.Contains(detail, "fake") {
			t.Errorf("audit row %s %s by %q detail %q", a, o, actor, detail)
		}
		out = append(out, a+" "+o)
	}
	return out
}

func TestDeclarationReviewerScope(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		d := w.declare(t, w.teacher(t), w.schoolA, "T-1")
		approve := registry.Decision{Approve: true}
		if _, err := w.reg.DecideDeclaration(w.ctx, w.otherAdmin, d.ID, approve); code(err) != roster.EFORBIDDEN {
			t.Errorf("admin of another school: %v, want forbidden", err)
		}
		if _, err := w.reg.DecideDeclaration(w.ctx, w.adminB, d.ID, approve); code(err) != roster.ENOTFOUND {
			t.Errorf("admin of another state: %v, want not found", err)
		}
		if _, err := w.reg.Declarations(w.ctx, w.adminB, w.schoolA.ID, "pending", "", 0); code(err) != roster.ENOTFOUND {
			t.Errorf("other state's admin listing: %v, want not found", err)
		}
		if _, err := w.reg.Declarations(w.ctx, w.otherAdmin, w.schoolA.ID, "pending", "", 0); code(err) != roster.EFORBIDDEN {
			t.Errorf("other school's admin listing: %v, want forbidden", err)
		}
		if q, err := w.reg.Declarations(w.ctx, w.otherAdmin, w.school2.ID, "pending", "", 0); err != nil || len(q) != 0 {
			t.Errorf("other school's own queue holds %d, %v", len(q), err)
		}
		if _, err := w.reg.Declarations(w.ctx, w.schoolAdmin, w.stateA.ID, "pending", "", 0); code(err) != roster.EFORBIDDEN {
			t.Errorf("school admin listing the whole state: %v", err)
		}
		if q, err := w.reg.Declarations(w.ctx, w.adminA, w.stateA.ID, "pending", "", 0); err != nil || len(q) != 1 {
			t.Errorf("tenant admin's queue: %d %v", len(q), err)
		}
		if _, err := w.reg.DecideDeclaration(w.ctx, w.principal(t, d.UserID), d.ID, approve); code(err) != roster.ENOTFOUND {
			t.Errorf("the declarer approving themself: %v", err)
		}
		if _, err := w.reg.DecideDeclaration(w.ctx, w.adminA, d.ID, approve); err != nil {
			t.Fatal(err)
		}
		_, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, d.ID, approve)
		if code(err) != roster.ECONFLICT || !strings.Contains(roster.ErrorMessage(err), "already approved") {
			t.Errorf("double approval: %v", err)
		}
		if _, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, d.ID, registry.Decision{Reason: "no"}); code(err) != roster.ECONFLICT {
			t.Errorf("rejecting an approved declaration: %v", err)
		}
		audit := auditActions(t, w, d.ID)
		if !slices.Contains(audit, "declaration.approve refused") {
			t.Error("a refused double approval is not audited")
		}
		if !slices.Contains(audit, "declaration.approve denied") {
			t.Error("an approval by another school's admin is not audited")
		}
	})
}

func TestRejectionTellsTheUserWhy(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		teacher := w.teacher(t)
		d := w.declare(t, teacher, w.schoolA, "T-2")
		if _, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, d.ID, registry.Decision{}); code(err) != roster.EINVALID {
			t.Errorf("reject without reason: %v", err)
		}
		if _, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, d.ID, registry.Decision{Reason: strings.Repeat("r", registry.MaxReasonLength+1)}); code(err) != roster.EINVALID {
			t.Errorf("overlong reason: %v", err)
		}
		if _, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, d.ID, registry.Decision{Reason: "bad\x00"}); code(err) != roster.EINVALID {
			t.Errorf("control characters in reason: %v", err)
		}
		reason := "No teacher with this id works at GHS Adyar.\nPlease check your id."
		if _, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, d.ID, registry.Decision{Reason: reason}); err != nil {
			t.Fatal(err)
		}
		mine, err := w.reg.MyDeclaration(w.ctx, teacher)
		if err != nil || mine.Status != roster.DeclarationRejected || mine.Reason != reason {
			t.Fatalf("teacher sees %+v %v", mine, err)
		}
		v, err := w.reg.GetUser(w.ctx, teacher, teacher.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if v.FlagsValue&roster.FlagTenantVerified != 0 || v.RootOrgID == w.stateA.ID || len(v.ExternalIDs) != 0 {
			t.Errorf("rejected user moved: %+v", v.User)
		}
		if !slices.ContainsFunc(v.Memberships, func(m roster.Membership) bool {
			return m.OrganisationID == w.schoolA.ID && m.IsRejected && !m.IsApproved
		}) {
			t.Errorf("memberships %+v", v.Memberships)
		}
		// A rejected teacher may declare again; once approved elsewhere,
		// the school that rejected them no longer holds them, so the new
		// school's admin manages them.
		again := w.declare(t, teacher, w.school2, "T-2b")
		if again.Status != roster.DeclarationPending {
			t.Fatal(again.Status)
		}
		if _, err := w.reg.DecideDeclaration(w.ctx, w.otherAdmin, again.ID, registry.Decision{Approve: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.reg.FindUser(w.ctx, w.otherAdmin, registry.LookupQuery{Type: roster.LookupExternalID, Provider: "tn",
			IDType: roster.IDTypeDeclaredTeacher, Value: "T-2b"}); err != nil {
			t.Errorf("the approving school's admin cannot manage the teacher: %v", err)
		}
		if !slices.Contains(auditActions(t, w, d.ID), "declaration.reject ok") {
			t.Error("rejection not audited")
		}
	})
}

func TestDeclarationRules(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		teacher := w.teacher(t)
		for _, c := range []struct {
			name string
			in   registry.DeclarationInput
			want string
		}{
			{"school of another state", registry.DeclarationInput{StateID: w.stateA.ID, SchoolID: w.schoolB.ID, TeacherID: "T"}, "schoolId: " + registry.MsgSchoolNotInState},
			{"the state itself as school", registry.DeclarationInput{StateID: w.stateA.ID, SchoolID: w.stateA.ID, TeacherID: "T"}, "schoolId: " + registry.MsgNotASchool},
			{"a school as state", registry.DeclarationInput{StateID: w.schoolA.ID, SchoolID: w.schoolA.ID, TeacherID: "T"}, "stateId: " + registry.MsgNotAState},
			{"unknown state", registry.DeclarationInput{StateID: "nope", SchoolID: w.schoolA.ID, TeacherID: "T"}, "stateId: " + registry.MsgNotAState},
			{"no school", registry.DeclarationInput{StateID: w.stateA.ID, TeacherID: "T"}, "schoolId: " + registry.MsgSchoolOrID},
			{"external id of another state's school", registry.DeclarationInput{StateID: w.stateB.ID, SchoolExternalID: "SCH-2", TeacherID: "T"}, "schoolExternalId: " + registry.MsgSchoolExtIDNotFound},
			{"no teacher id", registry.DeclarationInput{StateID: w.stateA.ID, SchoolID: w.schoolA.ID, TeacherID: "  "}, "teacherId: " + registry.MsgRequired},
			{"long teacher id", registry.DeclarationInput{StateID: w.stateA.ID, SchoolID: w.schoolA.ID, TeacherID: strings.Repeat("1", registry.MaxTeacherIDLength+1)}, "teacherId: " + registry.MsgTooLong(registry.MaxTeacherIDLength)},
			{"control characters", registry.DeclarationInput{StateID: w.stateA.ID, SchoolID: w.schoolA.ID, TeacherID: "T\t1"}, "teacherId: " + registry.MsgControl},
			{"overlong school id", registry.DeclarationInput{StateID: w.stateA.ID, SchoolID: strings.Repeat("s", 65), TeacherID: "T"}, "schoolId: " + registry.MsgTooLong(64)},
		} {
			_, err := w.reg.Declare(w.ctx, teacher, c.in)
			if got := fields(err); code(err) != roster.EINVALID || !slices.Contains(got, c.want) {
				t.Errorf("%s: %v %v, want %q", c.name, err, got, c.want)
			}
		}
		// By external id, within the declared state: SCH-1 exists in both.
		d, err := w.reg.Declare(w.ctx, teacher, registry.DeclarationInput{StateID: w.stateB.ID, SchoolExternalID: "sch-1", TeacherID: "AP-9"})
		if err != nil || d.OrgID != w.schoolB.ID {
			t.Fatalf("by external id: %+v %v", d, err)
		}
		// A state's own user may not declare.
		if _, err := w.reg.Declare(w.ctx, w.schoolAdmin, registry.DeclarationInput{StateID: w.stateA.ID, SchoolID: w.schoolA.ID, TeacherID: "T"}); code(err) != roster.EFORBIDDEN {
			t.Errorf("state user declared: %v", err)
		}
	})
}

func TestOnePendingDeclarationReplacedOrWithdrawn(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		teacher := w.teacher(t)
		first := w.declare(t, teacher, w.schoolA, "T-3")
		second := w.declare(t, teacher, w.school2, "T-3")
		if _, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, first.ID, registry.Decision{Approve: true}); code(err) != roster.ECONFLICT {
			t.Errorf("approving a replaced declaration: %v", err)
		}
		if q, _ := w.reg.Declarations(w.ctx, w.schoolAdmin, w.schoolA.ID, "pending", "", 0); len(q) != 0 {
			t.Errorf("replaced declaration still queued: %d", len(q))
		}
		if q, _ := w.reg.Declarations(w.ctx, w.adminA, w.stateA.ID, "withdrawn", "", 0); len(q) != 1 || q[0].ID != first.ID {
			t.Errorf("withdrawn list %+v", q)
		}
		mine, err := w.reg.MyDeclaration(w.ctx, teacher)
		if err != nil || mine.ID != second.ID {
			t.Fatalf("mine %+v %v", mine, err)
		}
		if err := w.reg.WithdrawDeclaration(w.ctx, teacher); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(auditActions(t, w, second.ID), "declaration.withdraw ok") || !slices.Contains(auditActions(t, w, first.ID), "declaration.withdraw ok") {
			t.Error("withdrawals are not audited")
		}
		if err := w.reg.WithdrawDeclaration(w.ctx, teacher); code(err) != roster.ENOTFOUND {
			t.Errorf("withdrawing twice: %v", err)
		}
		v, _ := w.reg.GetUser(w.ctx, teacher, teacher.UserID)
		for _, m := range v.Memberships {
			if m.OrganisationID != v.RootOrgID && !m.IsDeleted {
				t.Errorf("withdrawn membership left: %+v", m)
			}
		}
		// The database itself holds one pending declaration per user.
		rec := &store.DeclarationRecord{Declaration: roster.Declaration{ID: roster.NewID(), UserID: teacher.UserID,
			TenantID: w.stateA.ID, OrgID: w.schoolA.ID, Status: roster.DeclarationPending, CreatedDate: roster.Now()}, TeacherIDEnc: []byte("x")}
		if err := store.InsertDeclaration(w.ctx, db, rec); err != nil {
			t.Fatal(err)
		}
		rec.ID = roster.NewID()
		if err := store.InsertDeclaration(w.ctx, db, rec); err == nil {
			t.Error("a second pending declaration was stored")
		}
	})
}

func TestBulkDecisionsCollectOutcomes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		ok1 := w.declare(t, w.teacher(t), w.schoolA, "B-1")
		ok2 := w.declare(t, w.teacher(t), w.schoolA, "B-2")
		dup := w.declare(t, w.teacher(t), w.schoolA, "B-1") // teacher id taken once ok1 is approved
		other := w.declare(t, w.teacher(t), w.school2, "B-4")
		decided := w.declare(t, w.teacher(t), w.schoolA, "B-5")
		if _, err := w.reg.DecideDeclaration(w.ctx, w.adminA, decided.ID, registry.Decision{Reason: "no"}); err != nil {
			t.Fatal(err)
		}
		ids := []string{ok1.ID, "no-such-id", dup.ID, other.ID, decided.ID, ok2.ID}
		out, err := w.reg.DecideDeclarations(w.ctx, w.schoolAdmin, w.schoolA.ID, ids, registry.Decision{Approve: true})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, o := range out {
			if o.Error != nil {
				got[o.ID] = o.Error.Code
			} else {
				got[o.ID] = o.Status
			}
		}
		want := map[string]string{ok1.ID: "approved", "no-such-id": roster.ENOTFOUND, dup.ID: roster.ECONFLICT,
			other.ID: roster.ENOTFOUND, decided.ID: roster.ECONFLICT, ok2.ID: "approved"}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s: %s, want %s", id, got[id], w)
			}
		}
		for _, o := range out {
			if o.ID == dup.ID && !slices.Contains(fields(o.Error), "teacherId: "+registry.MsgTeacherIDTaken) {
				t.Errorf("taken teacher id: %+v", o.Error)
			}
		}
		// The conflicting item rolled back whole: its user is still pending.
		if q, _ := w.reg.Declarations(w.ctx, w.schoolAdmin, w.schoolA.ID, "pending", "", 0); len(q) != 1 || q[0].ID != dup.ID {
			t.Errorf("pending after bulk: %+v", q)
		}
		if _, err := w.reg.DecideDeclarations(w.ctx, w.otherAdmin, w.schoolA.ID, []string{dup.ID}, registry.Decision{Approve: true}); code(err) != roster.EFORBIDDEN {
			t.Errorf("bulk by another school's admin: %v", err)
		}
		if _, err := w.reg.DecideDeclarations(w.ctx, w.adminB, w.schoolA.ID, []string{dup.ID}, registry.Decision{Approve: true}); code(err) != roster.ENOTFOUND {
			t.Errorf("bulk by another state's admin: %v", err)
		}
		many := make([]string, registry.MaxBulkDecisions+1)
		if _, err := w.reg.DecideDeclarations(w.ctx, w.schoolAdmin, w.schoolA.ID, many, registry.Decision{Approve: true}); code(err) != roster.EINVALID {
			t.Errorf("too many ids: %v", err)
		}
		// The tenant admin decides the other school's through the state.
		out, err = w.reg.DecideDeclarations(w.ctx, w.adminA, w.stateA.ID, []string{other.ID}, registry.Decision{Reason: "unknown"})
		if err != nil || len(out) != 1 || out[0].Status != roster.DeclarationRejected {
			t.Errorf("tenant bulk: %+v %v", out, err)
		}
	})
}

func TestStateSchoolsPagedAndSearched(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		for _, n := range []string{"Model School 1", "Model School 2", "Model_School 3", "100% School"} {
			if _, err := w.reg.CreateOrg(w.ctx, roster.SystemPrincipal, roster.Organisation{Name: n, RootOrgID: w.stateA.ID}); err != nil {
				t.Fatal(err)
			}
		}
		teacher := w.teacher(t)
		names := func(os []roster.Organisation) (out []string) {
			for _, o := range os {
				out = append(out, o.Name)
			}
			return out
		}
		page1, err := w.reg.StateSchools(w.ctx, teacher, w.stateA.ID, "", "", 3)
		if err != nil {
			t.Fatal(err)
		}
		page2, err := w.reg.StateSchools(w.ctx, teacher, w.stateA.ID, "", page1[2].ID, 3)
		if err != nil {
			t.Fatal(err)
		}
		all := append(names(page1), names(page2)...)
		if want := []string{"100% School", "GHS Adyar", "GHS Mylapore", "Model School 1", "Model School 2", "Model_School 3"}; !slices.Equal(all, want) {
			t.Errorf("pages %v, want %v", all, want)
		}
		if got, _ := w.reg.StateSchools(w.ctx, teacher, w.stateA.ID, "model_", "", 0); !slices.Equal(names(got), []string{"Model_School 3"}) {
			t.Errorf("search with _: %v", names(got))
		}
		if got, _ := w.reg.StateSchools(w.ctx, teacher, w.stateA.ID, "0%", "", 0); !slices.Equal(names(got), []string{"100% School"}) {
			t.Errorf("search with %%: %v", names(got))
		}
		if got, _ := w.reg.StateSchools(w.ctx, teacher, w.stateA.ID, "ADYAR", "", 0); !slices.Equal(names(got), []string{"GHS Adyar"}) {
			t.Errorf("search ignoring case: %v", names(got))
		}
		if _, err := w.reg.StateSchools(w.ctx, teacher, w.schoolA.ID, "", "", 0); code(err) != roster.ENOTFOUND {
			t.Errorf("a school as state: %v", err)
		}
		if _, err := w.reg.StateSchools(w.ctx, teacher, w.stateA.ID, "", w.schoolB.ID, 0); code(err) != roster.EINVALID {
			t.Errorf("cursor of another state: %v", err)
		}
		if _, err := w.reg.StateSchools(w.ctx, teacher, w.stateA.ID, strings.Repeat("q", 101), "", 0); code(err) != roster.EINVALID {
			t.Errorf("overlong query: %v", err)
		}
		if _, err := w.reg.StateSchools(w.ctx, nil, w.stateA.ID, "", "", 0); code(err) != roster.EUNAUTHORIZED {
			t.Errorf("anonymous: %v", err)
		}
		states, err := w.reg.States(w.ctx, teacher)
		if err != nil || !slices.Equal(names(states), []string{"Andhra Pradesh", "Tamil Nadu"}) {
			t.Errorf("states %v %v", names(states), err)
		}
	})
}
