package zipcrypt

import (
	"archive/zip"
	"bytes"
	"crypto/aes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"
)

// tb is what the helpers need from *testing.T and *rapid.T alike.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

type testEntry struct {
	name string
	data []byte
	mod  time.Time
}

// writeArchive writes entries, feeding each in uneven chunks so that
// chunk boundaries fall everywhere relative to the deflate, keystream and
// scratch buffers.
func writeArchive(t tb, password string, entries []testEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, password)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	for i, e := range entries {
		ew, err := w.Create(e.name, e.mod)
		if err != nil {
			t.Fatalf("Create(%q): %v", e.name, err)
		}
		data, step := e.data, 1+i*7919%50000
		for len(data) > 0 {
			n := min(step, len(data))
			if _, err := ew.Write(data[:n]); err != nil {
				t.Fatalf("Write(%q): %v", e.name, err)
			}
			data, step = data[n:], step*3%65521+1
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

func readEntry(f *File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func mustOpen(t tb, archive []byte, password string) *Reader {
	t.Helper()
	r, err := OpenReader(bytes.NewReader(archive), int64(len(archive)), password)
	if err != nil {
		t.Fatalf("OpenReader: %v", err)
	}
	return r
}

func checkEntries(t tb, archive []byte, password string, want []testEntry) {
	t.Helper()
	r := mustOpen(t, archive, password)
	if len(r.Files) != len(want) {
		t.Fatalf("archive has %d entries, want %d", len(r.Files), len(want))
	}
	for i, f := range r.Files {
		w := want[i]
		if f.Name != w.name {
			t.Fatalf("entry %d is %q, want %q", i, f.Name, w.name)
		}
		got, err := readEntry(f)
		if err != nil {
			t.Fatalf("reading %q: %v", f.Name, err)
		}
		if !bytes.Equal(got, w.data) {
			t.Fatalf("%q: got %d bytes, want %d (contents differ)", f.Name, len(got), len(w.data))
		}
		if f.Size != uint64(len(w.data)) {
			t.Fatalf("%q: Size = %d, want %d", f.Name, f.Size, len(w.data))
		}
		if !w.mod.IsZero() && !f.Modified.Equal(w.mod.Truncate(time.Second)) {
			t.Fatalf("%q: Modified = %v, want %v", f.Name, f.Modified, w.mod)
		}
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

// csvBytes makes n bytes of report-like CSV: compressible but not trivially.
func csvBytes(n int) []byte {
	b := make([]byte, 0, n+200)
	b = append(b, "id,name,email,course,progress,completed_at\n"...)
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, "%d,Learner %d,learner%d@example.com,Course %d,%d%%,2026-%02d-%02dT10:%02d:00Z\n",
			i, i*7%100003, i, i%37, i*13%101, i%12+1, i%28+1, i%60)
	}
	return b[:n]
}

func sampleEntries() []testEntry {
	mod := time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))
	big := append(csvBytes(3<<20), randomBytes(1, 2<<20)...) // ~5 MB, both kinds of data
	return []testEntry{
		{"report.csv", csvBytes(100_000), mod},
		{"empty.txt", nil, mod},
		{"big.bin", big, mod},
		{"Teilnehmer/Übersicht – 日本語 🎓.csv", []byte("name,Größe\nZoë,ß\n"), mod.Add(time.Hour)},
		{"one.txt", []byte("x"), mod},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, password := range []string{"correct horse battery staple", "pässwörd 日本語 🔑"} {
		t.Run(password, func(t *testing.T) {
			entries := sampleEntries()
			checkEntries(t, writeArchive(t, password, entries), password, entries)
		})
	}
}

func TestNoEntries(t *testing.T) {
	archive := writeArchive(t, "pw", nil)
	if r := mustOpen(t, archive, "pw"); len(r.Files) != 0 {
		t.Fatalf("got %d entries", len(r.Files))
	}
}

// TestHeaders checks the bytes archive/zip produced through CreateRaw:
// local header, data descriptor and central directory must all describe
// an AE-2 entry, with CRC 0 and sizes that include salt, verifier and MAC.
func TestHeaders(t *testing.T) {
	entries := sampleEntries()
	archive := writeArchive(t, "pw", entries)
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	wantExtra := []byte{0x01, 0x99, 7, 0, 2, 0, 'A', 'E', 3, 8, 0}
	salts := map[string]bool{}
	for i, f := range zr.File {
		// Central directory.
		if f.Method != 99 || f.CRC32 != 0 || f.ReaderVersion != 51 || f.CreatorVersion&0xff != 51 {
			t.Errorf("%q: method %d crc %#x version %d/%d", f.Name, f.Method, f.CRC32, f.ReaderVersion, f.CreatorVersion)
		}
		if want := uint16(flagEncrypted | flagDataDescriptor | flagUTF8); f.Flags != want {
			t.Errorf("%q: flags %#x, want %#x", f.Name, f.Flags, want)
		}
		if !bytes.Contains(f.Extra, wantExtra) {
			t.Errorf("%q: extra % x lacks AES field % x", f.Name, f.Extra, wantExtra)
		}
		if want := uint64(len(entries[i].data)); f.UncompressedSize64 != want {
			t.Errorf("%q: uncompressed size %d, want %d", f.Name, f.UncompressedSize64, want)
		}

		// Local header: 30 fixed bytes, name, extra, then the data.
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		lh := archive[off-int64(30+len(f.Name)+len(f.Extra)):]
		le := binary.LittleEndian
		if le.Uint32(lh) != 0x04034b50 || le.Uint16(lh[4:]) != 51 || le.Uint16(lh[6:]) != f.Flags ||
			le.Uint16(lh[8:]) != 99 || le.Uint32(lh[14:]) != 0 {
			t.Errorf("%q: bad local header % x", f.Name, lh[:30])
		}
		if got := lh[30+len(f.Name) : 30+len(f.Name)+len(f.Extra)]; !bytes.Equal(got, f.Extra) {
			t.Errorf("%q: local extra % x differs from central % x", f.Name, got, f.Extra)
		}

		// Data descriptor right after the data; its compressed size is
		// where it is because of that size, so this also checks the size.
		dd := archive[off+int64(f.CompressedSize64):]
		if le.Uint32(dd) != 0x08074b50 || le.Uint32(dd[4:]) != 0 ||
			uint64(le.Uint32(dd[8:])) != f.CompressedSize64 || uint64(le.Uint32(dd[12:])) != f.UncompressedSize64 {
			t.Errorf("%q: bad data descriptor % x", f.Name, dd[:16])
		}
		salt := string(archive[off : off+16])
		if salts[salt] {
			t.Errorf("%q reuses a salt", f.Name)
		}
		salts[salt] = true
	}
}

// TestCTRCounterLittleEndian pins the one place where WinZip AES differs
// from crypto/cipher's CTR: block i is AES(i) with i little-endian,
// including the carry from the first byte into the second.
func TestCTRCounterLittleEndian(t *testing.T) {
	key := randomBytes(7, 32)
	c, err := newCTR(key)
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 300*aes.BlockSize)
	ks := make([]byte, len(zero))
	c.xor(ks[:5], zero[:5]) // odd split, to cross batch boundaries unaligned
	c.xor(ks[5:], zero[5:])
	block, _ := aes.NewCipher(key)
	for _, i := range []uint64{1, 2, 255, 256, 257, 300} {
		var ctr, want [16]byte
		binary.LittleEndian.PutUint64(ctr[:], i)
		block.Encrypt(want[:], ctr[:])
		if got := ks[(i-1)*16 : i*16]; !bytes.Equal(got, want[:]) {
			t.Errorf("keystream block %d = % x, want % x", i, got, want)
		}
	}
}

func TestWrongPassword(t *testing.T) {
	// Salts are random; fixing them makes this deterministic, since a
	// wrong password passes the 2-byte verifier once in 65536 salts.
	cryptotest.SetGlobalRandom(t, 1)
	archive := writeArchive(t, "right password", sampleEntries())
	for _, password := range []string{"wrong password", "Right password", "right password ", ""} {
		for _, f := range mustOpen(t, archive, password).Files {
			if _, err := readEntry(f); !errors.Is(err, ErrPassword) {
				t.Errorf("password %q, entry %q: err = %v, want ErrPassword", password, f.Name, err)
			}
		}
	}
}

// entryRegion returns where the i-th entry's salt||verifier||ciphertext||MAC lies.
func entryRegion(t tb, archive []byte, i int) (off, size int64) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatalf("zip.NewReader: %v", err)
	}
	off, err = zr.File[i].DataOffset()
	if err != nil {
		t.Fatalf("DataOffset: %v", err)
	}
	return off, int64(zr.File[i].CompressedSize64)
}

