// Package zipcrypt writes and reads password-protected zip files in the
// WinZip AES-256 format (AE-2), the only zip encryption that is both
// secure and opened by 7-Zip and WinZip. (Legacy "ZipCrypto" is broken by
// known-plaintext attacks, so it is not offered.)
//
// Writing streams: an entry of any size is deflated, encrypted and
// authenticated on the fly, using a fixed amount of memory, because the
// reports we export can be hundreds of megabytes.
//
// Interoperability notes, each a limit of the format or of the readers
// our users have rather than of this code:
//   - Windows Explorer's built-in zip support has historically decrypted
//     only legacy ZipCrypto, so it cannot be relied on to open these
//     archives; users need 7-Zip, WinZip or a similar tool.
//   - The format does not say how a password becomes bytes. We use UTF-8
//     (as WinZip does, and 7-Zip in a UTF-8 locale), but 7-Zip on Windows
//     converts the typed password to the ANSI code page, so a non-ASCII
//     password may not open there. Prefer ASCII passwords for archives
//     meant for people.
//   - Passwords longer than 99 bytes are refused, because 7-Zip refuses
//     them when extracting.
//   - Only the entry data is authenticated. Names, sizes and timestamps in
//     the zip headers are not covered by the MAC (a limit of WinZip AES).
//   - Entries of 4 GiB or more are written the way archive/zip writes
//     its own large files: ZIP64 sizes in the central directory and a
//     64-bit data descriptor, without a ZIP64 extra in the local header.
//     7-Zip reads that; strictly streaming readers may not.
package zipcrypt

import (
	"archive/zip"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
)

const (
	flagEncrypted      = 0x1
	flagDataDescriptor = 0x8 // sizes follow the data, so we never seek or buffer
	flagUTF8           = 0x800

	saltLen256 = 16
	keyLen256  = 32
)

var errClosed = errors.New("zipcrypt: writer is closed")

// Writer writes an encrypted zip archive. It is not safe for concurrent use.
type Writer struct {
	zw       *zip.Writer
	password string

	// Reused across entries: a deflate writer allocates about 1 MB, and
	// the scratch buffer keeps encryption from allocating per Write.
	comp    *flate.Writer
	scratch []byte

	cur    *entryWriter
	err    error // sticky: after a failed write the archive is unusable
	closed bool
}

// NewWriter returns a Writer that writes an archive to w, encrypting every
// entry with password. Close must be called to finish the archive; it does
// not close w.
func NewWriter(w io.Writer, password string) (*Writer, error) {
	switch {
	case password == "":
		return nil, errors.New("zipcrypt: empty password")
	case len(password) > maxPasswordLen:
		return nil, fmt.Errorf("zipcrypt: password is %d bytes; 7-Zip accepts at most %d", len(password), maxPasswordLen)
	case !utf8.ValidString(password):
		return nil, errors.New("zipcrypt: password is not valid UTF-8")
	}
	return &Writer{zw: zip.NewWriter(w), password: password}, nil
}

