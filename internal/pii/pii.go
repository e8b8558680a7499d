// Package pii protects personal data at rest. Values are sealed with
// AES-256-GCM under a key ring whose key id travels with the ciphertext, so
// keys can rotate while old rows stay readable. Equality lookups (is this
// email taken?) use a keyed HMAC "blind index" of the normalised value, which
// lets the database enforce uniqueness without ever holding plaintext.
//
// The package owns all sealing: bindings.go lists every sealed value with
// the string binding it to its row and column, and names each key Roster
// derives from another secret. Other packages call those helpers rather
// than writing their own strings or AES-GCM.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/roster-dev/roster/internal/keyfile"
)

const formatVersion = 1

// ErrDecrypt is returned when a ciphertext cannot be opened: wrong key,
// unknown key id, tampering, or a value moved to another record.
var ErrDecrypt = errors.New("pii: cannot decrypt value")

// Key is one data-encryption key of the ring.
type Key struct {
	ID  string
	Key []byte // 32 bytes
}

// Sealer seals with its primary key and opens with any key it holds.
type Sealer struct {
	primary string
	aeads   map[string]cipher.AEAD
}

// Keyring is the PII sealer plus the blind-index key and the download-link
// keys.
type Keyring struct {
	*Sealer
	indexKey []byte
	linkKeys [][]byte
}

// NewKeyring builds a ring; keys[0] is the primary (used for new writes).
// The index key must never rotate: blind indexes already stored depend on it.
// Download links are signed with a key derived from it until SetLinkKeys
// gives them keys of their own.
func NewKeyring(indexKey []byte, keys ...Key) (*Keyring, error) {
	if len(indexKey) < 32 {
		return nil, errors.New("pii: index key must be at least 32 bytes")
	}
	s, err := NewSealer(keys...)
	if err != nil {
		return nil, err
	}
	return &Keyring{Sealer: s, indexKey: indexKey, linkKeys: [][]byte{legacyLinkKey(indexKey)}}, nil
}

// SetLinkKeys gives download links their own keys: the first signs new
// links, every one verifies, so a key rotates by putting a new one first
// and dropping the old one once its links have expired.
func (k *Keyring) SetLinkKeys(keys ...[]byte) error {
	if len(keys) == 0 {
		return errors.New("pii: at least one link key is required")
	}
	for _, key := range keys {
		if len(key) < 32 {
			return errors.New("pii: link keys must be at least 32 bytes")
		}
	}
	k.linkKeys = keys
	return nil
}

// LinkKeys returns the download-link keys, the signing key first.
func (k *Keyring) LinkKeys() [][]byte { return k.linkKeys }

// LinkKeysDerived reports whether links are still signed with the key
// derived from the index key (no link key configured).
func (k *Keyring) LinkKeysDerived() bool {
	return len(k.linkKeys) == 1 && hmac.Equal(k.linkKeys[0], legacyLinkKey(k.indexKey))
}

// NewSealer builds a sealer; keys[0] is the primary (used for new writes).
func NewSealer(keys ...Key) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("pii: at least one key is required")
	}
	k := &Sealer{primary: keys[0].ID, aeads: map[string]cipher.AEAD{}}
	for _, key := range keys {
		if key.ID == "" || len(key.ID) > 32 || strings.ContainsAny(key.ID, ",:= ") {
			return nil, fmt.Errorf("pii: invalid key id %q", key.ID)
		}
		if len(key.Key) != 32 {
			return nil, fmt.Errorf("pii: key %q must be 32 bytes, got %d", key.ID, len(key.Key))
		}
		block, err := aes.NewCipher(key.Key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		if _, dup := k.aeads[key.ID]; dup {
			return nil, fmt.Errorf("pii: duplicate key id %q", key.ID)
		}
		k.aeads[key.ID] = aead
	}
	return k, nil
}

// PrimaryKeyID is the id of the key new values are sealed with.
func (k *Sealer) PrimaryKeyID() string { return k.primary }

// Seal encrypts plaintext bound to context (one of the bindings in
// bindings.go, for example UserField(id, FieldEmail) = "users/<id>/email"),
// so a ciphertext copied onto another row or column fails to open. Empty
// plaintext seals to nil: absent values stay NULL in the database.
func (k *Sealer) Seal(plaintext, context string) []byte {
	if plaintext == "" {
		return nil
	}
	aead := k.aeads[k.primary]
	out := make([]byte, 0, 2+len(k.primary)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out = append(out, formatVersion, byte(len(k.primary)))
	out = append(out, k.primary...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, []byte(plaintext), []byte(context))
}

// Open decrypts a value sealed by Seal with the same context.
func (k *Sealer) Open(ciphertext []byte, context string) (string, error) {
	if len(ciphertext) == 0 {
		return "", nil
	}
	if len(ciphertext) < 2 || ciphertext[0] != formatVersion {
		return "", ErrDecrypt
	}
	idLen := int(ciphertext[1])
	if len(ciphertext) < 2+idLen {
		return "", ErrDecrypt
	}
	aead, ok := k.aeads[string(ciphertext[2:2+idLen])]
	if !ok {
		return "", ErrDecrypt
	}
	rest := ciphertext[2+idLen:]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return "", ErrDecrypt
	}
	pt, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], []byte(context))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}

