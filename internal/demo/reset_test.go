package demo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/demo"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

// A demo whose printed password was lost gets new passwords for its staff;
// the old one stops working, the data stays, and only an operator command
// may set a password this way.
func TestResetAccounts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		reg := registry.New(db, testkit.Keyring(t))
		reg.HashPassword = testkit.CheapHash
		if _, err := demo.ResetAccounts(ctx, db, reg, ""); !errors.Is(err, demo.ErrNotLoaded) {
			t.Fatalf("reset before loading: %v", err)
		}
		loaded, err := demo.Load(ctx, db, reg, course.New(db), demo.Options{Learners: 5, Password: "Demo-before2345"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := demo.ResetAccounts(ctx, db, reg, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Accounts) != 3 || res.TenantID != loaded.TenantID {
			t.Fatalf("reset = %+v", res)
		}
		next := res.Accounts[0].Password
		for i, a := range res.Accounts {
			if a.UserID != loaded.Accounts[i].UserID || a.Password != next || next == "Demo-before2345" {
				t.Fatalf("account %d: %+v, loaded as %+v", i, a, loaded.Accounts[i])
			}
			if _, err := reg.Authenticate(ctx, a.Username, "Demo-before2345"); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
				t.Errorf("%s: the old password: %v", a.Username, err)
			}
			if _, err := reg.Authenticate(ctx, a.Username, next); err != nil {
				t.Errorf("%s: the new password: %v", a.Username, err)
			}
		}
		if txt := res.AccountsText("http://127.0.0.1:9/"); !strings.Contains(txt, "sign in at http://127.0.0.1:9/") || !strings.Contains(txt, next) {
			t.Fatalf("accounts text:\n%s", txt)
		}

		admin, err := reg.Principal(ctx, loaded.Accounts[2].UserID)
		if err != nil {
			t.Fatal(err)
		}
		err = reg.SetPasswordByOperator(ctx, admin, loaded.Accounts[0].UserID, "Taken-over1234")
		if roster.ErrorCode(err) != roster.EFORBIDDEN {
			t.Fatalf("a signed-in admin set a password as the operator: %v", err)
		}
	})
}
