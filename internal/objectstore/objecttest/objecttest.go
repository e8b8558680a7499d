// Package objecttest gives tests a fresh bucket on the S3-compatible server
// that .ci/run starts (SeaweedFS), named by ROSTER_TEST_S3_ENDPOINT.
package objecttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/roster-dev/roster/internal/objectstore"
)

// URL returns a --report-store URL of a new, empty key prefix, skipping the
// test when no server is configured (failing it under CI=true).
func URL(t testing.TB) string {
	t.Helper()
	endpoint := os.Getenv("ROSTER_TEST_S3_ENDPOINT")
	if endpoint == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ROSTER_TEST_S3_ENDPOINT is not set; CI must test object storage (.ci/run starts SeaweedFS)")
		}
		t.Skip("set ROSTER_TEST_S3_ENDPOINT (host:port of an S3-compatible server) to test object storage")
	}
	b := make([]byte, 6)
	rand.Read(b)
	// One bucket, a fresh prefix per test: SeaweedFS gives every bucket
	// volumes of its own, so a bucket per test would exhaust them.
	url := "s3://roster-test/" + hex.EncodeToString(b) + "?endpoint=" + endpoint + "&insecure=true"
	cfg, err := objectstore.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AccessKey, cfg.SecretKey = os.Getenv("ROSTER_S3_ACCESS_KEY"), os.Getenv("ROSTER_S3_SECRET_KEY")
	if err := objectstore.CreateBucket(context.Background(), cfg); err != nil {
		t.Fatalf("create bucket on %s: %v", endpoint, err)
	}
	return url
}

// Open returns a Store on a new, empty key prefix.
func Open(t testing.TB) *objectstore.Store {
	t.Helper()
	cfg, err := objectstore.ParseURL(URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.AccessKey, cfg.SecretKey = os.Getenv("ROSTER_S3_ACCESS_KEY"), os.Getenv("ROSTER_S3_SECRET_KEY")
	s, err := objectstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
