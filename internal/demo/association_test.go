package demo_test

import (
	"context"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/demo"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// The demo's state-validated learners model SSO users (1); everyone else
// it loads, staff and self-signed-up learners, is a system upload (4).
// No membership is left without a seed value.
func TestDemoAssociationTypes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		reg := registry.New(db, testkit.Keyring(t))
		reg.HashPassword = testkit.CheapHash
		res, err := demo.Load(ctx, db, reg, course.New(db), demo.Options{Learners: 30})
		if err != nil {
			t.Fatal(err)
		}
		count := func(assoc int) int {
			t.Helper()
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM user_organisation WHERE association_type = $1`, assoc).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if got := count(0); got != 0 {
			t.Errorf("%d memberships with associationType 0", got)
		}
		if got := count(roster.AssociationSSO); got != res.SSO {
			t.Errorf("%d SSO memberships, want %d", got, res.SSO)
		}
		if got, want := count(roster.AssociationSystemUpload), 30-res.SSO+len(res.Accounts); got != want {
			t.Errorf("%d system-upload memberships, want %d (learners %d, SSO %d, staff %d)", got, want, 30, res.SSO, len(res.Accounts))
		}
	})
}
