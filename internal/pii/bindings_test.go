package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Data sealed before pii owned the bindings (by registry, upload and
// report, with these literal strings) must keep opening: the bindings are
// part of the stored data.
func TestBindingsOpenOldData(t *testing.T) {
	k := ring(t, Key{ID: "k1", Key: make([]byte, 32)})
	for _, c := range []struct{ old, now string }{
		{"users/u1/email", UserField("u1", FieldEmail)},
		{"users/u1/phone", UserField("u1", FieldPhone)},
		{"users/u1/recovery_email", UserField("u1", FieldRecoveryEmail)},
		{"users/u1/recovery_phone", UserField("u1", FieldRecoveryPhone)},
		{"users/u1/prev_used_email", UserField("u1", PrevUsed(FieldEmail))},
		{"users/u1/prev_used_phone", UserField("u1", PrevUsed(FieldPhone))},
		{"usr_external_identity/tn/tn/u1", ExternalID("tn", "tn", "u1")},
		{"user_key/u1", UserKeyWrap("u1")},
		{"upload/up1/file", UploadFile("up1")},
		{"upload_row/up1/17", UploadRow("up1", 17)},
		{"report/r1/password", ReportPassword("r1")},
		{"user_declaration/d1/teacher_id", Declaration("d1")},
		{"roster oidc login state", OIDCLoginState},
	} {
		sealed := k.Seal("value of "+c.old, c.old)
		if got, err := k.Open(sealed, c.now); err != nil || got != "value of "+c.old {
			t.Errorf("sealed with %q, opened with %q: %q, %v", c.old, c.now, got, err)
		}
	}
}

// The derived keys are the ones earlier versions derived, so cookies and
// links issued before an upgrade keep working.
func TestDerivedKeysAreUnchanged(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("roster/oidc-login-state/v1"))
	if !hmac.Equal(OIDCStateKey(secret), mac.Sum(nil)) {
		t.Error("OIDC state key differs from the one earlier versions derived")
	}
	mac = hmac.New(sha256.New, secret)
	mac.Write([]byte("report-download-link-key\x00v1"))
	k, err := NewKeyring(secret, Key{ID: "k1", Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if got := k.LinkKeys(); len(got) != 1 || string(got[0]) != hex.EncodeToString(mac.Sum(nil)) || !k.LinkKeysDerived() {
		t.Error("the fallback link key differs from the one earlier versions derived")
	}
}

func TestLinkKeysAreTheirOwn(t *testing.T) {
	dir := t.TempDir()
	// A fresh key file gets a link key of its own, kept across loads.
	path := filepath.Join(dir, "keys.json")
	first, err := Load("", "", "", path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load("", "", "", path)
	if err != nil {
		t.Fatal(err)
	}
	if first.LinkKeysDerived() || len(first.LinkKeys()) != 1 || !hmac.Equal(first.LinkKeys()[0], again.LinkKeys()[0]) {
		t.Fatalf("link keys of a fresh key file: derived=%v %d keys", first.LinkKeysDerived(), len(first.LinkKeys()))
	}
	// A key file written before link keys falls back to the derived key.
	var f keyFile
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	f.LinkKeys = nil
	data, _ = json.Marshal(f)
	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, data, 0o600); err != nil {
		t.Fatal(err)
	}
	legacy, err := Load("", "", "", old)
	if err != nil || !legacy.LinkKeysDerived() {
		t.Fatalf("old key file: derived=%v, %v", legacy != nil && legacy.LinkKeysDerived(), err)
	}
	// The configured list wins and rotates: first signs, all kept.
	a, b := GenerateKey(), GenerateKey()
	rot, err := Load("", "", b+","+a, old)
	if err != nil {
		t.Fatal(err)
	}
	rawA, _ := base64.StdEncoding.DecodeString(a)
	rawB, _ := base64.StdEncoding.DecodeString(b)
	if got := rot.LinkKeys(); len(got) != 2 || !hmac.Equal(got[0], rawB) || !hmac.Equal(got[1], rawA) || rot.LinkKeysDerived() {
		t.Fatal("configured link keys not used in order")
	}
	// Rotating link keys leaves PII and the blind index alone.
	if rot.BlindIndex("email", "x") != legacy.BlindIndex("email", "x") {
		t.Fatal("link keys changed the blind index")
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := Load("", "", bad, old); err == nil {
			t.Errorf("link key %q accepted", bad)
		}
	}
}