func TestTamperedData(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 2)
	entries := sampleEntries()
	archive := writeArchive(t, "pw", entries)
	const entry = 2 // big.bin
	off, size := entryRegion(t, archive, entry)
	cases := []struct {
		name string
		pos  int64
		want error
	}{
		{"salt", 3, ErrPassword}, // other keys, so (with this seed) the verifier no longer matches
		{"verifier", 16, ErrPassword},
		{"first ciphertext byte", 18, ErrAuthentication},
		{"middle ciphertext byte", size / 2, ErrAuthentication},
		{"last ciphertext byte", size - 11, ErrAuthentication},
		{"MAC", size - 1, ErrAuthentication},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := bytes.Clone(archive)
			bad[off+c.pos] ^= 0x01
			f := mustOpen(t, bad, "pw").Files[entry]
			rc, err := f.Open()
			if !errors.Is(err, c.want) {
				t.Fatalf("Open: err = %v, want %v", err, c.want)
			}
			if rc != nil {
				t.Fatal("Open returned a reader along with an error")
			}
			// The other entries are unaffected.
			got, err := readEntry(mustOpen(t, bad, "pw").Files[0])
			if err != nil || !bytes.Equal(got, entries[0].data) {
				t.Fatalf("neighbouring entry: err = %v", err)
			}
		})
	}
}

