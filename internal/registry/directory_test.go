package registry_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

// directoryWorld is tenant A with two schools and a handful of named
// users, and a user of tenant B whose name matches A's searches.
type directoryWorld struct {
	*fixture
	school2                               *roster.Organisation
	asha, ashok, meena, ravi, gone, ashaB *registry.UserView
	schoolAdmin                           *roster.Principal
	emails                                []string // every contact value given, to look for in the audit log
}

func newDirectoryWorld(t *testing.T, db store.Engine) *directoryWorld {
	t.Helper()
	w := &directoryWorld{fixture: newFixture(t, db)}
	var err error
	if w.school2, err = w.reg.CreateOrg(w.ctx, roster.SystemPrincipal, roster.Organisation{Name: "GHS Mylapore", RootOrgID: w.stateA.ID}); err != nil {
		t.Fatal(err)
	}
	person := func(p *roster.Principal, org, first, last, email string, assoc int, roles ...string) *registry.UserView {
		v, err := w.reg.CreateUser(w.ctx, p, registry.NewUser{
			User:  roster.User{FirstName: first, LastName: last, Email: email},
			OrgID: org, Roles: roles, AssociationType: assoc,
		})
		if err != nil {
			t.Fatalf("create %s: %v", first, err)
		}
		w.emails = append(w.emails, email)
		return v
	}
	w.asha = person(w.adminA, w.schoolA.ID, "Asha", "Devi", "asha.devi@example.org", 0)
	w.ashok = person(w.adminA, w.school2.ID, "Ashok", "Kumar", "ashok.k@example.org", 0)
	w.meena = person(w.adminA, w.schoolA.ID, "Meena", "Ashworth", "meena.a@example.org", roster.AssociationSSO, roster.RoleContentCreator)
	w.ravi = person(w.adminA, w.schoolA.ID, "Ravi", "Shankar", "ravi.s@example.org", 0)
	w.gone = person(w.adminA, w.schoolA.ID, "Gopal", "Rao", "gopal.r@example.org", 0)
	w.ashaB = person(w.adminB, w.stateB.ID, "Asha", "Bhat", "asha.bhat@example.org", 0)
	head := person(w.adminA, w.schoolA.ID, "Head", "Master", "head@ghs.example.org", 0, roster.RoleOrgAdmin)
	w.schoolAdmin = w.principal(t, head.ID)
	if err := w.reg.BlockUser(w.ctx, w.adminA, w.ravi.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.reg.DeleteUser(w.ctx, w.adminA, w.gone.ID); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *directoryWorld) list(t *testing.T, p *roster.Principal, org string, f registry.DirectoryFilter) []string {
	t.Helper()
	page, err := w.reg.Directory(w.ctx, p, org, f)
	if err != nil {
		t.Fatalf("directory %+v: %v", f, err)
	}
	if page.Next != "" {
		t.Fatalf("directory %+v: a next page for a short list", f)
	}
	return names(page.Users)
}

func names(us []registry.UserView) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.FirstName+" "+u.LastName)
	}
	slices.Sort(out)
	return out
}

