package httpapi

import (
	"context"
	"net/http"

	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/signup"
)

type resetConfirmInput struct {
	Body struct {
		Email       string `json:"email,omitempty" maxLength:"320" doc:"the address the code was sent to: email or phone"`
		Phone       string `json:"phone,omitempty" maxLength:"40"`
		Code        string `json:"code,omitempty" maxLength:"16"`
		NewPassword string `json:"newPassword,omitempty" maxLength:"1024" format:"password" doc:"8 to 128 characters"`
	}
}

type adminResetInput struct {
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) resetRoutes() {
	req := public(op("passwordReset", http.MethodPost, "/auth/reset", "Forgot password: get a code to set a new one", "auth"))
	req.Description = "Sends a one-time code to the email or phone given, only when an active account holds it and has it " +
		"verified. The answer is the same whether or not the address is registered or verified. " +
		"Codes are throttled per address and per client: 429 with Retry-After."
	req.DefaultStatus = http.StatusAccepted
	req.Errors = []int{http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	register(s, req, s.passwordReset)

	confirm := public(op("passwordResetConfirm", http.MethodPost, "/auth/reset/confirm", "Set a new password with the reset code", "auth"))
	confirm.Description = "Needs the address the code was sent to, the code and the new password. A code expires after 10 minutes, " +
		"works once and dies after 5 wrong tries; wrong tries also slow further ones from the same client (429 with Retry-After). " +
		"Every session and token of the account ends; the user signs in again with the new password."
	confirm.Errors = []int{http.StatusUnprocessableEntity, http.StatusTooManyRequests}
	register(s, confirm, s.passwordResetConfirm)

	admin := op("userPasswordReset", http.MethodPost, "/users/{id}/password-reset", "Send a user a code to choose a new password", "users")
	admin.Description = "For an administrator who may set the user's password. The code goes to the user's verified email, " +
		"else their verified phone; the caller sees neither the code nor the address, and never the new password. " +
		"422 when the user has no verified contact. Audited."
	admin.DefaultStatus = http.StatusAccepted
	admin.Errors = append(admin.Errors, http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable)
	register(s, admin, s.userPasswordReset)
}

func (s *Server) passwordReset(ctx context.Context, in *resendInput) (*signUpOutput, error) {
	return s.sendCode(ctx, in, s.cfg.SignUp.RequestReset)
}

// passwordResetConfirm counts wrong codes in the sign-in throttle, per
// address and per client, as sign-up verification does.
func (s *Server) passwordResetConfirm(ctx context.Context, in *resetConfirmInput) (*verifyOutput, error) {
	c := registry.SignUpContact{Email: in.Body.Email, Phone: in.Body.Phone}
	return s.checkCode(ctx, c, signup.MsgResetDone, func() error {
		return s.cfg.SignUp.ConfirmReset(ctx, c, in.Body.Code, in.Body.NewPassword)
	})
}

func (s *Server) userPasswordReset(ctx context.Context, in *adminResetInput) (*verifyOutput, error) {
	r, err := s.cfg.SignUp.AdminReset(ctx, caller(ctx), in.ID, infoFrom(ctx).client)
	if err != nil {
		return nil, err
	}
	out := &verifyOutput{}
	out.Body.Message = r.Message
	return out, nil
}
