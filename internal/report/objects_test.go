package report

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/objectstore/objecttest"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/zipcrypt"
)

// With object storage configured, a finished archive lives only in the
// bucket: the local directory keeps nothing, a download streams it from the
// bucket, and expiry deletes the object.
func TestArchivesInObjectStorage(t *testing.T) {
	objects := objecttest.Open(t)
	db := storetest.Open(t, "sqlite")
	dir := t.TempDir()
	f := newFixture(t, db, Config{Dir: dir, Objects: objects})
	r := f.runNow(t, "")
	key, ok := strings.CutPrefix(r.FilePath, objectRef)
	if !ok {
		t.Fatalf("FilePath = %q, want an object key", r.FilePath)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("local directory keeps %v", left)
	}
	ctx := context.Background()
	link, err := f.svc.DownloadLink(ctx, f.creator, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc, file, err := f.svc.Open(ctx, f.creator, link.Token)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if int64(len(data)) != file.Size || r.FileSize != file.Size {
		t.Fatalf("downloaded %d bytes, file says %d, request says %d", len(data), file.Size, r.FileSize)
	}
	zr, err := zipcrypt.OpenReader(bytes.NewReader(data), int64(len(data)), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := zr.Files[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(entry)
	rows := f.expected(false)
	compareRows(t, parseCSV(t, csv)[:len(rows)], rows)

	f.svc.Now = func() time.Time { return r.ExpiresAt.Add(time.Minute) }
	if n, err := f.svc.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("expire = %d, %v", n, err)
	}
	if _, _, _, err := objects.Get(ctx, key); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("object after expiry: %v", err)
	}
}