func TestDirectoryPagesWithACursorAndNoNextOnTheLastPage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDirectoryWorld(t, db)
		// Tenant A's users but the deleted one: the admin, Asha, Ashok,
		// Meena, Ravi (blocked) and the head master.
		const want = 6
		for _, limit := range []int{1, 2, 4, want} {
			var seen []string
			cursor, pages := "", 0
			for {
				page, err := w.reg.Directory(w.ctx, w.adminA, w.stateA.ID, registry.DirectoryFilter{Limit: limit, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page.Users) > limit {
					t.Fatalf("limit %d: page of %d", limit, len(page.Users))
				}
				for _, u := range page.Users {
					seen = append(seen, u.ID)
				}
				if page.Next == "" {
					break
				}
				if len(page.Users) != limit {
					t.Fatalf("limit %d: a short page with a next cursor", limit)
				}
				cursor = page.Next
			}
			if len(seen) != want || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != want {
				t.Errorf("limit %d: saw %d users (%d distinct), want %d", limit, len(seen), len(slices.Compact(slices.Sorted(slices.Values(seen)))), want)
			}
			if wantPages := (want + limit - 1) / limit; pages != wantPages {
				t.Errorf("limit %d: %d pages, want %d (no next on a last, full page)", limit, pages, wantPages)
			}
		}
		for _, bad := range []string{"not-a-cursor!", "YTox", strings.Repeat("A", 200)} {
			_, err := w.reg.Directory(w.ctx, w.adminA, w.stateA.ID, registry.DirectoryFilter{Cursor: bad})
			if !hasField(err, registry.FieldCursor) {
				t.Errorf("cursor %q: %v, want a cursor field error", bad, err)
			}
		}
		if _, err := w.reg.Directory(w.ctx, w.adminA, w.stateA.ID, registry.DirectoryFilter{Limit: 201}); !hasField(err, registry.FieldLimit) {
			t.Errorf("limit 201: %v", err)
		}
	})
}

func hasField(err error, field string) bool {
	var re *roster.Error
	if !errors.As(err, &re) || re.Code != roster.EINVALID {
		return false
	}
	for _, f := range re.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

func TestDirectorySearchesNamesByPrefixCaseInsensitively(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDirectoryWorld(t, db)
		for q, want := range map[string][]string{
			"ash":      {"Asha Devi", "Ashok Kumar", "Meena Ashworth"}, // last names too; never tenant B's Asha
			"ASHA":     {"Asha Devi"},
			"asha dev": {"Asha Devi"},
			"devi ash": {"Asha Devi"},
			"shankar":  {"Ravi Shankar"},
			"nkar":     nil, // a prefix, not a substring
			"%":        nil, // LIKE's wildcards are taken literally
			"a_":       nil,
			"gopal":    nil, // deleted
		} {
			if got := w.list(t, w.adminA, w.stateA.ID, registry.DirectoryFilter{Query: q}); !slices.Equal(got, want) {
				t.Errorf("q=%q: %v, want %v", q, got, want)
			}
		}
		for _, bad := range []string{strings.Repeat("a", 65), "a b c d e", "as\x00ha"} {
			if _, err := w.reg.Directory(w.ctx, w.adminA, w.stateA.ID, registry.DirectoryFilter{Query: bad}); !hasField(err, registry.FieldQuery) {
				t.Errorf("q=%q: %v, want a q field error", bad, err)
			}
		}
	})
}

func TestDirectoryFilters(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDirectoryWorld(t, db)
		for _, c := range []struct {
			f    registry.DirectoryFilter
			want []string
		}{
			{registry.DirectoryFilter{Role: roster.RoleContentCreator}, []string{"Meena Ashworth"}},
			{registry.DirectoryFilter{Role: roster.RoleOrgAdmin}, []string{"Admin ", "Head Master"}},
			{registry.DirectoryFilter{Status: "blocked"}, []string{"Ravi Shankar"}},
			{registry.DirectoryFilter{Status: "deleted"}, []string{"Gopal Rao"}},
			{registry.DirectoryFilter{Status: "active", Query: "ash"}, []string{"Asha Devi", "Ashok Kumar", "Meena Ashworth"}},
			{registry.DirectoryFilter{School: w.school2.ID}, []string{"Ashok Kumar"}},
			{registry.DirectoryFilter{School: w.schoolA.ID, Role: roster.RoleOrgAdmin}, []string{"Head Master"}},
			{registry.DirectoryFilter{Association: "sso"}, []string{"Meena Ashworth"}},
			// Admin-created users count as system upload (4) unless configured otherwise.
			{registry.DirectoryFilter{Association: "system-upload"}, []string{"Admin ", "Asha Devi", "Ashok Kumar", "Head Master", "Ravi Shankar"}},
		} {
			if got := w.list(t, w.adminA, w.stateA.ID, c.f); !slices.Equal(got, c.want) {
				t.Errorf("%+v: %v, want %v", c.f, got, c.want)
			}
		}
		for field, f := range map[string]registry.DirectoryFilter{
			registry.FieldRole:        {Role: "KING"},
			registry.FieldStatus:      {Status: "gone"},
			registry.FieldAssociation: {Association: "4"},
			registry.FieldSchool:      {School: w.stateB.ID}, // another tenant's organisation reads as unknown
		} {
			if _, err := w.reg.Directory(w.ctx, w.adminA, w.stateA.ID, f); !hasField(err, field) {
				t.Errorf("%+v: %v, want a %s field error", f, err, field)
			}
		}
		// A school's directory is its members; it can only be narrowed to itself.
		if got := w.list(t, w.adminA, w.schoolA.ID, registry.DirectoryFilter{}); !slices.Equal(got, []string{"Asha Devi", "Head Master", "Meena Ashworth", "Ravi Shankar"}) {
			t.Errorf("school 1: %v", got)
		}
		if _, err := w.reg.Directory(w.ctx, w.adminA, w.schoolA.ID, registry.DirectoryFilter{School: w.school2.ID}); !hasField(err, registry.FieldSchool) {
			t.Errorf("school 1 filtered by school 2: %v", err)
		}
	})
}