// KeyID reports which key sealed a ciphertext, so a re-encryption job can find
// rows still under a retired key.
func KeyID(ciphertext []byte) string {
	if len(ciphertext) < 2 || len(ciphertext) < 2+int(ciphertext[1]) {
		return ""
	}
	return string(ciphertext[2 : 2+int(ciphertext[1])])
}

// BlindIndex returns the keyed hash used for lookups of an already
// normalised value. The kind is mixed in so that the same string used as an
// email and as a username produce unrelated index values.
func (k *Keyring) BlindIndex(kind, normalised string) string {
	return blindIndex(k.indexKey, kind, normalised)
}

func blindIndex(indexKey []byte, kind, normalised string) string {
	mac := hmac.New(sha256.New, indexKey)
	mac.Write([]byte(kind))
	mac.Write([]byte{0})
	mac.Write([]byte(normalised))
	return hex.EncodeToString(mac.Sum(nil))
}

// keyFile is the on-disk form used by the embedded default, so a fresh
// `roster serve` has keys without any configuration.
type keyFile struct {
	IndexKey string    `json:"indexKey"`
	Keys     []fileKey `json:"keys"` // first is primary
	// LinkKeys sign download links, first signs; absent in files written
	// before links had keys of their own.
	LinkKeys []string `json:"linkKeys,omitempty"`
}

type fileKey struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// Load builds the key ring from configuration:
//   - keys: "id:base64[,id:base64...]" (first is primary), e.g. from ROSTER_PII_KEY
//   - indexKey: base64, e.g. from ROSTER_PII_INDEX_KEY
//   - linkKeys: "base64[,base64...]" (first signs), e.g. from ROSTER_REPORT_LINK_KEY
//
// When keys and indexKey are empty, the key file at path is read, or
// created with fresh random keys (mode 0600) if it does not exist. Link
// keys come from linkKeys, else from the key file; with neither, links
// are signed with a key derived from the index key, as before link keys.
func Load(keys, indexKey, linkKeys, path string) (*Keyring, error) {
	k, fileLinkKeys, err := load(keys, indexKey, path)
	if err != nil {
		return nil, err
	}
	list := fileLinkKeys
	if linkKeys != "" {
		list = strings.Split(linkKeys, ",")
	}
	if len(list) == 0 {
		return k, nil
	}
	raw := make([][]byte, len(list))
	for i, b64 := range list {
		if raw[i], err = base64.StdEncoding.DecodeString(strings.TrimSpace(b64)); err != nil {
			return nil, errors.New("pii: link keys must be base64")
		}
	}
	return k, k.SetLinkKeys(raw...)
}

func load(keys, indexKey, path string) (*Keyring, []string, error) {
	if keys != "" || indexKey != "" {
		if keys == "" || indexKey == "" {
			return nil, nil, errors.New("pii: set both the PII key list and the index key, or neither")
		}
		k, err := parse(keys, indexKey)
		return k, nil, err
	}
	data, err := keyfile.ReadOrCreate(path, newKeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("pii: %w", err)
	}
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, nil, fmt.Errorf("pii: key file %s: %w", path, err)
	}
	list := make([]string, len(f.Keys))
	for i, k := range f.Keys {
		list[i] = k.ID + ":" + k.Key
	}
	k, err := parse(strings.Join(list, ","), f.IndexKey)
	return k, f.LinkKeys, err
}

func parse(keys, indexKey string) (*Keyring, error) {
	idx, err := base64.StdEncoding.DecodeString(strings.TrimSpace(indexKey))
	if err != nil {
		return nil, errors.New("pii: index key is not base64")
	}
	var ring []Key
	for _, part := range strings.Split(keys, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, errors.New(`pii: key list entries must be "id:base64"`)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("pii: key %q is not base64", id)
		}
		ring = append(ring, Key{ID: id, Key: raw})
	}
	return NewKeyring(idx, ring...)
}

// GenerateKey returns 32 random bytes, base64 encoded.
func GenerateKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func newKeyFile() ([]byte, error) {
	return json.MarshalIndent(keyFile{IndexKey: GenerateKey(), Keys: []fileKey{{ID: "k1", Key: GenerateKey()}},
		LinkKeys: []string{GenerateKey()}}, "", "  ")
}
