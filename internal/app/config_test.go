package app

import (
	"strings"
	"testing"
	"time"
)

func TestRedactedDatabaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://roster:s3cret@db:5432/roster?sslmode=disable": "postgres://roster:xxxxx@db:5432/roster?sslmode=disable",
		"postgres://roster@db/roster":                             "postgres://roster@db/roster",
		"host=db user=roster password=s3cret dbname=roster":       "(libpq connection string)",
		"data/roster.db": "data/roster.db",
	} {
		if got := RedactedDatabaseURL(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("RedactedDatabaseURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).WithDefaults().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := Config{OIDCIssuer: "https://idp.example", LogLevel: "chatty", LogFormat: "xml"}.WithDefaults()
	err := bad.Validate()
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{"oidc-client-id", "chatty", "xml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestConfigRefusesNegativeUploadRetention(t *testing.T) {
	for _, c := range []Config{{DryRunRetention: -time.Hour}, {UploadMaxStored: -1}} {
		err := c.WithDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), "--dry-run-retention and --upload-max-stored must not be negative") {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestConfigAPIAssociationType(t *testing.T) {
	for _, v := range []int{1, 2, 4, 5, 7} {
		if err := (Config{APIAssociationType: v}).WithDefaults().Validate(); err != nil {
			t.Errorf("%d refused: %v", v, err)
		}
	}
	for _, v := range []int{-1, 8, 12} {
		err := (Config{APIAssociationType: v}).WithDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), "--api-association-type") {
			t.Errorf("%d: %v", v, err)
		}
	}
}

func TestConfigSunbirdExhaustKind(t *testing.T) {
	for _, k := range []string{"", "user-profile-exhaust", "sunbird-userinfo-exhaust"} {
		if err := (Config{SunbirdExhaustKind: k}).WithDefaults().Validate(); err != nil {
			t.Errorf("%q refused: %v", k, err)
		}
	}
	if err := (Config{SunbirdExhaustKind: "progress-exhaust"}).WithDefaults().Validate(); err == nil ||
		!strings.Contains(err.Error(), "--sunbird-exhaust-kind") {
		t.Errorf("unknown kind: %v", err)
	}
}
