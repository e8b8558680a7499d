package loadtest

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/upload"
)

func TestCheckLoopback(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:9000", "http://127.1.2.3"} {
		if err := CheckLoopback(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:8080", "http://example.org", "http://0.0.0.0:8080", "ftp://127.0.0.1", "127.0.0.1:8080", "http://localhost.example.org"} {
		if err := CheckLoopback(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

// The bombs are otherwise acceptable uploads: with a small inflated part
// the workbook and the header parse into one valid row, so a refusal of
// the big ones is about their size, not their form. And the part named
// inflates to the size asked for.
func TestBombsAreValidFiles(t *testing.T) {
	for _, part := range []string{"sharedStrings", "workbook", "styles"} {
		small, err := XLSXBomb(part, 1<<10)
		if err != nil {
			t.Fatal(err)
		}
		f, err := upload.Parse("bomb.xlsx", small, upload.Limits{})
		if err != nil || len(f.Rows) != 1 {
			t.Fatalf("%s: small workbook does not parse: %v", part, err)
		}
		big, err := XLSXBomb(part, 8<<20)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(big), int64(len(big)))
		if err != nil {
			t.Fatal(err)
		}
		for _, zf := range zr.File {
			rc, _ := zf.Open()
			n, _ := io.Copy(io.Discard, rc)
			rc.Close()
			if inflated := zf.Name == "xl/"+part+".xml"; inflated != (n >= 8<<20) {
				t.Errorf("%s bomb: %s inflates to %d bytes", part, zf.Name, n)
			}
		}
		if len(big) > 100<<10 {
			t.Errorf("%s bomb is %d bytes compressed", part, len(big))
		}
	}
	h := HeaderBomb(1 << 20)
	if len(h) < 1<<20 || !strings.HasPrefix(string(h), "a,a,a,") {
		t.Errorf("header bomb of %d bytes", len(h))
	}
	if rows := strings.Count(string(PasswordCSV(1000, "x")), "\n"); rows != 1001 {
		t.Errorf("password CSV has %d lines", rows)
	}
	f, err := upload.Parse("load.csv", PasswordCSV(30, "t1"), upload.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range upload.ValidateRows(f.Rows, time.Now()) {
		if !rec.OK() {
			t.Fatalf("row %d of the password upload is invalid: %v", rec.Row.Number, rec.Errors)
		}
	}
}
