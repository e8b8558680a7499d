package registry_test

import (
	"slices"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

func directoryIDs(t *testing.T, w *declWorld, p *roster.Principal, orgID string, f registry.DirectoryFilter) []string {
	t.Helper()
	page, err := w.reg.Directory(w.ctx, p, orgID, f)
	if err != nil {
		t.Fatalf("directory of %s: %v", orgID, err)
	}
	var ids []string
	for _, u := range page.Users {
		ids = append(ids, u.ID)
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// TestDirectoryListsPendingDeclarations (issue 12.7): declaration=pending
// lists the users waiting for the reviewer, who are custodian users and so
// not in the tenant's list of members; decided, withdrawn and other
// tenants' declarations are left out.
func TestDirectoryListsPendingDeclarations(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		w := newDeclWorld(t, db)
		atA, atA2, decided, withdrawn, atB := w.teacher(t), w.teacher(t), w.teacher(t), w.teacher(t), w.teacher(t)
		w.declare(t, atA, w.schoolA, "P-1")
		w.declare(t, atA2, w.school2, "P-2")
		d := w.declare(t, decided, w.schoolA, "P-3")
		if _, err := w.reg.DecideDeclaration(w.ctx, w.schoolAdmin, d.ID, registry.Decision{Reason: "unknown id"}); err != nil {
			t.Fatal(err)
		}
		w.declare(t, withdrawn, w.schoolA, "P-4")
		if err := w.reg.WithdrawDeclaration(w.ctx, withdrawn); err != nil {
			t.Fatal(err)
		}
		w.declare(t, atB, w.schoolB, "P-5")

		pending := registry.DirectoryFilter{Declaration: roster.DeclarationPending}
		if got := directoryIDs(t, w, w.adminA, w.stateA.ID, registry.DirectoryFilter{}); slices.Contains(got, atA.UserID) {
			t.Fatal("a pending declarer is already a member of the state: the filter would add nothing")
		}
		if got, want := directoryIDs(t, w, w.adminA, w.stateA.ID, pending), sorted(atA.UserID, atA2.UserID); !slices.Equal(got, want) {
			t.Errorf("state A pending = %v, want %v", got, want)
		}
		if got, want := directoryIDs(t, w, w.schoolAdmin, w.schoolA.ID, pending), []string{atA.UserID}; !slices.Equal(got, want) {
			t.Errorf("school A pending = %v, want %v", got, want)
		}
		if got, want := directoryIDs(t, w, w.adminB, w.stateB.ID, pending), []string{atB.UserID}; !slices.Equal(got, want) {
			t.Errorf("state B pending = %v, want %v", got, want)
		}
		// The filter narrows the list, it does not widen who may ask.
		if _, err := w.reg.Directory(w.ctx, w.adminB, w.stateA.ID, pending); code(err) != roster.ENOTFOUND {
			t.Errorf("another tenant's admin: %v", err)
		}
		if _, err := w.reg.Directory(w.ctx, w.adminA, w.stateA.ID, registry.DirectoryFilter{Declaration: "approved"}); !slices.Contains(fields(err), registry.FieldDeclaration+": "+registry.MsgDeclFilter) {
			t.Errorf("unknown declaration filter: %v", err)
		}
	})
}
