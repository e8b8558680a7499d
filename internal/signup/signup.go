// Package signup is self sign-up: a visitor creates an account in the
// custodian organisation and activates it with a one-time code sent to
// their email or phone. Password reset (reset.go) uses the same codes. The registry owns the account and the rule book,
// internal/otp the code, internal/notify the message; this package puts
// them in order and makes every answer the same whether or not the
// address was already registered.
package signup

import (
	"context"
	"strings"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/notify"
	"github.com/roster-dev/roster/internal/otp"
	"github.com/roster-dev/roster/internal/registry"
)

// DefaultTncVersion is the platform terms version accepted at sign-up
// when none is configured (--tnc-version).
const DefaultTncVersion = "v1"

// MsgCheckInbox is the one answer to a sign-up or a resend, whoever holds
// the address.
const MsgCheckInbox = "if this address can be used, a code is on its way: enter it with your password to activate the account"

// Service signs users up.
type Service struct {
	reg   *registry.Service
	codes *otp.Service
	send  notify.Sender
	// TncVersion is the current platform terms version.
	TncVersion string
}

// New returns the sign-up service.
func New(reg *registry.Service, codes *otp.Service, send notify.Sender) *Service {
	return &Service{reg: reg, codes: codes, send: send, TncVersion: DefaultTncVersion}
}

// Request is a sign-up as the form gives it.
type Request struct {
	FirstName, LastName string
	Email, Phone        string
	Password            string
	YearOfBirth         string
	State, District     string // location codes
	TncVersion          string
	// Client is the caller's network address, for the code throttles.
	Client string
}

// Result is what the caller may be told.
type Result struct {
	// UserID and Username are set only for a parent's managed child,
	// which is active at once; a visitor learns nothing about the address.
	UserID   string
	Username string
	Message  string
}

func (r Request) newUser() registry.NewUser {
	now := roster.Now()
	in := registry.NewUser{Password: r.Password, YearOfBirth: r.YearOfBirth, User: roster.User{
		FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Phone: r.Phone,
		TncAcceptedVersion: strings.TrimSpace(r.TncVersion), TncAcceptedOn: &now,
	}}
	for _, l := range []roster.LocationRef{{Code: r.State, Type: roster.LocationState}, {Code: r.District, Type: roster.LocationDistrict}} {
		if strings.TrimSpace(l.Code) != "" {
			in.User.ProfileLocation = append(in.User.ProfileLocation, l)
		}
	}
	return in
}

// check applies the rule book and the current terms version.
func (s *Service) check(ctx context.Context, in *registry.NewUser) error {
	if err := s.reg.CheckSignUp(ctx, in); err != nil {
		return err
	}
	if f := registry.CheckTncVersion(in.User.TncAcceptedVersion, s.TncVersion); f != nil {
		return roster.Invalid(*f)
	}
	return nil
}

// SignUpChild signs up p's child, under 18 by year of birth, as a managed
// user: no contact of its own, managedBy p, active at once.
func (s *Service) SignUpChild(ctx context.Context, p *roster.Principal, r Request) (*Result, error) {
	if p == nil {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "sign in first")
	}
	in := r.newUser()
	if strings.TrimSpace(r.YearOfBirth) != "" && !registry.IsMinor(r.YearOfBirth, roster.Now()) {
		return nil, roster.Invalid(roster.FieldError{Field: registry.FieldYearOfBirth, Message: MsgChildOnly})
	}
	in.User.ManagedBy = p.UserID
	if err := s.check(ctx, &in); err != nil {
		return nil, err
	}
	u, err := s.reg.SignUp(ctx, p, in)
	if err != nil {
		return nil, err
	}
	return &Result{UserID: u.ID, Username: u.Username, Message: MsgChildCreated}, nil
}

// SignUp signs up a visitor. It sends a code to the address, or a notice
// to its owner when it is already registered; the answer is the same.
func (s *Service) SignUp(ctx context.Context, r Request) (*Result, error) {
	in := r.newUser()
	if err := s.check(ctx, &in); err != nil {
		return nil, err
	}
	dest, err := destination(registry.SignUpContact{Email: in.User.Email, Phone: in.User.Phone})
	if err != nil {
		return nil, err
	}
	if !s.send.Can(channel(dest)) {
		return nil, unavailable(dest)
	}
	// The code is issued first, for taken addresses too: the throttles
	// then count every sign-up alike and refuse before any account is
	// made.
	code, err := s.codes.Issue(ctx, otp.PurposeSignUp, dest, r.Client)
	if err != nil {
		return nil, err
	}
	u, err := s.reg.SignUp(ctx, nil, in)
	outcome := u.Outcome
	if roster.ErrorCode(err) == roster.ECONFLICT {
		// Another sign-up for the address committed first.
		outcome, err = registry.SignUpTaken, nil
	}
	if err != nil {
		return nil, err
	}
	m := notify.Message{Channel: channel(dest), To: dest.Address, Template: notify.SignUpCode,
		Data: notify.Data{Code: code, Minutes: s.minutes()}}
	if outcome == registry.SignUpTaken {
		m.Template, m.Data = notify.SignUpExisting, notify.Data{}
	}
	if err := s.send.Send(ctx, m); err != nil {
		return nil, err
	}
	return &Result{Message: MsgCheckInbox}, nil
}

