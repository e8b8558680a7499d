package otp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/otp"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/testkit"
)

var mail = otp.Destination{Channel: otp.ChannelEmail, Address: "asha@example.org"}

// clock is a test clock the service reads; advancing it expires codes
// without sleeping.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newService(t *testing.T, db store.Engine) (*otp.Service, *clock) {
	s := otp.New(db, testkit.Keyring(t))
	c := &clock{t: roster.Now()}
	s.Now = c.now
	return s, c
}

func fieldMessage(t *testing.T, err error) string {
	t.Helper()
	e, ok := err.(*roster.Error)
	if !ok || e.Code != roster.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != otp.Field {
		t.Fatalf("want an invalid code error, got %v", err)
	}
	return e.Fields[0].Message
}

func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestCodes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db store.Engine) {
		ctx := context.Background()
		t.Run("issued code verifies once and is stored only hashed", func(t *testing.T) {
			s, _ := newService(t, db)
			code, err := s.Issue(ctx, otp.PurposeSignUp, mail, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
				t.Fatalf("code %q is not six digits", code)
			}
			var stored string
			if err := db.QueryRow(ctx, `SELECT dest_hash || client_hash || code_hash FROM one_time_code`).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			for _, clear := range []string{code, mail.Address, "192.0.2.1"} {
				if strings.Contains(stored, clear) {
					t.Fatalf("one_time_code holds %q in clear", clear)
				}
			}
			other := otp.Destination{Channel: otp.ChannelEmail, Address: "ravi@example.org"}
			if msg := fieldMessage(t, s.Verify(ctx, otp.PurposeSignUp, other, code)); msg != otp.MsgNone {
				t.Fatalf("code for another address: %q", msg)
			}
			if err := s.Verify(ctx, otp.PurposeSignUp, mail, code); err != nil {
				t.Fatalf("right code refused: %v", err)
			}
			if msg := fieldMessage(t, s.Verify(ctx, otp.PurposeSignUp, mail, code)); msg != otp.MsgSpent {
				t.Fatalf("reused code: %q", msg)
			}
		})
		t.Run("expired code is refused", func(t *testing.T) {
			s, c := newService(t, db)
			d := otp.Destination{Channel: otp.ChannelSMS, Address: "+919876543210"}
			code, err := s.Issue(ctx, otp.PurposeSignUp, d, "")
			if err != nil {
				t.Fatal(err)
			}
			c.advance(otp.DefaultTTL)
			if msg := fieldMessage(t, s.Verify(ctx, otp.PurposeSignUp, d, code)); msg != otp.MsgExpired {
				t.Fatalf("expired code: %q", msg)
			}
		})
		t.Run("wrong guesses kill the code", func(t *testing.T) {
			s, _ := newService(t, db)
			d := otp.Destination{Channel: otp.ChannelEmail, Address: "guess@example.org"}
			code, err := s.Issue(ctx, otp.PurposeSignUp, d, "")
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < otp.DefaultMaxAttempts; i++ {
				if msg := fieldMessage(t, s.Verify(ctx, otp.PurposeSignUp, d, wrong(code))); msg != otp.MsgWrong {
					t.Fatalf("guess %d: %q", i, msg)
				}
			}
			if msg := fieldMessage(t, s.Verify(ctx, otp.PurposeSignUp, d, wrong(code))); msg != otp.MsgSpent {
				t.Fatalf("last allowed guess: %q", msg)
			}
			if msg := fieldMessage(t, s.Verify(ctx, otp.PurposeSignUp, d, code)); msg != otp.MsgSpent {
				t.Fatalf("right code after the attempt limit: %q", msg)
			}
		})
		t.Run("a code of one purpose or channel does not pass for another", func(t *testing.T) {
			s, _ := newService(t, db)
			d := otp.Destination{Channel: otp.ChannelEmail, Address: "purpose@example.org"}
			code, err := s.Issue(ctx, otp.PurposeSignUp, d, "")
			if err != nil {
				t.Fatal(err)
			}
			if msg := fieldMessage(t, s.Verify(ctx, otp.Purpose("password_reset"), d, code)); msg != otp.MsgNone {
				t.Fatalf("other purpose: %q", msg)
			}
			sms := otp.Destination{Channel: otp.ChannelSMS, Address: d.Address}
			if msg := fieldMessage(t, s.Verify(ctx, otp.PurposeSignUp, sms, code)); msg != otp.MsgNone {
				t.Fatalf("other channel: %q", msg)
			}
		})
		t.Run("a resend retires the earlier code", func(t *testing.T) {
			s, c := newService(t, db)
			d := otp.Destination{Channel: otp.ChannelEmail, Address: "resend@example.org"}
			first, err := s.Issue(ctx, otp.PurposeSignUp, d, "")
			if err != nil {
				t.Fatal(err)
			}
			c.advance(otp.DefaultCooldown)
			second, err := s.Issue(ctx, otp.PurposeSignUp, d, "")
			if err != nil {
				t.Fatal(err)
			}
			if first != second {
				if msg := fieldMessage(t, s.Verify(ctx, otp.PurposeSignUp, d, first)); msg != otp.MsgWrong {
					t.Fatalf("earlier code: %q", msg)
				}
			}
			if err := s.Verify(ctx, otp.PurposeSignUp, d, second); err != nil {
				t.Fatalf("newest code refused: %v", err)
			}
		})
		t.Run("throttled per destination", func(t *testing.T) {
			s, c := newService(t, db)
			d := otp.Destination{Channel: otp.ChannelEmail, Address: "flood@example.org"}
			if _, err := s.Issue(ctx, otp.PurposeSignUp, d, ""); err != nil {
				t.Fatal(err)
			}
			_, err := s.Issue(ctx, otp.PurposeSignUp, d, "")
			wantTooMany(t, err, otp.MsgTooSoon)
			for i := 1; i < otp.DefaultPerDestPerHour; i++ {
				c.advance(otp.DefaultCooldown)
				if _, err := s.Issue(ctx, otp.PurposeSignUp, d, ""); err != nil {
					t.Fatalf("code %d: %v", i+1, err)
				}
			}
			c.advance(otp.DefaultCooldown)
			_, err = s.Issue(ctx, otp.PurposeSignUp, d, "")
			wantTooMany(t, err, otp.MsgDestLimit)
			c.advance(time.Hour)
			if _, err := s.Issue(ctx, otp.PurposeSignUp, d, ""); err != nil {
				t.Fatalf("an hour later: %v", err)
			}
		})
		t.Run("throttled per client", func(t *testing.T) {
			s, _ := newService(t, db)
			s.PerClientPerHour = 3
			for i := range 3 {
				d := otp.Destination{Channel: otp.ChannelEmail, Address: "client" + string(rune('a'+i)) + "@example.org"}
				if _, err := s.Issue(ctx, otp.PurposeSignUp, d, "198.51.100.7"); err != nil {
					t.Fatal(err)
				}
			}
			d := otp.Destination{Channel: otp.ChannelEmail, Address: "clientz@example.org"}
			_, err := s.Issue(ctx, otp.PurposeSignUp, d, "198.51.100.7")
			wantTooMany(t, err, otp.MsgClientLimit)
			if _, err := s.Issue(ctx, otp.PurposeSignUp, d, "198.51.100.8"); err != nil {
				t.Fatalf("another client: %v", err)
			}
		})
	})
}

func wantTooMany(t *testing.T, err error, msg string) {
	t.Helper()
	e, ok := err.(*roster.Error)
	if !ok || e.Code != roster.ETOOMANY || e.Message != msg || e.RetryAfter <= 0 {
		t.Fatalf("want 429 %q with RetryAfter, got %#v", msg, err)
	}
}