func TestDirectoryScope(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDirectoryWorld(t, db)
		if got := w.list(t, w.schoolAdmin, w.schoolA.ID, registry.DirectoryFilter{Query: "ash"}); !slices.Equal(got, []string{"Asha Devi", "Meena Ashworth"}) {
			t.Errorf("school admin, own school: %v", got)
		}
		for _, c := range []struct {
			p    *roster.Principal
			org  string
			want string
		}{
			{w.schoolAdmin, w.stateA.ID, roster.EFORBIDDEN},  // the tenant is wider than their school
			{w.schoolAdmin, w.school2.ID, roster.EFORBIDDEN}, // a school they do not run
			{w.principal(t, w.asha.ID), w.schoolA.ID, roster.EFORBIDDEN},
			{w.adminB, w.stateA.ID, roster.ENOTFOUND},
			{w.adminB, w.schoolA.ID, roster.ENOTFOUND},
			{w.adminA, w.stateB.ID, roster.ENOTFOUND},
		} {
			_, err := w.reg.Directory(w.ctx, c.p, c.org, registry.DirectoryFilter{})
			if code(err) != c.want {
				t.Errorf("%s lists %s: %v, want %s", c.p.UserID, c.org, err, c.want)
			}
			var buf bytes.Buffer
			if err := w.reg.ExportDirectory(w.ctx, c.p, c.org, registry.DirectoryFilter{}, false, &buf); code(err) != c.want {
				t.Errorf("%s exports %s: %v, want %s", c.p.UserID, c.org, err, c.want)
			}
		}
	})
}

func TestDirectoryExportMaskedUnlessFullAndAudited(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDirectoryWorld(t, db)
		export := func(p *roster.Principal, org string, full bool) string {
			t.Helper()
			var buf bytes.Buffer
			if err := w.reg.ExportDirectory(w.ctx, p, org, registry.DirectoryFilter{Query: "ash"}, full, &buf); err != nil {
				t.Fatal(err)
			}
			return buf.String()
		}
		masked := export(w.adminA, w.stateA.ID, false)
		if !strings.HasPrefix(masked, "\xEF\xBB\xBFuserId,userName,firstName") || strings.Count(masked, "\r\n") != 4 {
			t.Errorf("masked export: header and three rows wanted:\n%s", masked)
		}
		if strings.Contains(masked, "asha.devi@example.org") || !strings.Contains(masked, w.asha.MaskedEmail) {
			t.Errorf("masked export shows a clear email or no mask:\n%s", masked)
		}
		full := export(w.adminA, w.stateA.ID, true)
		for _, e := range []string{"asha.devi@example.org", "ashok.k@example.org", "meena.a@example.org"} {
			if !strings.Contains(full, e) {
				t.Errorf("full export lacks %s:\n%s", e, full)
			}
		}
		if strings.Contains(full, "asha.bhat") {
			t.Errorf("full export holds tenant B's user")
		}
		// A school admin's full export of their school opens the users
		// they manage.
		if got := export(w.schoolAdmin, w.schoolA.ID, true); !strings.Contains(got, "asha.devi@example.org") || strings.Contains(got, "ashok") {
			t.Errorf("school admin's full export:\n%s", got)
		}
		page, err := w.reg.AuditLog(w.ctx, w.adminA, registry.AuditFilter{Action: "user.export"})
		if err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, e := range page.Entries {
			details = append(details, e.ActorID+" "+e.Detail)
		}
		wantFull := w.adminA.UserID + " contacts=full rows=3 decrypted=3 filters=q"
		if len(details) != 3 || !slices.Contains(details, wantFull) || !slices.Contains(details, w.adminA.UserID+" contacts=masked rows=3 decrypted=0 filters=q") {
			t.Errorf("export audit rows %q, want masked, full (%q) and the school admin's", details, wantFull)
		}
	})
}

