package sheet

import (
	"bytes"
	"errors"
	"testing"
)

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1":                       "'+1",
		"-2+3":                     "'-2+3",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\tx":                      "'\tx",
		"\rx":                      "'\rx",
		"plain":                    "plain",
		"a=b":                      "a=b",
		"":                         "",
		"தமிழ்":                    "தமிழ்",
	} {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriterBOMCRLFAndGuard(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	// Rows may be longer or shorter than the header (the upload result
	// file has as many cells as the uploaded file had columns, plus two).
	for _, row := range [][]string{{"=1+2", `say "hi"`}, {"x", "y", "-z"}, {"only"}} {
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "\xEF\xBB\xBFa,b\r\n'=1+2,\"say \"\"hi\"\"\"\r\nx,y,'-z\r\nonly\r\n"
	if buf.String() != want {
		t.Fatalf("csv\n got %q\nwant %q", buf.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterReportsWriteErrors(t *testing.T) {
	if _, err := NewWriter(failWriter{}, []string{"a"}); err == nil {
		t.Fatal("NewWriter on a failing writer: want an error")
	}
}
