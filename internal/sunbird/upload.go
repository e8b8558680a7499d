package sunbird

import (
	"context"
	"net/http"

	"github.com/roster-dev/roster"
)

func (s *Server) uploadRoutes() {
	if s.cfg.Uploads == nil {
		return
	}
}

func (s *Server) searchUser(ctx context.Context, p *roster.Principal, r *http.Request) (any, error) {
	return nil, errNotImplemented
}
