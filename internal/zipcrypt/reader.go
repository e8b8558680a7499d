package zipcrypt

import (
	"archive/zip"
	"compress/flate"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"time"
)

var (
	// ErrPassword means the password verifier stored with an entry does not
	// match. The verifier is only 2 bytes, so about 1 wrong password in
	// 65536 passes it and is then reported as ErrAuthentication.
	ErrPassword = errors.New("zipcrypt: wrong password")

	// ErrAuthentication means the entry's data does not match its MAC: the
	// archive is damaged or was tampered with.
	ErrAuthentication = errors.New("zipcrypt: authentication failed: archive is damaged or was modified")

	// ErrFormat means an entry is not WinZip AES encrypted, uses a variant
	// this package does not read, or is inconsistent with its headers.
	ErrFormat = errors.New("zipcrypt: unsupported or malformed entry")
)

// Reader lists the entries of an archive.
type Reader struct {
	Files []*File
}

// File is one entry. Its fields come from the central directory, which
// the format does not authenticate.
type File struct {
	Name     string
	Modified time.Time
	Size     uint64 // uncompressed size; Open checks the data against it

	zf       *zip.File
	ra       io.ReaderAt
	password string
}

// OpenReader reads the archive's directory. The password is checked per
// entry, by File.Open.
func OpenReader(r io.ReaderAt, size int64, password string) (*Reader, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("zipcrypt: %w", err)
	}
	files := make([]*File, len(zr.File))
	for i, zf := range zr.File {
		files[i] = &File{Name: zf.Name, Modified: zf.Modified, Size: zf.UncompressedSize64, zf: zf, ra: r, password: password}
	}
	return &Reader{Files: files}, nil
}

type aesParams struct {
	vendorVersion uint16
	strength      byte
	method        uint16
}

func (f *File) aesParams() (aesParams, error) {
	zf := f.zf
	// A plaintext entry inside an archive we expect to be encrypted is
	// refused rather than served, so it cannot pass as authenticated data.
	if zf.Method != methodWinZipAES || zf.Flags&flagEncrypted == 0 {
		return aesParams{}, fmt.Errorf("%w: %q is not WinZip AES encrypted", ErrFormat, f.Name)
	}
	for extra := zf.Extra; len(extra) >= 4; {
		id := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		if len(extra) < 4+n {
			break
		}
		body := extra[4 : 4+n]
		extra = extra[4+n:]
		if id != extraWinZipAES {
			continue
		}
		if n != 7 || string(body[2:4]) != "AE" {
			break
		}
		p := aesParams{
			vendorVersion: binary.LittleEndian.Uint16(body),
			strength:      body[4],
			method:        binary.LittleEndian.Uint16(body[5:]),
		}
		if p.vendorVersion != vendorAE1 && p.vendorVersion != vendorAE2 {
			return p, fmt.Errorf("%w: %q has AES vendor version %d", ErrFormat, f.Name, p.vendorVersion)
		}
		if p.method != zip.Store && p.method != zip.Deflate {
			return p, fmt.Errorf("%w: %q uses compression method %d", ErrFormat, f.Name, p.method)
		}
		return p, nil
	}
	return aesParams{}, fmt.Errorf("%w: %q has no valid AES extra field", ErrFormat, f.Name)
}