// TestDataChangedAfterOpen covers the second pass: if the bytes change
// between Open's authentication and the read, reading must not end in
// io.EOF.
func TestDataChangedAfterOpen(t *testing.T) {
	entries := sampleEntries()
	archive := writeArchive(t, "pw", entries)
	off, size := entryRegion(t, archive, 2)
	r := mustOpen(t, archive, "pw") // reads through a bytes.Reader on archive itself
	rc, err := r.Files[2].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	archive[off+size-20] ^= 0x80 // near the end, after the reader's first buffers
	if _, err := io.ReadAll(rc); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("err = %v, want ErrAuthentication", err)
	}
}

// TestAE1 patches an entry into AE-1 (which WinZip writes for some files),
// where the CRC must be checked; it proves the check can fail.
func TestAE1(t *testing.T) {
	data := csvBytes(50_000)
	archive := writeArchive(t, "pw", []testEntry{{"a.csv", data, time.Time{}}})
	toAE1 := func(crc uint32) []byte {
		b := bytes.Clone(archive)
		aes2 := []byte{0x01, 0x99, 7, 0, 2, 0, 'A', 'E'}
		aes1 := []byte{0x01, 0x99, 7, 0, 1, 0, 'A', 'E'}
		if bytes.Count(b, aes2) != 2 { // local and central
			t.Fatalf("found %d AES extra fields", bytes.Count(b, aes2))
		}
		b = bytes.ReplaceAll(b, aes2, aes1)
		cd := bytes.LastIndex(b, []byte{0x50, 0x4b, 0x01, 0x02})
		binary.LittleEndian.PutUint32(b[cd+16:], crc)
		return b
	}
	got, err := readEntry(mustOpen(t, toAE1(crc32.ChecksumIEEE(data)), "pw").Files[0])
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("AE-1 with right CRC: err = %v", err)
	}
	if _, err := readEntry(mustOpen(t, toAE1(crc32.ChecksumIEEE(data)^1), "pw").Files[0]); !errors.Is(err, ErrFormat) {
		t.Fatalf("AE-1 with wrong CRC: err = %v, want ErrFormat", err)
	}
}

