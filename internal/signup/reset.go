package signup

import (
	"context"
	"strings"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/notify"
	"github.com/roster-dev/roster/internal/otp"
	"github.com/roster-dev/roster/internal/registry"
)

// Password reset by a one-time code, like sign-up: the code goes only to
// an email or phone the account has verified, the answer never says
// whether the address is registered, and the same throttles bound it.

// MsgResetSent is the one answer to a reset request, whoever holds the
// address.
const MsgResetSent = "if this address belongs to an account and is verified, a code is on its way: enter it with your new password"

// MsgResetDone answers a reset that set the password.
const MsgResetDone = "your password is set and every other session has ended: sign in with the new password"

// MsgAdminResetSent answers an administrator who asked for a user's reset.
const MsgAdminResetSent = "a code to choose a new password was sent to the user's verified contact"

// RequestReset sends a reset code to the address when an active account
// has it verified; for any other address nothing is sent, with the same
// answer. The code is issued either way so the throttles count every
// request alike.
func (s *Service) RequestReset(ctx context.Context, c registry.SignUpContact, client string) (*Result, error) {
	return s.codeIf(ctx, c, client, otp.PurposeReset, notify.ResetCode, s.reg.CanReset, MsgResetSent)
}

// ConfirmReset sets the password of the account holding the address once
// the code sent to it is given: the new password is checked first, so a
// weak one does not spend the code.
func (s *Service) ConfirmReset(ctx context.Context, c registry.SignUpContact, code, next string) error {
	dest, err := destination(c)
	if err != nil {
		return err
	}
	if msg := registry.CheckPassword(next); msg != "" {
		return roster.Invalid(roster.FieldError{Field: registry.FieldNewPassword, Message: msg})
	}
	err = s.codes.Verify(ctx, otp.PurposeReset, dest, strings.TrimSpace(code))
	if otp.IsNoCode(err) {
		// An uploaded user's first password is set with the activation
		// code, through the same page.
		err = s.codes.Verify(ctx, otp.PurposeActivate, dest, strings.TrimSpace(code))
	}
	if err != nil {
		return err
	}
	return s.reg.ResetPassword(ctx, lookupType(dest), dest.Address, next)
}

// AdminReset sends user id a reset code at their verified contact, asked
// for by p, who must be allowed to set the user's password; p learns
// neither the code nor the address.
func (s *Service) AdminReset(ctx context.Context, p *roster.Principal, id, client string) (*Result, error) {
	typ, value, err := s.reg.ResetContact(ctx, p, id)
	if err != nil {
		return nil, err
	}
	dest := otp.Destination{Channel: otp.ChannelEmail, Address: value}
	if typ == roster.LookupPhone {
		dest.Channel = otp.ChannelSMS
	}
	if !s.send.Can(channel(dest)) {
		return nil, unavailable(dest)
	}
	code, err := s.codes.Issue(ctx, otp.PurposeReset, dest, client)
	if err != nil {
		return nil, err
	}
	err = s.send.Send(ctx, notify.Message{Channel: channel(dest), To: dest.Address, Template: notify.AdminResetCode,
		Data: notify.Data{Code: code, Minutes: s.minutes()}})
	if err != nil {
		return nil, err
	}
	return &Result{Message: MsgAdminResetSent}, nil
}

// SendActivation sends a user an upload created without a password the
// code to set their first one, at the contact the upload marked verified.
func (s *Service) SendActivation(ctx context.Context, c registry.SignUpContact) error {
	dest, err := destination(c)
	if err != nil {
		return err
	}
	if !s.send.Can(channel(dest)) {
		return unavailable(dest)
	}
	code, err := s.codes.Issue(ctx, otp.PurposeActivate, dest, "")
	if err != nil {
		return err
	}
	return s.send.Send(ctx, notify.Message{Channel: channel(dest), To: dest.Address, Template: notify.ActivationCode,
		Data: notify.Data{Code: code, Minutes: s.minutes()}})
}