// Open checks the password and authenticates the whole entry before
// returning a reader for its plaintext, so a caller never sees data that
// fails the MAC. That costs a second pass over the ciphertext (HMAC only,
// much cheaper than inflating). The reader authenticates again while
// decrypting, in case the underlying data changed between the passes, and
// then returns ErrAuthentication instead of io.EOF.
func (f *File) Open() (io.ReadCloser, error) {
	p, err := f.aesParams()
	if err != nil {
		return nil, err
	}
	keyLen, err := keySize(p.strength)
	if err != nil {
		return nil, err
	}
	saltLen := keyLen / 2
	overhead := uint64(saltLen + verifierLen + macLen)
	if f.zf.CompressedSize64 < overhead || f.zf.CompressedSize64 > 1<<62 {
		return nil, fmt.Errorf("%w: %q has impossible size %d", ErrFormat, f.Name, f.zf.CompressedSize64)
	}
	off, err := f.zf.DataOffset()
	if err != nil {
		return nil, fmt.Errorf("zipcrypt: %w", err)
	}
	ctLen := int64(f.zf.CompressedSize64 - overhead)
	ctOff := off + int64(saltLen+verifierLen)

	head := make([]byte, saltLen+verifierLen)
	if _, err := f.ra.ReadAt(head, off); err != nil {
		return nil, fmt.Errorf("zipcrypt: reading %q: %w", f.Name, err)
	}
	keys, err := deriveKeys(f.password, head[:saltLen], keyLen)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(keys.verifier, head[saltLen:]) != 1 {
		return nil, ErrPassword
	}
	want := make([]byte, macLen)
	if _, err := f.ra.ReadAt(want, ctOff+ctLen); err != nil {
		return nil, fmt.Errorf("zipcrypt: reading %q: %w", f.Name, err)
	}

	mac := hmac.New(sha1.New, keys.mac)
	if _, err := io.Copy(mac, io.NewSectionReader(f.ra, ctOff, ctLen)); err != nil {
		return nil, fmt.Errorf("zipcrypt: reading %q: %w", f.Name, err)
	}
	if !hmac.Equal(mac.Sum(nil)[:macLen], want) {
		return nil, ErrAuthentication
	}

	ctr, err := newCTR(keys.aes)
	if err != nil {
		return nil, err
	}
	d := &decrypter{r: io.NewSectionReader(f.ra, ctOff, ctLen), ctr: ctr, mac: hmac.New(sha1.New, keys.mac)}
	fr := &fileReader{f: f, d: d, want: want, plain: d}
	if p.method == zip.Deflate {
		fr.inflate = flate.NewReader(d)
		fr.plain = fr.inflate
	}
	if p.vendorVersion == vendorAE1 {
		fr.crc = crc32.NewIEEE()
	}
	return fr, nil
}

// decrypter MACs and decrypts ciphertext as it is read.
type decrypter struct {
	r   io.Reader
	ctr *ctrStream
	mac hash.Hash
}

func (d *decrypter) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.mac.Write(p[:n])
	d.ctr.xor(p[:n], p[:n])
	return n, err
}

type fileReader struct {
	f       *File
	d       *decrypter
	inflate io.ReadCloser // nil for stored entries
	plain   io.Reader
	crc     hash.Hash32 // AE-1 only
	want    []byte
	n       uint64
	err     error
}

func (r *fileReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.plain.Read(p)
	r.n += uint64(n)
	if r.crc != nil {
		r.crc.Write(p[:n])
	}
	switch {
	case r.n > r.f.Size:
		r.err = r.finish(fmt.Errorf("%w: %q is longer than its header says", ErrFormat, r.f.Name))
	case err == io.EOF:
		r.err = r.finish(nil)
	case err != nil:
		r.err = r.finish(fmt.Errorf("%w: %q: %v", ErrFormat, r.f.Name, err))
	}
	if r.err != nil {
		return n, r.err
	}
	return n, nil
}

// finish hashes whatever ciphertext the decompressor did not consume and
// reports, in order of severity: a MAC mismatch, then cause (a decoding
// error), then size and CRC mismatches; io.EOF if all is well.
func (r *fileReader) finish(cause error) error {
	if _, err := io.Copy(io.Discard, r.d); err != nil {
		return fmt.Errorf("zipcrypt: reading %q: %w", r.f.Name, err)
	}
	if !hmac.Equal(r.d.mac.Sum(nil)[:macLen], r.want) {
		return ErrAuthentication
	}
	if cause != nil {
		return cause
	}
	if r.n != r.f.Size {
		return fmt.Errorf("%w: %q has %d bytes, header says %d", ErrFormat, r.f.Name, r.n, r.f.Size)
	}
	if r.crc != nil && r.crc.Sum32() != r.f.zf.CRC32 {
		return fmt.Errorf("%w: %q fails its CRC-32", ErrFormat, r.f.Name)
	}
	return io.EOF
}

func (r *fileReader) Close() error {
	if r.inflate != nil {
		return r.inflate.Close()
	}
	return nil
}