// Create starts a new encrypted, deflated entry called name (a slash
// separated relative path) and returns a writer for its plaintext. The
// entry is finished by the next Create or by Close; writes after that fail.
//
// modified is stored twice, because readers disagree on which to show: as
// MS-DOS date and time in modified's own location (what most tools
// display) and as a Unix timestamp (unambiguous). A zero time is stored
// as 1980-01-01, the earliest MS-DOS date.
func (w *Writer) Create(name string, modified time.Time) (io.Writer, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.closed {
		return nil, errClosed
	}
	// Refuse names that an extractor could resolve outside its target
	// directory; a backslash is a separator on Windows.
	if !utf8.ValidString(name) || !fs.ValidPath(name) || name == "." || strings.Contains(name, `\`) {
		return nil, fmt.Errorf("zipcrypt: invalid entry name %q", name)
	}
	if err := w.finishEntry(); err != nil {
		return nil, w.fail(err)
	}

	salt := make([]byte, saltLen256)
	rand.Read(salt) // never fails since Go 1.24
	keys, err := deriveKeys(w.password, salt, keyLen256)
	if err != nil {
		return nil, w.fail(err)
	}
	ctr, err := newCTR(keys.aes)
	if err != nil {
		return nil, w.fail(err)
	}

	fh := &zip.FileHeader{
		Name:   name,
		Method: methodWinZipAES,
		// Always UTF-8: names come from our own code, and CreateRaw (unlike
		// CreateHeader) does not set the flag for us.
		Flags: flagEncrypted | flagDataDescriptor | flagUTF8,
		Extra: append(timeExtra(modified), aesExtra(vendorAE2, strengthAES256, zip.Deflate)...),
	}
	// Unix attributes, or unzip on Linux/macOS would create the file with
	// mode 0000.
	fh.SetMode(0o644)
	fh.CreatorVersion = fh.CreatorVersion&0xff00 | versionAES
	fh.ReaderVersion = versionAES
	fh.ModifiedDate, fh.ModifiedTime = msDosTime(modified)
	// CRC32 stays 0 (AE-2), and the sizes are filled in by finishEntry:
	// archive/zip keeps fh and writes the data descriptor and central
	// directory from it only after this entry's data.

	raw, err := w.zw.CreateRaw(fh)
	if err != nil {
		return nil, w.fail(err)
	}
	if _, err := raw.Write(append(salt, keys.verifier...)); err != nil {
		return nil, w.fail(err)
	}
	if w.scratch == nil {
		w.scratch = make([]byte, 32<<10)
	}
	enc := &encrypter{w: raw, ctr: ctr, mac: hmac.New(sha1.New, keys.mac), buf: w.scratch}
	if w.comp == nil {
		w.comp, err = flate.NewWriter(enc, flate.DefaultCompression)
		if err != nil {
			return nil, w.fail(err)
		}
	} else {
		w.comp.Reset(enc)
	}
	w.cur = &entryWriter{w: w, fh: fh, enc: enc}
	return w.cur, nil
}

// Close finishes the last entry and writes the central directory. It does
// not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errClosed
	}
	w.closed = true
	if err := w.finishEntry(); err != nil {
		return w.fail(err)
	}
	if err := w.zw.Close(); err != nil {
		return w.fail(err)
	}
	return nil
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// finishEntry flushes the deflate stream, appends the MAC and records the
// final sizes in the entry's header, which archive/zip then writes in the
// data descriptor (when the next entry starts or at Close) and in the
// central directory.
func (w *Writer) finishEntry() error {
	e := w.cur
	if e == nil {
		return nil
	}
	w.cur = nil
	e.done = true
	if err := w.comp.Close(); err != nil {
		return err
	}
	if _, err := e.enc.w.Write(e.enc.mac.Sum(nil)[:macLen]); err != nil {
		return err
	}
	fh := e.fh
	fh.CompressedSize64 = saltLen256 + verifierLen + e.enc.n + macLen
	fh.UncompressedSize64 = e.n
	// The 32-bit fields must say 0xFFFFFFFF when the ZIP64 values apply;
	// archive/zip derives them only for entries it compresses itself.
	fh.CompressedSize = uint32(min(fh.CompressedSize64, math.MaxUint32))
	fh.UncompressedSize = uint32(min(fh.UncompressedSize64, math.MaxUint32))
	return nil
}

// entryWriter is what Create returns: plaintext in, deflate, then encrypt.
type entryWriter struct {
	w    *Writer
	fh   *zip.FileHeader
	enc  *encrypter
	n    uint64 // plaintext bytes, for the uncompressed size
	done bool
}

func (e *entryWriter) Write(p []byte) (int, error) {
	if e.done {
		return 0, fmt.Errorf("zipcrypt: write to finished entry %q", e.fh.Name)
	}
	if e.w.err != nil {
		return 0, e.w.err
	}
	n, err := e.w.comp.Write(p)
	e.n += uint64(n)
	if err != nil {
		return n, e.w.fail(err)
	}
	return n, nil
}

// encrypter encrypts the deflate output and MACs the ciphertext
// (encrypt-then-MAC, as the format specifies).
type encrypter struct {
	w   io.Writer
	ctr *ctrStream
	mac hash.Hash
	// buf holds ciphertext: io.Writer forbids modifying the caller's p.
	buf []byte
	n   uint64 // ciphertext bytes written
}

func (e *encrypter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		c := e.buf[:min(len(p), len(e.buf))]
		e.ctr.xor(c, p[:len(c)])
		e.mac.Write(c)
		n, err := e.w.Write(c)
		written += n
		e.n += uint64(n)
		if err != nil {
			return written, err
		}
		p = p[len(c):]
	}
	return written, nil
}

// aesExtra is the 0x9901 extra field that tells readers how to decrypt.
func aesExtra(vendorVersion uint16, strength byte, method uint16) []byte {
	b := make([]byte, 0, 11)
	b = binary.LittleEndian.AppendUint16(b, extraWinZipAES)
	b = binary.LittleEndian.AppendUint16(b, 7)
	b = binary.LittleEndian.AppendUint16(b, vendorVersion)
	b = append(b, 'A', 'E', strength)
	return binary.LittleEndian.AppendUint16(b, method)
}

// timeExtra is the Info-ZIP extended timestamp (0x5455), which archive/zip
// adds in CreateHeader but not in CreateRaw. Unlike the MS-DOS fields it
// is unambiguous about the time zone. It is omitted when the time does not
// fit its unsigned 32-bit Unix seconds.
func timeExtra(t time.Time) []byte {
	sec := t.Unix()
	if t.IsZero() || sec < 0 || sec > math.MaxUint32 {
		return nil
	}
	b := make([]byte, 0, 9)
	b = binary.LittleEndian.AppendUint16(b, 0x5455)
	b = binary.LittleEndian.AppendUint16(b, 5)
	b = append(b, 1) // flags: modification time present
	return binary.LittleEndian.AppendUint32(b, uint32(sec))
}

// msDosTime encodes t in its own location (readers show it as local time),
// clamped to the years the format can represent (1980-2107).
func msDosTime(t time.Time) (date, tim uint16) {
	if t.Year() < 1980 {
		return 1<<5 | 1, 0 // 1980-01-01 00:00:00
	}
	if t.Year() > 2107 {
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, t.Location())
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tim = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tim
}
