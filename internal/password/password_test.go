package password

import (
	"errors"
	"testing"
)

func TestHashVerify(t *testing.T) {
	cheap := Params{Memory: 64, Time: 1, Threads: 1}
	h := HashWith("s3cret-Pass", cheap)
	if err := Verify("s3cret-Pass", h); err != nil {
		t.Fatal(err)
	}
	if err := Verify("s3cret-pass", h); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: got %v", err)
	}
	if h2 := HashWith("s3cret-Pass", cheap); h2 == h {
		t.Fatal("two hashes of one password must differ (random salt)")
	}
	if err := Verify("x", "$bcrypt$whatever"); err == nil {
		t.Fatal("foreign format accepted")
	}
}

func BenchmarkHashDefault(b *testing.B) {
	for b.Loop() {
		Hash("s3cret-Pass")
	}
}
