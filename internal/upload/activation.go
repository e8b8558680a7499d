package upload

import (
	"context"
	"log/slog"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/registry"
)

// Activator sends a user created without a password the code that lets
// them set one (internal/signup).
type Activator interface {
	SendActivation(ctx context.Context, c registry.SignUpContact) error
}

// MsgNoActivation is a created row's note when no activation message
// could be sent: only a contact the row marks verified gets one.
const MsgNoActivation = "created without a password, but no activation message could be sent: the row marks no email or phone as verified; mark one verified and ask for a password reset, or give a password"

// FieldActivation names that note in the row's errors.
const FieldActivation = "activation"

// activationContact is where a row's activation message goes: the email
// if the row marks it verified, else the phone if it does; ok is false
// when neither is.
func activationContact(nu registry.NewUser) (registry.SignUpContact, bool) {
	if nu.EmailVerified != nil && *nu.EmailVerified && nu.User.Email != "" {
		return registry.SignUpContact{Email: nu.User.Email}, true
	}
	if nu.PhoneVerified != nil && *nu.PhoneVerified && nu.User.Phone != "" {
		return registry.SignUpContact{Phone: nu.User.Phone}, true
	}
	return registry.SignUpContact{}, false
}

// sendActivations sends the messages of a committed chunk. A failure is
// logged without the address and does not undo the users: an
// administrator's reset (POST /users/{id}/password-reset) sends another.
func (s *Service) sendActivations(ctx context.Context, up *roster.Upload, to []registry.SignUpContact) {
	for _, c := range to {
		if err := s.Activation.SendActivation(ctx, c); err != nil {
			slog.WarnContext(ctx, "upload: activation message not sent", "upload", up.ID, "error", roster.ErrorMessage(err))
		}
	}
}
