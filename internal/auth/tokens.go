// Package auth turns credentials into a roster.Principal. Roster issues its
// own short-lived JWTs after a password login and also accepts tokens from
// an external OpenID Connect provider. Neither kind of token carries roles:
// every request loads the caller's current memberships from the registry
// (through a cache of a few seconds), so blocking a user or removing a role
// takes effect without waiting for tokens to expire.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/roster-dev/roster/internal/keyfile"
)

// TokenIssuer is the iss claim of tokens Roster signs.
const TokenIssuer = "roster"

// DefaultTokenTTL is how long a login lasts.
const DefaultTokenTTL = 12 * time.Hour

// ErrInvalidToken is returned for any token that cannot be trusted. Callers
// get no detail on purpose: "expired" vs "bad signature" only helps attackers.
var ErrInvalidToken = errors.New("auth: invalid or expired token")

// Tokens signs and verifies Roster's own HS256 tokens.
type Tokens struct {
	key []byte
	TTL time.Duration
	now func() time.Time
}

// NewTokens returns a token signer; ttl <= 0 means DefaultTokenTTL.
func NewTokens(key []byte, ttl time.Duration) (*Tokens, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: signing key must be at least 32 bytes")
	}
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &Tokens{key: key, TTL: ttl, now: time.Now}, nil
}

// claims are a Roster token's: the registered ones and the user's session
// generation when it was issued ("gen", absent for generation 0).
type claims struct {
	jwt.RegisteredClaims
	Generation int64 `json:"gen,omitempty"`
}

// Issue returns a signed token for userID in session generation gen (the
// principal's SessionGeneration) and its expiry.
func (t *Tokens) Issue(userID string, gen int64) (string, time.Time, error) {
	now := t.now().UTC().Truncate(time.Second)
	exp := now.Add(t.TTL)
	c := claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    TokenIssuer,
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	}, Generation: gen}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	return s, exp, err
}

// Verify checks signature, issuer and expiry and returns the user id and
// the session generation the token was issued in.
func (t *Tokens) Verify(token string) (string, int64, error) {
	var claims claims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return t.key, nil },
		// Pinning the algorithm closes the alg=none and RS/HS confusion holes.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(TokenIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(30*time.Second),
	)
	if err != nil || claims.Subject == "" {
		return "", 0, ErrInvalidToken
	}
	return claims.Subject, claims.Generation, nil
}

// LoadKey returns the token signing key: the value of ROSTER_JWT_KEY when
// set (base64 of at least 32 bytes, or any string of at least 32 characters),
// otherwise the key file at path, created with a fresh random key when it is
// missing. A persistent key keeps users logged in across restarts; replicas
// must share it.
func LoadKey(value, path string) ([]byte, error) {
	if value = strings.TrimSpace(value); value != "" {
		if raw, err := base64.StdEncoding.DecodeString(value); err == nil && len(raw) >= 32 {
			return raw, nil
		}
		if len(value) >= 32 {
			return []byte(value), nil
		}
		return nil, errors.New("auth: ROSTER_JWT_KEY must be base64 of at least 32 bytes")
	}
	data, err := keyfile.ReadOrCreate(path, func() ([]byte, error) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		return []byte(base64.StdEncoding.EncodeToString(raw) + "\n"), nil
	})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) < 32 {
		return nil, fmt.Errorf("auth: key file %s must hold base64 of at least 32 bytes", path)
	}
	return raw, nil
}
