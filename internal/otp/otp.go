// Package otp issues and checks one-time codes: six digits sent to an
// email address or a phone to prove the person holds it. Sign-up
// verification is the first purpose; password reset and account linking
// will be others. A code is stored only as a keyed hash bound to its
// purpose and destination, expires, works once, dies after a few wrong
// guesses, and is throttled per destination and per client, so neither a
// copy of the database nor a guesser gets an account.
package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// Purpose is what a code proves; a code of one purpose never passes for
// another.
type Purpose string

// The purposes.
const (
	PurposeSignUp Purpose = "signup"
	// PurposeReset proves an address to set a forgotten password (the
	// user asked, or an administrator asked for them).
	PurposeReset Purpose = "reset"
	// PurposeActivate proves the address of a user created without a
	// password (an upload), who sets their first one with it.
	PurposeActivate Purpose = "activate"
)

// Channel is how a code travels.
type Channel string

// The channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// Destination is where a code goes: an email address (lower-cased) or a
// phone number (E.164), normalised by the caller as the rule book does.
type Destination struct {
	Channel Channel
	Address string
}

// Field is the input field a code error names.
const Field = "code"

// Messages; user-facing, no values in them.
const (
	MsgWrong       = "is not the code we sent; check it and try again"
	MsgExpired     = "has expired; ask for a new code"
	MsgSpent       = "can no longer be used; ask for a new code"
	MsgNone        = "no code was sent for this address; ask for a code"
	MsgTooSoon     = "a code was sent a moment ago; wait before asking for another"
	MsgDestLimit   = "too many codes were sent to this address; try again later"
	MsgClientLimit = "too many codes were asked for from your network; try again later"
)

// Defaults of Service's limits.
const (
	DefaultTTL              = 10 * time.Minute
	DefaultMaxAttempts      = 5
	DefaultCooldown         = time.Minute
	DefaultPerDestPerHour   = 5
	DefaultPerClientPerHour = 20
	// keep is how long rows are kept for the throttles to count.
	keep = 24 * time.Hour
)

// Service issues and verifies codes.
type Service struct {
	db   store.Engine
	keys *pii.Keyring
	key  []byte
	// Now is the clock; tests move it to expire codes.
	Now func() time.Time
	// TTL is how long a code is valid; MaxAttempts how many wrong
	// guesses kill it.
	TTL         time.Duration
	MaxAttempts int
	// Cooldown is the least time between two codes to one destination;
	// PerDestPerHour and PerClientPerHour bound codes per hour to one
	// destination and from one client address.
	Cooldown         time.Duration
	PerDestPerHour   int
	PerClientPerHour int
}

// New returns a Service with the default limits.
func New(db store.Engine, keys *pii.Keyring) *Service {
	return &Service{db: db, keys: keys, key: keys.OneTimeCodeKey(), Now: roster.Now,
		TTL: DefaultTTL, MaxAttempts: DefaultMaxAttempts, Cooldown: DefaultCooldown,
		PerDestPerHour: DefaultPerDestPerHour, PerClientPerHour: DefaultPerClientPerHour}
}

func (s *Service) destHash(d Destination) string {
	return s.keys.OneTimeCodeDestination(string(d.Channel), d.Address)
}

func (s *Service) clientHash(client string) string {
	if client == "" {
		return ""
	}
	return s.keys.BlindIndex("otp-client", client)
}

func (s *Service) codeHash(p Purpose, d Destination, code string) string {
	mac := hmac.New(sha256.New, s.key)
	fmt.Fprintf(mac, "%s\x00%s\x00%s\x00%s", p, d.Channel, d.Address, code)
	return hex.EncodeToString(mac.Sum(nil))
}

// newCode is six uniformly random digits.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // the system random source failed
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// Issue makes a new code of purpose for d, asked for by client (the
// caller's network address; empty for none), and returns it for the
// caller to send. It refuses with ETOOMANY and RetryAfter when d or
// client has had its share. The newest code is the only one that works.
func (s *Service) Issue(ctx context.Context, p Purpose, d Destination, client string) (string, error) {
	now := s.Now()
	dest, cl := s.destHash(d), s.clientHash(client)
	if err := s.throttle(ctx, dest, cl, now); err != nil {
		return "", err
	}
	if _, err := store.DeleteOneTimeCodesBefore(ctx, s.db, now.Add(-keep)); err != nil {
		return "", err
	}
	code := newCode()
	err := store.InsertOneTimeCode(ctx, s.db, store.OneTimeCode{ID: roster.NewID(), Purpose: string(p),
		DestHash: dest, ClientHash: cl, CodeHash: s.codeHash(p, d, code), CreatedAt: now, ExpiresAt: now.Add(s.TTL)})
	if err != nil {
		return "", err
	}
	return code, nil
}

// throttle checks the cooldown and the hourly budgets. Two requests in the
// same instant may both pass; the budgets bound a flood, not one more.
func (s *Service) throttle(ctx context.Context, dest, client string, now time.Time) error {
	last, err := store.LastOneTimeCodeToDest(ctx, s.db, dest)
	if err != nil && !errors.Is(err, store.ErrNoRows) {
		return err
	}
	if err == nil && now.Sub(last) < s.Cooldown {
		return tooMany(MsgTooSoon, last.Add(s.Cooldown).Sub(now))
	}
	hourAgo := now.Add(-time.Hour)
	if n, err := store.CountOneTimeCodesToDest(ctx, s.db, dest, hourAgo); err != nil {
		return err
	} else if n >= s.PerDestPerHour {
		return tooMany(MsgDestLimit, time.Hour)
	}
	if client == "" {
		return nil
	}
	if n, err := store.CountOneTimeCodesFromClient(ctx, s.db, client, hourAgo); err != nil {
		return err
	} else if n >= s.PerClientPerHour {
		return tooMany(MsgClientLimit, time.Hour)
	}
	return nil
}

func tooMany(msg string, wait time.Duration) error {
	return &roster.Error{Code: roster.ETOOMANY, Message: msg, RetryAfter: wait}
}

func invalid(msg string) error {
	return roster.Invalid(roster.FieldError{Field: Field, Message: msg})
}

// IsNoCode reports whether err is Verify's answer that no code of the
// purpose was ever sent to the destination.
func IsNoCode(err error) bool {
	var e *roster.Error
	return errors.As(err, &e) && len(e.Fields) == 1 && e.Fields[0].Message == MsgNone
}

// Verify checks code against the newest code of purpose sent to d and, if
// it matches, uses it up. Every refusal is EINVALID on the field "code".
func (s *Service) Verify(ctx context.Context, p Purpose, d Destination, code string) error {
	c, err := store.LatestOneTimeCode(ctx, s.db, string(p), s.destHash(d))
	if errors.Is(err, store.ErrNoRows) {
		return invalid(MsgNone)
	} else if err != nil {
		return err
	}
	now := s.Now()
	switch {
	case c.UsedAt != nil || c.Attempts >= s.MaxAttempts:
		return invalid(MsgSpent)
	case !now.Before(c.ExpiresAt):
		return invalid(MsgExpired)
	}
	if !hmac.Equal([]byte(s.codeHash(p, d, code)), []byte(c.CodeHash)) {
		n, err := store.CountOneTimeCodeAttempt(ctx, s.db, c.ID)
		if err != nil {
			return err
		}
		if n >= s.MaxAttempts {
			return invalid(MsgSpent)
		}
		return invalid(MsgWrong)
	}
	if ok, err := store.UseOneTimeCode(ctx, s.db, c.ID, now); err != nil {
		return err
	} else if !ok {
		return invalid(MsgSpent)
	}
	return nil
}
