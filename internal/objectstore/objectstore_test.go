package objectstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/objectstore"
	"github.com/roster-dev/roster/internal/objectstore/objecttest"
)

func TestParseURL(t *testing.T) {
	c, err := objectstore.ParseURL("s3://reports/roster/prod?endpoint=127.0.0.1:8333&insecure=true&region=ap-south-1")
	if err != nil || c.Bucket != "reports" || c.Prefix != "roster/prod" || c.Endpoint != "127.0.0.1:8333" || !c.Insecure || c.Region != "ap-south-1" {
		t.Fatalf("got %+v, %v", c, err)
	}
	for _, bad := range []string{"reports", "http://x/y", "s3://", "s3://b?endpoint=h&colour=red"} {
		if _, err := objectstore.ParseURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	_, err = objectstore.ParseURL("s3://AKIA:s3cretkey@b?endpoint=h")
	if err == nil || strings.Contains(err.Error(), "s3cretkey") {
		t.Errorf("credentials in the URL: %v", err)
	}
}

// Against the real S3-compatible server: a put object reads back whole, a
// removed or never-written one is fs.ErrNotExist, removing twice is fine.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := objecttest.Open(t)
	data := bytes.Repeat([]byte("roster,"), 300_000)
	key, err := s.Put(ctx, "r1.zip", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rc, size, mod, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) || size != int64(len(data)) || mod.IsZero() {
		t.Fatalf("read back %d bytes (size %d, modified %v), wrote %d", len(got), size, mod, len(data))
	}
	if err := s.Remove(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, key); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if _, _, _, err := s.Get(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("removed object: %v, want fs.ErrNotExist", err)
	}
}
