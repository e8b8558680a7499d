package store_test

import (
	"context"
	"testing"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
)

func TestAnyUser(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		tenant := newTenant(t, db, "TN")
		if any, err := store.AnyUser(ctx, db); err != nil || any {
			t.Fatalf("empty database: %v, %v", any, err)
		}
		u := &store.UserRecord{User: roster.User{ID: roster.NewID(), Username: "first", FirstName: "First",
			RootOrgID: tenant.ID, Status: roster.StatusActive, CreatedDate: roster.Now()}}
		if err := store.InsertUser(ctx, db, u); err != nil {
			t.Fatal(err)
		}
		if any, err := store.AnyUser(ctx, db); err != nil || !any {
			t.Fatalf("with a user: %v, %v", any, err)
		}
	})
}
