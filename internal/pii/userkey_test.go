package pii

import (
	"errors"
	"testing"
)

func TestUserKeys(t *testing.T) {
	k1, k2 := Key{ID: "k1", Key: make([]byte, 32)}, Key{ID: "k2", Key: make([]byte, 32)}
	k2.Key[0] = 2
	r1 := ring(t, k1)
	uk, wrapped, keyID := r1.NewUserKey("u1")
	if keyID != "k1" || KeyID(wrapped) != "k1" {
		t.Fatalf("wrapped under %q/%q, want the primary k1", keyID, KeyID(wrapped))
	}
	ctx := UserField("u1", FieldEmail)
	sealed := uk.Seal("asha@example.org", ctx)
	if SealedByRing(sealed) || sealed[0] != userKeyVersion {
		t.Fatalf("format byte %d, want %d", sealed[0], userKeyVersion)
	}
	if _, err := r1.Open(sealed, ctx); err == nil {
		t.Fatal("the ring opened a value sealed by a data key")
	}
	again, err := r1.UnwrapUserKey("u1", wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open(sealed, ctx); err != nil || got != "asha@example.org" {
		t.Fatalf("unwrapped key opens %q, %v", got, err)
	}
	if _, err := again.Open(sealed, UserField("u1", FieldPhone)); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("a value moved to another column opened: %v", err)
	}
	// A wrapped key is bound to its user: copied onto another, it fails.
	if _, err := r1.UnwrapUserKey("u2", wrapped); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("u1's key unwrapped as u2's: %v", err)
	}
	// Without the key (erased, or never had one) DEK values fail with
	// ErrErased; ring-sealed values of before still open.
	none := r1.NoUserKey("u1")
	if _, err := none.Open(sealed, ctx); !errors.Is(err, ErrErased) {
		t.Fatalf("no key: %v, want ErrErased", err)
	}
	old := r1.Seal("old@example.org", ctx)
	if got, err := none.Open(old, ctx); err != nil || got != "old@example.org" || !SealedByRing(old) {
		t.Fatalf("ring-sealed value: %q, %v", got, err)
	}
	if got, err := uk.Open(old, ctx); err != nil || got != "old@example.org" {
		t.Fatalf("ring-sealed value with a data key: %q, %v", got, err)
	}
	// Rewrap: a new wrapping under the new primary, the same data key.
	r21 := ring(t, k2, k1)
	rewrapped, id, err := r21.RewrapUserKey("u1", wrapped)
	if err != nil || id != "k2" || KeyID(rewrapped) != "k2" {
		t.Fatalf("rewrap: %q %q %v", id, KeyID(rewrapped), err)
	}
	only2, err := ring(t, k2).UnwrapUserKey("u1", rewrapped)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := only2.Open(sealed, ctx); err != nil || got != "asha@example.org" {
		t.Fatalf("after rewrap, k1 retired: %q, %v", got, err)
	}
	if _, err := ring(t, k2).UnwrapUserKey("u1", wrapped); err == nil {
		t.Fatal("the old wrapping opened without its key")
	}
	// The job cache opens the same, and nil means no key.
	cache := r1.NewUserKeys(1)
	for range 2 {
		c, err := cache.Get("u1", wrapped)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Open(sealed, ctx); got != "asha@example.org" {
			t.Fatalf("cached key opens %q", got)
		}
	}
	if c, err := cache.Get("u2", nil); err != nil || c.HasDataKey() {
		t.Fatalf("a user without a key: %v %v", c, err)
	}
	if _, err := cache.Get("u3", []byte("garbage")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("garbage wrapped key: %v", err)
	}
	if uk.Seal("", ctx) != nil {
		t.Fatal("empty values must seal to nil")
	}
}

// What per-user keys add to a report's row: unwrapping the learner's data
// key (through the job's cache, which misses for a learner seen once) and
// opening email and phone with it, against opening both with the ring.
func BenchmarkOpenPerRow(b *testing.B) {
	r := ring(b)
	uk, wrapped, _ := r.NewUserKey("u1")
	email, phone := UserField("u1", FieldEmail), UserField("u1", FieldPhone)
	b.Run("ring", func(b *testing.B) {
		e, p := r.Seal("learner0000001@example.org", email), r.Seal("+917000000001", phone)
		for b.Loop() {
			_, _ = r.Open(e, email)
			_, _ = r.Open(p, phone)
		}
	})
	b.Run("user-key", func(b *testing.B) {
		e, p := uk.Seal("learner0000001@example.org", email), uk.Seal("+917000000001", phone)
		for b.Loop() {
			k, _ := r.NewUserKeys(0).Get("u1", wrapped)
			_, _ = k.Open(e, email)
			_, _ = k.Open(p, phone)
		}
	})
}
