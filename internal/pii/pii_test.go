package pii

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func ring(t testing.TB, keys ...Key) *Keyring {
	t.Helper()
	if len(keys) == 0 {
		keys = []Key{{ID: "k1", Key: bytes.Repeat([]byte{1}, 32)}}
	}
	k, err := NewKeyring(bytes.Repeat([]byte{9}, 32), keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := ring(t)
	ct := k.Seal("testdoc@yopmail.com", "users/u1/email")
	if bytes.Contains(ct, []byte("testdoc")) {
		t.Fatal("ciphertext contains plaintext")
	}
	if got, err := k.Open(ct, "users/u1/email"); err != nil || got != "testdoc@yopmail.com" {
		t.Fatalf("open: %q %v", got, err)
	}
	if bytes.Equal(ct, k.Seal("testdoc@yopmail.com", "users/u1/email")) {
		t.Fatal("sealing twice gave the same bytes: nonce reused")
	}
	// Bound to its record: moved to another row or column it fails.
	for _, ctx := range []string{"users/u2/email", "users/u1/phone"} {
		if _, err := k.Open(ct, ctx); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("opened under %s: %v", ctx, err)
		}
	}
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x40
		if _, err := k.Open(bad, "users/u1/email"); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("byte %d flipped and still opened", i)
		}
	}
	if k.Seal("", "x") != nil {
		t.Fatal("empty value must seal to nil (NULL)")
	}
	if v, err := k.Open(nil, "x"); v != "" || err != nil {
		t.Fatal("nil must open to empty")
	}
	if KeyID(ct) != "k1" {
		t.Fatalf("key id %q", KeyID(ct))
	}
}

func TestRotation(t *testing.T) {
	k1 := Key{ID: "k1", Key: bytes.Repeat([]byte{1}, 32)}
	k2 := Key{ID: "k2", Key: bytes.Repeat([]byte{2}, 32)}
	old := ring(t, k1).Seal("9812345609", "c")
	rotated := ring(t, k2, k1)
	if v, err := rotated.Open(old, "c"); err != nil || v != "9812345609" {
		t.Fatalf("old value after rotation: %q %v", v, err)
	}
	if KeyID(rotated.Seal("x", "c")) != "k2" {
		t.Fatal("new values must use the first key")
	}
	if _, err := ring(t, k2).Open(old, "c"); !errors.Is(err, ErrDecrypt) {
		t.Fatal("retired key dropped but value still opened")
	}
	// The blind index does not depend on the data keys.
	if ring(t, k1).BlindIndex("email", "a@b.org") != rotated.BlindIndex("email", "a@b.org") {
		t.Fatal("blind index changed with data-key rotation")
	}
}

func TestBlindIndex(t *testing.T) {
	k := ring(t)
	a := k.BlindIndex("email", "a@b.org")
	if a != k.BlindIndex("email", "a@b.org") || len(a) != 64 || strings.Contains(a, "a@b") {
		t.Fatalf("index %q", a)
	}
	if a == k.BlindIndex("username", "a@b.org") {
		t.Fatal("same value under two kinds must differ")
	}
	other, _ := NewKeyring(bytes.Repeat([]byte{8}, 32), Key{ID: "k1", Key: bytes.Repeat([]byte{1}, 32)})
	if a == other.BlindIndex("email", "a@b.org") {
		t.Fatal("index not keyed")
	}
}

func TestNewKeyringRejectsBadKeys(t *testing.T) {
	idx := bytes.Repeat([]byte{9}, 32)
	for name, keys := range map[string][]Key{
		"none":      nil,
		"short":     {{ID: "k1", Key: []byte("short")}},
		"bad id":    {{ID: "a:b", Key: bytes.Repeat([]byte{1}, 32)}},
		"duplicate": {{ID: "k", Key: bytes.Repeat([]byte{1}, 32)}, {ID: "k", Key: bytes.Repeat([]byte{2}, 32)}},
	} {
		if _, err := NewKeyring(idx, keys...); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := NewKeyring([]byte("short"), Key{ID: "k", Key: bytes.Repeat([]byte{1}, 32)}); err == nil {
		t.Error("short index key accepted")
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	first, err := Load("", "", "", path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	again, err := Load("", "", "", path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := again.Open(first.Seal("x", "c"), "c"); err != nil || v != "x" {
		t.Fatal("second load produced other keys")
	}
	env, err := Load("k2:"+GenerateKey()+",k1:"+GenerateKey(), GenerateKey(), "", "")
	if err != nil || env.PrimaryKeyID() != "k2" {
		t.Fatalf("env keys: %v", err)
	}
	if _, err := Load("k1:"+GenerateKey(), "", "", ""); err == nil {
		t.Fatal("keys without index key accepted")
	}
	if _, err := Load("k1-no-colon", GenerateKey(), "", ""); err == nil {
		t.Fatal("malformed key list accepted")
	}
}

func TestNormaliseAndMask(t *testing.T) {
	for in, want := range map[string]string{" TestDoc@YopMail.com ": "testdoc@yopmail.com", "a.b+c@x.co.in": "a.b+c@x.co.in"} {
		if got, err := NormaliseEmail(in); err != nil || got != want {
			t.Errorf("email %q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "plain", "a@b", "a@@b.org", "Name <a@b.org>", "a@.org", "a b@c.org"} {
		if _, err := NormaliseEmail(bad); err == nil {
			t.Errorf("email %q accepted", bad)
		}
	}
	for in, want := range map[string]string{"9812345609": "+919812345609", "+91 98123 45609": "+919812345609", "09812345609": "+919812345609", "+14155552671": "+14155552671"} {
		if got, err := NormalisePhone(in, ""); err != nil || got != want {
			t.Errorf("phone %q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "12345", "abcdefghij", "98123456091234"} {
		if _, err := NormalisePhone(bad, ""); err == nil {
			t.Errorf("phone %q accepted", bad)
		}
	}
	if got := MaskEmail("testdoc@yopmail.com"); got != "te*****@yopmail.com" {
		t.Errorf("mask email: %q", got)
	}
	if got := MaskPhone("+919812345609"); got != "98******09" {
		t.Errorf("mask phone: %q", got)
	}
	if got := MaskEmail("a@b.org"); got != "a*@b.org" {
		t.Errorf("mask short email: %q", got)
	}
}

func TestSealOpenProperty(t *testing.T) {
	k := ring(t)
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.String().Draw(t, "value")
		c := rapid.String().Draw(t, "context")
		got, err := k.Open(k.Seal(v, c), c)
		if err != nil || got != v {
			t.Fatalf("round trip of %q: %q %v", v, got, err)
		}
	})
}
