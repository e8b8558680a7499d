package registry

import (
	"context"
	"log/slog"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/notify"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/store"
)

// noticeDecision tells the declarer the state's answer (issue 11.2, 11.5),
// by email to a verified email, else by SMS to a verified phone. It runs
// after the decision committed: a message that cannot go out is logged
// (the declaration's id and the error's kind, never an address or text)
// and does not undo the decision, which the teacher also sees on their
// profile.
func (s *Service) noticeDecision(ctx context.Context, v *DeclarationView) {
	if s.Notices == nil || v == nil {
		return
	}
	m, ok, err := s.decisionMessage(ctx, v)
	if err == nil && ok {
		err = s.Notices.Send(ctx, m)
	}
	if err != nil {
		s.log().Warn("decision notice not sent", "declaration", v.ID, "code", roster.ErrorCode(err), "err", err)
	} else if !ok {
		s.log().Info("decision notice not sent: the user has no verified address on a configured channel", "declaration", v.ID)
	}
}

// decisionMessage is the notice for v, or ok false when the declarer has
// no verified address a configured channel reaches.
func (s *Service) decisionMessage(ctx context.Context, v *DeclarationView) (notify.Message, bool, error) {
	rec, err := store.GetUser(ctx, s.db, v.UserID)
	if err != nil || rec.IsDeleted {
		return notify.Message{}, false, err
	}
	uk, err := s.readKey(ctx, s.db, rec.ID)
	if err != nil {
		return notify.Message{}, false, err
	}
	m := notify.Message{Template: notify.DeclarationRejected, Data: notify.Data{Org: v.SchoolName, Reason: v.Reason}}
	if v.Status == roster.DeclarationApproved {
		m.Template = notify.DeclarationApproved
	}
	for _, c := range []struct {
		ch       notify.Channel
		verified bool
		enc      []byte
		field    string
	}{
		{notify.Email, rec.EmailVerified, rec.EmailEnc, "email"},
		{notify.SMS, rec.PhoneVerified, rec.PhoneEnc, "phone"},
	} {
		if !c.verified || len(c.enc) == 0 || !s.Notices.Can(c.ch) {
			continue
		}
		to, err := uk.Open(c.enc, pii.UserField(rec.ID, c.field))
		if err != nil {
			return notify.Message{}, false, err
		}
		if to != "" {
			m.Channel, m.To = c.ch, to
			return m, true, nil
		}
	}
	return notify.Message{}, false, nil
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
