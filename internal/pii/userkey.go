package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
)

// Per-user data keys make erasure possible by crypto-shredding: every
// personal value of a user is sealed under that user's own random data key
// (DEK), and the DEK is stored only wrapped (sealed) by the key ring.
// Destroying the one wrapped DEK leaves every copy of the user's values,
// backups and dumps included, undecryptable, while rotating the ring only
// re-wraps 32 bytes per user instead of re-encrypting every value.
//
// Two ciphertext formats live side by side, told apart by the first byte:
//
//	1 (formatVersion)   sealed directly by the ring: 1, len(keyID), keyID, nonce, sealed
//	2 (userKeyVersion)  sealed by the user's DEK:     2, nonce, sealed
//
// Values written before per-user keys are format 1 and keep opening; a
// user gets a DEK when created or, for older users, at their next change
// or when `roster keys rewrap` moves their values onto one.
const userKeyVersion = 2

// ErrErased is returned when a value was sealed under a data key that no
// longer exists: the user has been erased.
var ErrErased = errors.New("pii: the user's data key has been destroyed")

// UserKey is the handle one user's personal values are sealed and opened
// with. A handle without a DEK opens only ring-sealed (format 1) values.
type UserKey struct {
	userID string
	dek    cipher.AEAD
	ring   *Sealer
}

// UserID is the user the key belongs to.
func (u *UserKey) UserID() string { return u.userID }

// HasDataKey reports whether the handle holds a DEK, and so can seal.
func (u *UserKey) HasDataKey() bool { return u.dek != nil }

// Seal encrypts plaintext under the user's DEK, bound to context (a
// binding of bindings.go naming this user's row). Empty plaintext seals to
// nil. Sealing for a user without a DEK is a programming error: the
// registry gives every user it writes a DEK first.
func (u *UserKey) Seal(plaintext, context string) []byte {
	if plaintext == "" {
		return nil
	}
	if u.dek == nil {
		panic("pii: sealing a personal value of a user who has no data key")
	}
	out := make([]byte, 0, 1+u.dek.NonceSize()+len(plaintext)+u.dek.Overhead())
	out = append(out, userKeyVersion)
	nonce := make([]byte, u.dek.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	out = append(out, nonce...)
	return u.dek.Seal(out, nonce, []byte(plaintext), []byte(context))
}

// Open decrypts a value of this user sealed either by Seal or, before the
// user had a DEK, by the ring. A DEK-sealed value of a user whose DEK is
// gone fails with ErrErased.
func (u *UserKey) Open(ciphertext []byte, context string) (string, error) {
	if len(ciphertext) == 0 {
		return "", nil
	}
	if ciphertext[0] != userKeyVersion {
		return u.ring.Open(ciphertext, context)
	}
	if u.dek == nil {
		return "", ErrErased
	}
	rest := ciphertext[1:]
	if len(rest) < u.dek.NonceSize()+u.dek.Overhead() {
		return "", ErrDecrypt
	}
	pt, err := u.dek.Open(nil, rest[:u.dek.NonceSize()], rest[u.dek.NonceSize():], []byte(context))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}

// SealedByRing reports whether a value is still sealed directly by the ring
// (format 1), i.e. not yet under its user's DEK.
func SealedByRing(ciphertext []byte) bool {
	return len(ciphertext) > 0 && ciphertext[0] == formatVersion
}

// NewUserKey makes a fresh DEK for userID and returns its handle, the DEK
// wrapped by the primary key (the value to store) and that key's id.
func (k *Sealer) NewUserKey(userID string) (uk *UserKey, wrapped []byte, keyID string) {
	dek := make([]byte, 32)
	if _, err := rand.Read(dek); err != nil {
		panic(err)
	}
	return &UserKey{userID: userID, dek: newAEAD(dek), ring: k}, k.Seal(string(dek), UserKeyWrap(userID)), k.primary
}

// UnwrapUserKey opens a stored wrapped DEK of userID.
func (k *Sealer) UnwrapUserKey(userID string, wrapped []byte) (*UserKey, error) {
	dek, err := k.Open(wrapped, UserKeyWrap(userID))
	if err != nil || len(dek) != 32 {
		return nil, ErrDecrypt
	}
	return &UserKey{userID: userID, dek: newAEAD([]byte(dek)), ring: k}, nil
}

// NoUserKey is the handle of a user without a stored DEK: one from before
// per-user keys (their values open with the ring) or an erased one (their
// DEK-sealed values fail with ErrErased).
func (k *Sealer) NoUserKey(userID string) *UserKey {
	return &UserKey{userID: userID, ring: k}
}

// RewrapUserKey re-wraps a stored DEK under the primary key, for moving
// users off a retired key without touching the values the DEK seals. It
// returns the new wrapped value and the primary key's id.
func (k *Sealer) RewrapUserKey(userID string, wrapped []byte) ([]byte, string, error) {
	dek, err := k.Open(wrapped, UserKeyWrap(userID))
	if err != nil || len(dek) != 32 {
		return nil, "", ErrDecrypt
	}
	return k.Seal(dek, UserKeyWrap(userID)), k.primary, nil
}

func newAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // 32 bytes always make a key
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// UserKeys unwraps DEKs for one job (a report reads many users, some
// several times across a course's batches). It keeps up to max unwrapped
// DEKs, 32 bytes each rather than a whole AES-GCM state, so the cache stays
// small next to a report's flat memory; a handle is rebuilt from its DEK,
// which costs an AES key expansion but no unwrapping.
type UserKeys struct {
	ring  *Sealer
	max   int
	cache map[string][]byte
}

// NewUserKeys returns an empty cache of at most max DEKs.
func (k *Sealer) NewUserKeys(max int) *UserKeys {
	return &UserKeys{ring: k, max: max, cache: map[string][]byte{}}
}

// Get returns userID's handle from their stored wrapped DEK (nil when the
// user has none).
func (c *UserKeys) Get(userID string, wrapped []byte) (*UserKey, error) {
	if len(wrapped) == 0 {
		return c.ring.NoUserKey(userID), nil
	}
	dek, ok := c.cache[userID]
	if !ok {
		pt, err := c.ring.Open(wrapped, UserKeyWrap(userID))
		if err != nil || len(pt) != 32 {
			return nil, ErrDecrypt
		}
		dek = []byte(pt)
		if len(c.cache) < c.max {
			c.cache[userID] = dek
		}
	}
	return &UserKey{userID: userID, dek: newAEAD(dek), ring: c.ring}, nil
}
