package registry_test

import (
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// Every password check and hash of an interactive caller takes a worker of
// the registry's hashing pool: sign-in of a known user, of an unknown one
// (the dummy check, so both cost the same), creating a user with a
// password, an admin changing one and a user changing their own (the
// current password's check and the new hash). With the worker busy and the queue full, each
// is refused with EUNAVAILABLE instead of running another hash; once the
// pool frees, they work again.
func TestPasswordWorkGoesThroughPool(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		f := newFixture(t, db)
		u := f.mustCreate(t, f.adminA, f.stateA.ID, "teacher@tn.gov.in", "9876500002")
		pool, release := testkit.FullPool(t)
		f.reg.Hashing = pool
		newPw := "another-pass-2"
		calls := map[string]func() error{
			"sign-in": func() error { _, err := f.reg.Authenticate(f.ctx, "teacher@tn.gov.in", "secret-pass-1"); return err },
			"sign-in of an unknown login": func() error {
				_, err := f.reg.Authenticate(f.ctx, "nobody@tn.gov.in", "secret-pass-1")
				return err
			},
			"create with password": func() error {
				_, err := f.reg.CreateUser(f.ctx, f.adminA, registry.NewUser{User: roster.User{FirstName: "New", Email: "new@tn.gov.in"},
					OrgID: f.stateA.ID, Password: "secret-pass-1"})
				return err
			},
			"own password change": func() error {
				return f.reg.ChangeOwnPassword(f.ctx, f.principal(t, u.ID), "secret-pass-1", newPw)
			},
			"password change": func() error {
				_, err := f.reg.UpdateUser(f.ctx, f.adminA, u.ID, registry.UserPatch{Password: &newPw})
				return err
			},
		}
		for name, call := range calls {
			if err := call(); code(err) != roster.EUNAVAILABLE {
				t.Errorf("%s with the pool full: %v, want %s", name, err, roster.EUNAVAILABLE)
			}
		}
		release()
		if _, err := f.reg.Authenticate(f.ctx, "teacher@tn.gov.in", "secret-pass-1"); err != nil {
			t.Fatalf("sign-in after the pool freed: %v", err)
		}
		if _, err := f.reg.Authenticate(f.ctx, "nobody@tn.gov.in", "secret-pass-1"); code(err) != roster.EUNAUTHORIZED {
			t.Fatalf("unknown login after the pool freed: %v", err)
		}
		if s := pool.Stats(); s != (password.Stats{}) {
			t.Fatalf("pool not empty afterwards: %+v", s)
		}
	})
}