func TestWrongSizeInHeader(t *testing.T) {
	data := csvBytes(10_000)
	archive := writeArchive(t, "pw", []testEntry{{"a.csv", data, time.Time{}}})
	cd := bytes.LastIndex(archive, []byte{0x50, 0x4b, 0x01, 0x02})
	for _, size := range []uint32{uint32(len(data)) - 1, uint32(len(data)) + 1} {
		b := bytes.Clone(archive)
		binary.LittleEndian.PutUint32(b[cd+24:], size)
		if _, err := readEntry(mustOpen(t, b, "pw").Files[0]); !errors.Is(err, ErrFormat) {
			t.Errorf("header size %d for %d bytes: err = %v, want ErrFormat", size, len(data), err)
		}
	}
}

func TestRejectsUnencryptedEntry(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("plain.txt")
	w.Write([]byte("not secret"))
	zw.Close()
	f := mustOpen(t, buf.Bytes(), "pw").Files[0]
	if _, err := f.Open(); !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v, want ErrFormat", err)
	}
}

func TestWriterValidation(t *testing.T) {
	for _, pw := range []string{"", strings.Repeat("x", 100), strings.Repeat("ü", 50), "\xff"} {
		if _, err := NewWriter(io.Discard, pw); err == nil {
			t.Errorf("NewWriter accepted password %q", pw)
		}
	}
	if _, err := NewWriter(io.Discard, strings.Repeat("x", 99)); err != nil {
		t.Errorf("99-byte password: %v", err)
	}
	w, _ := NewWriter(io.Discard, "pw")
	for _, name := range []string{"", ".", "/abs.csv", "../up.csv", "a/../../b", "dir/", `a\b.csv`, "a//b", "\xff.csv"} {
		if _, err := w.Create(name, time.Time{}); err == nil {
			t.Errorf("Create accepted name %q", name)
		}
	}
	first, err := w.Create("a.csv", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Create("b.csv", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Write([]byte("late")); err == nil {
		t.Error("write to a finished entry succeeded")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	if _, err := w.Create("c.csv", time.Time{}); err == nil {
		t.Error("Create after Close succeeded")
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after < len(p) {
		return 0, errors.New("disk full")
	}
	f.after -= len(p)
	return len(p), nil
}

// TestWriteErrorIsSticky: once the destination fails the archive is
// corrupt, and every later call must say so rather than carry on.
func TestWriteErrorIsSticky(t *testing.T) {
	w, _ := NewWriter(&failingWriter{after: 10_000}, "pw")
	ew, err := w.Create("a.bin", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	data := randomBytes(3, 1<<20)
	if _, err := ew.Write(data); err == nil {
		t.Fatal("writing 1 MB to a 10 kB destination succeeded")
	}
	if _, err := w.Create("b.bin", time.Time{}); err == nil {
		t.Error("Create after a failed write succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failed write succeeded")
	}
}

func TestMsDosTime(t *testing.T) {
	for _, c := range []struct {
		in   time.Time
		date uint16
		tim  uint16
	}{
		{time.Time{}, 0x21, 0},
		{time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC), 0x21, 0},
		{time.Date(2026, 3, 14, 15, 9, 27, 0, time.UTC), 46<<9 | 3<<5 | 14, 15<<11 | 9<<5 | 13},
		{time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 127<<9 | 12<<5 | 31, 23<<11 | 59<<5 | 29},
	} {
		if d, tm := msDosTime(c.in); d != c.date || tm != c.tim {
			t.Errorf("msDosTime(%v) = %#x %#x, want %#x %#x", c.in, d, tm, c.date, c.tim)
		}
	}
}
