package httpapi

import (
	"context"
	"net/http"

	"github.com/roster-dev/roster"
)

type tncOutput struct {
	Body struct {
		Terms []roster.TncVersion `json:"terms" doc:"The current version of each kind published so far; empty when none is, and then nothing waits for acceptance"`
	}
}

type acceptTncInput struct {
	Body struct {
		Kind    string `json:"kind" enum:"platform,orgAdminTnc,reportViewerTnc"`
		Version string `json:"version" maxLength:"32" doc:"The current version, as GET /tnc shows it"`
	}
}

type acceptTncOutput struct {
	Body struct {
		Principal *roster.Principal `json:"principal" doc:"The caller as they are now; pendingTnc lists what is still to accept"`
	}
}

func (s *Server) tncRoutes() {
	cur := public(described(op("currentTnc", http.MethodGet, "/tnc", "The current terms and conditions", "auth"),
		"The current version of each kind of terms and conditions, read before signing in. Needs no caller."))
	cur.Description = "Public: the current version of each kind of terms (platform, orgAdminTnc, reportViewerTnc) and where to read it. " +
		"A user must accept the current version of every kind that applies to them (platform: everyone; orgAdminTnc: holders of ORG_ADMIN; " +
		"reportViewerTnc: content creators); sign-in and /me list what is pending in principal.pendingTnc."
	register(s, cur, s.currentTnc)

	acc := op("acceptTnc", http.MethodPost, "/me/tnc", "Accept the current version of a kind of terms", "auth")
	acc.Description = "Records tncAcceptedVersion and tncAcceptedOn for the platform terms and allTncAccepted[kind] for the others. " +
		"Only the current version can be accepted (422 otherwise). Until an ORG_ADMIN accepts the current orgAdminTnc, " +
		"every administrator's action answers 403 \"accept the org admin terms first\"; until a content creator accepts the current " +
		"reportViewerTnc, report requests and downloads answer 403 \"accept the report viewer terms first\"."
	acc.Errors = append(acc.Errors, http.StatusUnprocessableEntity)
	register(s, acc, s.acceptTnc)
}

func (s *Server) currentTnc(ctx context.Context, _ *struct{}) (*tncOutput, error) {
	terms, err := s.reg.CurrentTnc(ctx)
	if err != nil {
		return nil, err
	}
	out := &tncOutput{}
	out.Body.Terms = append([]roster.TncVersion{}, terms...)
	return out, nil
}

func (s *Server) acceptTnc(ctx context.Context, in *acceptTncInput) (*acceptTncOutput, error) {
	p := caller(ctx)
	if err := s.reg.AcceptTnc(ctx, p, in.Body.Kind, in.Body.Version); err != nil {
		return nil, err
	}
	s.auth.Forget(p.UserID)
	np, err := s.reg.Principal(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := &acceptTncOutput{}
	out.Body.Principal = np
	return out, nil
}
