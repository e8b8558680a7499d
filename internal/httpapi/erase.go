package httpapi

import (
	"context"
	"net/http"

	"github.com/roster-dev/roster/internal/registry"
)

type eraseUserInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Password string `json:"password" maxLength:"1024" format:"password" doc:"The caller's own password, to confirm"`
	}
}

// eraseRoutes: erasure is its own operation, not a flavour of delete, since
// it cannot be undone and needs the caller's password.
func (s *Server) eraseRoutes() {
	o := op("eraseUser", http.MethodPost, "/users/{id}/erase", "Erase a user for good (right to erasure)", "users")
	o.Description = "Crypto-shreds the user: their data key is destroyed, so their email, phone, recovery contacts and " +
		"external ids can no longer be decrypted anywhere, backups included; every personal field is blanked, " +
		"their lookups are released and every session ends. Their id, memberships and enrolments remain for counts; " +
		"reports show them with blank personal fields and no consent. The user themself or an admin who manages them " +
		"may erase; the caller confirms with their own password (a wrong one counts towards the sign-in delays, 429). " +
		"Erasing an erased user gives 409."
	o.DefaultStatus = http.StatusNoContent
	o.Errors = append(o.Errors, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests)
	register(s, o, s.eraseUser)
}

func (s *Server) eraseUser(ctx context.Context, in *eraseUserInput) (*struct{}, error) {
	p := caller(ctx)
	accounts, client := []string{"user:" + p.UserID}, infoFrom(ctx).client
	if ok, wait := s.throttle.Allowed(accounts, client); !ok {
		return nil, tooManySignIns(wait)
	}
	err := s.reg.EraseUser(ctx, p, in.ID, in.Body.Password)
	if err == registry.ErrErasePassword {
		s.throttle.Failed(accounts, client)
	}
	if err != nil {
		return nil, err
	}
	s.throttle.Succeeded(accounts)
	s.auth.Forget(in.ID)
	return nil, nil
}
