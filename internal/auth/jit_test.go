package auth

import (
	"context"
	"testing"
)

func TestFederatedSubject(t *testing.T) {
	for _, c := range []struct {
		sub, fed, id string
		ok           bool
	}{
		{"f:5a8a3f2b-3409-42e0-9001-f913bc0fde31:95e4942d-cbe8-477d-aebd-ad8e6de4bfc8", "5a8a3f2b-3409-42e0-9001-f913bc0fde31", "95e4942d-cbe8-477d-aebd-ad8e6de4bfc8", true},
		// Sunbird keeps what follows the last colon.
		{"f:a:b:c", "a:b", "c", true},
		{"95e4942d-cbe8-477d-aebd-ad8e6de4bfc8", "", "", false},
		{"f:", "", "", false},
		{"f::id", "", "", false},
		{"f:fed:", "", "", false},
		{"F:fed:id", "", "", false},
	} {
		fed, id, ok := federated(c.sub)
		if fed != c.fed || id != c.id || ok != c.ok {
			t.Errorf("federated(%q) = %q, %q, %v; want %q, %q, %v", c.sub, fed, id, ok, c.fed, c.id, c.ok)
		}
	}
}

func TestProfileReadsOnlyConfiguredClaims(t *testing.T) {
	o, err := NewOIDC(OIDCConfig{Issuer: "https://idp.example", ClientID: "roster", JIT: true,
		Claims:    ClaimNames{Channel: "state", EmailVerified: "mail_ok"},
		Provision: func(_ context.Context, _ Profile) (string, error) { return "", nil }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := o.profile("sub-1", map[string]any{"state": " TN ", "channel": "AP", "school_id": 1234, "teacher_id": 98765.0,
		"given_name": "Asha", "email": "a@x.org", "email_verified": true, "mail_ok": "false", "phone_number_verified": "true"})
	want := Profile{Provider: "https://idp.example", IDType: "sso", Subject: "sub-1", Channel: "TN", TeacherID: "98765",
		FirstName: "Asha", Email: "a@x.org", EmailVerified: false, PhoneVerified: true}
	if p != want {
		t.Fatalf("profile %+v\nwant    %+v", p, want)
	}
}
