package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/roster-dev/roster/internal/dbopen"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/store"
)

// The engines must agree on what the store relies on: $n placeholders,
// unique-violation mapping and the no-rows sentinel.
func TestEnginesAgree(t *testing.T) {
	Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		_, err := db.Exec(ctx, `INSERT INTO location (id, code, name, type) VALUES ($1, $2, $3, $4)`, "l1", "32", "Tamil Nadu", "state")
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(ctx, `INSERT INTO location (id, code, name, type) VALUES ($1, $2, $3, $4)`, "l2", "32", "Again", "state")
		if !errors.Is(err, store.ErrUnique) {
			t.Fatalf("duplicate (type, code): want unique violation, got %v", err)
		}
		var name string
		if err := db.QueryRow(ctx, `SELECT name FROM location WHERE id = $1`, "nope").Scan(&name); !errors.Is(err, store.ErrNoRows) {
			t.Fatalf("want ErrNoRows, got %v", err)
		}
	})
}

// A fresh database has pending migrations until Migrate runs; /readyz
// relies on this to refuse traffic on a stale schema.
func TestPendingMigrations(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, err := dbopen.Open(ctx, URL(t, engine))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if pending, err := db.Pending(ctx); err != nil || !pending {
				t.Fatalf("fresh database: pending=%v err=%v, want pending", pending, err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if pending, err := db.Pending(ctx); err != nil || pending {
				t.Fatalf("migrated database: pending=%v err=%v", pending, err)
			}
		})
	}
}

// Replicas starting together each run the migrations: under MigrationLock
// every one succeeds (without it goose and River race on CREATE TABLE).
func TestConcurrentMigrate(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			url := URL(t, engine)
			const replicas = 4
			errs := make(chan error, replicas)
			for range replicas {
				go func() {
					db, err := dbopen.Open(ctx, url)
					if err != nil {
						errs <- err
						return
					}
					defer db.Close()
					errs <- db.MigrationLock(ctx, func() error {
						if err := db.Migrate(ctx); err != nil {
							return err
						}
						return jobs.Migrate(ctx, db)
					})
				}()
			}
			for range replicas {
				if err := <-errs; err != nil {
					t.Fatalf("a replica's migration failed: %v", err)
				}
			}
		})
	}
}
