package report

import (
	"bytes"
	"errors"
	"testing"

	"pgregory.net/rapid"
)

// Whatever the write sizes, the bytes arrive complete and in order.
func TestPipeWriterKeepsOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var want, got bytes.Buffer
		p := newPipeWriter(&got)
		for i, n := range rapid.SliceOfN(rapid.IntRange(0, 3*pipeChunk), 0, 12).Draw(t, "writes") {
			b := bytes.Repeat([]byte{byte('a' + i%26)}, n)
			want.Write(b)
			if k, err := p.Write(b); err != nil || k != n {
				t.Fatalf("Write = %d, %v", k, err)
			}
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("got %d bytes, want %d", got.Len(), want.Len())
		}
	})
}

type failAfter struct{ left int }

var errDisk = errors.New("disk full")

func (f *failAfter) Write(b []byte) (int, error) {
	if f.left < len(b) {
		return 0, errDisk
	}
	f.left -= len(b)
	return len(b), nil
}

// A failing archive stops the producer and Close reports the failure.
func TestPipeWriterReportsFailure(t *testing.T) {
	p := newPipeWriter(&failAfter{left: pipeChunk})
	chunk := make([]byte, pipeChunk)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = p.Write(chunk)
	}
	if cerr := p.Close(); !errors.Is(cerr, errDisk) {
		t.Fatalf("Close = %v, want %v", cerr, errDisk)
	}
	if !errors.Is(err, errDisk) {
		t.Fatalf("100 writes after the archive failed: Write = %v, want %v", err, errDisk)
	}
	if p.Close() == nil {
		t.Fatal("second Close forgot the error")
	}
}