func TestAuditLogIsTenantScopedFilteredAndPaged(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDirectoryWorld(t, db)
		all := func(p *roster.Principal, f registry.AuditFilter) []store.AuditEntry {
			t.Helper()
			var out []store.AuditEntry
			for {
				page, err := w.reg.AuditLog(w.ctx, p, f)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, page.Entries...)
				if page.Next == "" {
					return out
				}
				if len(page.Entries) != f.Limit {
					t.Fatalf("a short page with a next cursor")
				}
				f.Cursor = page.Next
			}
		}
		log := all(w.adminA, registry.AuditFilter{Limit: 3})
		has := func(es []store.AuditEntry, action, object string) bool {
			return slices.ContainsFunc(es, func(e store.AuditEntry) bool { return e.Action == action && e.ObjectID == object })
		}
		for _, c := range []struct{ action, object string }{
			{"user.create", w.asha.ID}, {"user.block", w.ravi.ID}, {"user.delete", w.gone.ID}, {"membership.remove", w.gone.ID},
		} {
			if !has(log, c.action, c.object) {
				t.Errorf("tenant A's log lacks %s of %s", c.action, c.object)
			}
		}
		if has(log, "user.create", w.ashaB.ID) {
			t.Error("tenant A's log shows tenant B's user")
		}
		if !has(all(w.adminB, registry.AuditFilter{Limit: 50}), "user.create", w.ashaB.ID) {
			t.Error("tenant B's log lacks its own user")
		}
		for i := 1; i < len(log); i++ {
			if log[i].ID >= log[i-1].ID {
				t.Fatalf("log not newest first at %d", i)
			}
		}
		// Filters.
		if got := all(w.adminA, registry.AuditFilter{Limit: 50, ObjectType: "user", ObjectID: w.ravi.ID}); len(got) != 2 ||
			got[0].Action != "user.block" || got[1].Action != "user.create" {
			t.Errorf("object filter: %+v", got)
		}
		if got := all(w.adminA, registry.AuditFilter{Limit: 50, Action: "user.block"}); len(got) != 1 || got[0].ActorID != w.adminA.UserID {
			t.Errorf("action filter: %+v", got)
		}
		if got := all(w.adminA, registry.AuditFilter{Limit: 50, Actor: w.schoolAdmin.UserID}); len(got) != 0 {
			t.Errorf("actor filter: the school admin did nothing yet, got %+v", got)
		}
		future := time.Now().Add(time.Hour)
		past := time.Now().Add(-time.Hour)
		if got := all(w.adminA, registry.AuditFilter{Limit: 50, From: &future}); len(got) != 0 {
			t.Errorf("from in the future: %d rows", len(got))
		}
		if got := all(w.adminA, registry.AuditFilter{Limit: 50, From: &past, To: &future}); len(got) != len(log) {
			t.Errorf("the last two hours: %d rows, want %d", len(got), len(log))
		}
		if _, err := w.reg.AuditLog(w.ctx, w.adminA, registry.AuditFilter{From: &future, To: &past}); !hasField(err, registry.FieldFrom) {
			t.Errorf("from after to: %v", err)
		}
		if _, err := w.reg.AuditLog(w.ctx, w.adminA, registry.AuditFilter{Cursor: "dTp4"}); !hasField(err, registry.FieldCursor) {
			t.Errorf("a directory cursor on the audit log: %v", err)
		}
		// A clash with another tenant's user is in the caller's log, without
		// that user's id.
		if _, err := w.reg.CreateUser(w.ctx, w.adminA, registry.NewUser{User: roster.User{FirstName: "Probe", Email: "asha.bhat@example.org"}, OrgID: w.stateA.ID}); code(err) != roster.ECONFLICT {
			t.Fatalf("probe: %v", err)
		}
		if got := all(w.adminA, registry.AuditFilter{Limit: 50, Action: registry.AuditConflict}); len(got) != 1 || got[0].ObjectID != "" || got[0].Outcome != registry.ConflictOtherTenant || got[0].Detail != "field=email" {
			t.Errorf("conflict in A's log: %+v", got)
		}
		if got := all(w.adminB, registry.AuditFilter{Limit: 50, Action: registry.AuditConflict}); len(got) != 0 {
			t.Errorf("A's probe shows in B's log: %+v", got)
		}
		// Scope.
		for _, c := range []struct {
			p      *roster.Principal
			tenant string
			want   string
		}{
			{w.schoolAdmin, "", roster.EFORBIDDEN},
			{w.schoolAdmin, w.stateA.ID, roster.EFORBIDDEN},
			{w.principal(t, w.asha.ID), "", roster.EFORBIDDEN},
			{w.adminB, w.stateA.ID, roster.ENOTFOUND},
			{w.adminA, w.stateB.ID, roster.ENOTFOUND},
		} {
			if _, err := w.reg.AuditLog(w.ctx, c.p, registry.AuditFilter{Tenant: c.tenant}); code(err) != c.want {
				t.Errorf("%s reads %q: %v, want %s", c.p.UserID, c.tenant, err, c.want)
			}
		}
	})
}

