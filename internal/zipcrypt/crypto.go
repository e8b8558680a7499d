package zipcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/subtle"
	"fmt"
)

// Constants of the WinZip AES format (https://www.winzip.com/en/support/aes-encryption/).
const (
	methodWinZipAES = 99     // compression method that means "see the 0x9901 extra field"
	extraWinZipAES  = 0x9901 // extra field ID of the AES parameters
	vendorAE1       = 1      // AE-1: CRC is stored and must be checked
	vendorAE2       = 2      // AE-2: CRC is zero; the HMAC is the only integrity check
	strengthAES256  = 3

	verifierLen   = 2
	macLen        = 10 // HMAC-SHA1 truncated to 80 bits, as the format prescribes
	kdfIterations = 1000

	// versionAES is "version needed to extract" for AES entries; 7-Zip
	// writes 5.1 (APPNOTE: "AES encryption") and WinZip expects it.
	versionAES = 51

	// maxPasswordLen is the longest password 7-Zip accepts for WinZip AES
	// (kPasswordSizeMax in its WzAes.h, on decryption too). A longer one
	// would produce archives that our users' 7-Zip refuses to open.
	maxPasswordLen = 99
)

// keySize returns the AES key length for a WinZip strength code (1, 2, 3).
// The salt is half as long as the key.
func keySize(strength byte) (int, error) {
	switch strength {
	case 1, 2, 3:
		return 8 * (int(strength) + 1), nil
	}
	return 0, fmt.Errorf("%w: unknown AES strength %d", ErrFormat, strength)
}

type entryKeys struct {
	aes, mac []byte
	verifier []byte
}

// deriveKeys runs the format's PBKDF2. The password is used as its UTF-8
// bytes, which is what WinZip and 7-Zip in a UTF-8 locale use; see the
// package comment for the non-ASCII caveat on Windows.
func deriveKeys(password string, salt []byte, keyLen int) (entryKeys, error) {
	dk, err := pbkdf2.Key(sha1.New, password, salt, kdfIterations, 2*keyLen+verifierLen)
	if err != nil {
		return entryKeys{}, err
	}
	return entryKeys{aes: dk[:keyLen], mac: dk[keyLen : 2*keyLen], verifier: dk[2*keyLen:]}, nil
}

// ctrStream is AES in counter mode as WinZip (Brian Gladman's fileenc)
// defines it: the counter block is a little-endian integer starting at 1.
// crypto/cipher's CTR increments big-endian, so it cannot be used; the two
// agree only on the very first block, which is why a test that encrypts
// less than 16 bytes would not notice the difference.
type ctrStream struct {
	block   cipher.Block
	counter [aes.BlockSize]byte
	ks      [32 * aes.BlockSize]byte // keystream computed in batches
	pos     int
}

func newCTR(key []byte) (*ctrStream, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	c := &ctrStream{block: b}
	c.pos = len(c.ks)
	return c, nil
}

func (c *ctrStream) refill() {
	for i := 0; i < len(c.ks); i += aes.BlockSize {
		for j := range c.counter { // little-endian increment, carry upwards
			c.counter[j]++
			if c.counter[j] != 0 {
				break
			}
		}
		c.block.Encrypt(c.ks[i:i+aes.BlockSize], c.counter[:])
	}
	c.pos = 0
}

// xor sets dst = src XOR keystream; dst and src may be the same slice.
func (c *ctrStream) xor(dst, src []byte) {
	for len(src) > 0 {
		if c.pos == len(c.ks) {
			c.refill()
		}
		n := subtle.XORBytes(dst, src, c.ks[c.pos:])
		c.pos += n
		dst, src = dst[n:], src[n:]
	}
}
