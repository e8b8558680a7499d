package registry

import (
	"context"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/store"
)

const msgOperatorOnly = "only an operator command may set a password this way"

// SetPasswordByOperator gives a user a new password from the command line
// (`roster demo --reset`), where the operator already holds the database;
// no signed-in principal may call it. Like a change of one's own password
// it ends the sessions and tokens issued before.
func (s *Service) SetPasswordByOperator(ctx context.Context, p *roster.Principal, userID, next string) error {
	if p == nil || !p.System {
		return roster.Errorf(roster.EFORBIDDEN, msgOperatorOnly)
	}
	if msg := CheckPassword(next); msg != "" {
		return roster.Invalid(roster.FieldError{Field: FieldNewPassword, Message: msg})
	}
	hash, err := s.hashPassword(ctx, password.Interactive, next)
	if err != nil {
		return err
	}
	return store.InTx(ctx, s.db, func(tx store.Tx) error {
		rec, err := store.GetUser(ctx, tx, userID)
		if err != nil {
			return storeErr(err, "user")
		}
		now := roster.Now()
		rec.PasswordHash, rec.UpdatedBy, rec.UpdatedDate = hash, p.UserID, &now
		if err := store.UpdateUser(ctx, tx, rec); err != nil {
			return err
		}
		return endSessions(ctx, tx, p.UserID, rec.ID, "operator")
	})
}