// TestAuditDetailHoldsNoPII looks for every name and contact value used
// in the world in the whole audit log, after creating, changing, blocking,
// deleting and exporting users.
func TestAuditDetailHoldsNoPII(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDirectoryWorld(t, db)
		first, email, phone := "Ashwini", "ashwini.new@example.org", "9812345670"
		if _, err := w.reg.UpdateUser(w.ctx, w.adminA, w.asha.ID, registry.UserPatch{FirstName: &first, Email: &email, Phone: &phone}); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := w.reg.ExportDirectory(w.ctx, w.adminA, w.stateA.ID, registry.DirectoryFilter{Query: "ashw"}, true, &buf); err != nil {
			t.Fatal(err)
		}
		page, err := w.reg.AuditLog(w.ctx, w.adminA, registry.AuditFilter{Action: "user.update", ObjectID: w.asha.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != 1 || page.Entries[0].Detail != "fields=firstName,email,phone" {
			t.Errorf("update audited as %+v, want the field names", page.Entries)
		}
		rows, err := db.Query(w.ctx, `SELECT detail, object_id, actor_id FROM audit_log`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		secrets := append(w.emails, first, email, phone, "Asha", "Devi", "Ashworth", "Shankar", "ashw")
		n := 0
		for rows.Next() {
			var detail, object, actor string
			if err := rows.Scan(&detail, &object, &actor); err != nil {
				t.Fatal(err)
			}
			n++
			for _, s := range secrets {
				if strings.Contains(strings.ToLower(detail+object+actor), strings.ToLower(s)) {
					t.Errorf("audit row holds %q: %q", s, detail)
				}
			}
		}
		if n < 10 {
			t.Errorf("only %d audit rows: the test looked at too little", n)
		}
	})
}
