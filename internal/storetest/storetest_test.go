package storetest

import (
	"context"
	"errors"
	"testing"

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