// MsgChildCreated answers a parent who signed up their child.
const MsgChildCreated = "the account is ready: your child signs in with the username shown and the password you chose"

func (s *Service) minutes() int { return int(s.codes.TTL.Minutes()) }

// Resend sends a new code to a pending sign-up's address; for any other
// address nothing is sent, with the same answer.
func (s *Service) Resend(ctx context.Context, c registry.SignUpContact, client string) (*Result, error) {
	return s.codeIf(ctx, c, client, otp.PurposeSignUp, notify.SignUpCode, s.reg.PendingSignUp, MsgCheckInbox)
}

// codeIf issues a code of purpose for c's address and sends it with tmpl
// only when eligible says the address may have one; the answer is msg
// either way, so nobody learns which addresses are registered. The code
// is issued even when it is not sent, so the throttles count every
// request alike.
func (s *Service) codeIf(ctx context.Context, c registry.SignUpContact, client string, purpose otp.Purpose, tmpl notify.Template,
	eligible func(ctx context.Context, typ, value string) (bool, error), msg string) (*Result, error) {
	dest, err := destination(c)
	if err != nil {
		return nil, err
	}
	if !s.send.Can(channel(dest)) {
		return nil, unavailable(dest)
	}
	code, err := s.codes.Issue(ctx, purpose, dest, client)
	if err != nil {
		return nil, err
	}
	ok, err := eligible(ctx, lookupType(dest), dest.Address)
	if err != nil {
		return nil, err
	}
	if ok {
		err = s.send.Send(ctx, notify.Message{Channel: channel(dest), To: dest.Address, Template: tmpl,
			Data: notify.Data{Code: code, Minutes: s.minutes()}})
		if err != nil {
			return nil, err
		}
	}
	return &Result{Message: msg}, nil
}

// Verify activates the pending sign-up of an address when both its
// password and the code match: the code proves the address, the password
// that the person holding it is the one who signed up last.
func (s *Service) Verify(ctx context.Context, c registry.SignUpContact, pw, code string) (string, error) {
	dest, err := destination(c)
	if err != nil {
		return "", err
	}
	id, err := s.reg.CheckPendingPassword(ctx, lookupType(dest), dest.Address, pw)
	if err != nil {
		return "", err
	}
	if err := s.codes.Verify(ctx, otp.PurposeSignUp, dest, strings.TrimSpace(code)); err != nil {
		return "", err
	}
	return id, s.reg.ActivateSignUp(ctx, id, lookupType(dest))
}

func destination(c registry.SignUpContact) (otp.Destination, error) {
	typ, value, err := registry.NormaliseContact(c)
	if err != nil {
		return otp.Destination{}, err
	}
	if typ == roster.LookupEmail {
		return otp.Destination{Channel: otp.ChannelEmail, Address: value}, nil
	}
	return otp.Destination{Channel: otp.ChannelSMS, Address: value}, nil
}

func channel(d otp.Destination) notify.Channel {
	if d.Channel == otp.ChannelEmail {
		return notify.Email
	}
	return notify.SMS
}

func lookupType(d otp.Destination) string {
	if d.Channel == otp.ChannelEmail {
		return roster.LookupEmail
	}
	return roster.LookupPhone
}

func unavailable(d otp.Destination) error {
	msg := notify.MsgNoEmail
	if d.Channel == otp.ChannelSMS {
		msg = notify.MsgNoSMS
	}
	return &roster.Error{Code: roster.EUNAVAILABLE, Message: msg}
}

// MsgChildOnly refuses POST /signup/child for an adult's year of birth.
const MsgChildOnly = "is not under 18: adults sign up themselves"

// The channels a code can go by, for callers that only ask whether one
// works.
const (
	ChannelEmail = notify.Email
	ChannelSMS   = notify.SMS
)

// Can reports whether codes can be sent on ch.
func (s *Service) Can(ch notify.Channel) bool { return s.send.Can(ch) }
