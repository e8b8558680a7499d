// Package sunbird serves a Sunbird-compatible API (issue 15) under
// Sunbird's service paths (/v1/user/upload, /v1/upload/status/{id},
// /v1/user/read/{id}, …), so a SunbirdEd portal, the mobile app and admin
// scripts can talk to Roster through their Kong routes unchanged. It only
// translates: every request calls the same registry, upload and
// authorization code as /api/v1, and no field rule lives here.
//
// Bodies use Sunbird's envelope (envelope.go). The operations are not part
// of Roster's OpenAPI document, which describes Roster's own API;
// docs/sunbird.md lists them.
package sunbird

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/upload"
)

// Config holds the services the layer translates onto.
type Config struct {
	Registry *registry.Service
	Uploads  *upload.Service // optional: without it the upload routes answer 404
	Auth     *auth.Authenticator
	Courses  *course.Service // optional: consent and course batch routes
	Reports  *report.Service // optional: the dataset (on-demand exhaust) routes
	// ExhaustKind is the report kind a userinfo-exhaust request builds:
	// "" for seed 000's User Profile Exhaust, or
	// roster.ReportSunbirdUserInfo for Sunbird's own columns and formats.
	ExhaustKind string
	Logger      *slog.Logger
	// UploadConcurrency is how many uploads may be read at once; more are
	// answered 503. Zero means one per core.
	UploadConcurrency int
}

// Server is the Sunbird-compatible API.
type Server struct {
	cfg Config
	reg *registry.Service
	log *slog.Logger
	mux *http.ServeMux
	// uploadSlots holds one token per upload being read and parsed.
	uploadSlots chan struct{}
}

// New builds the server and registers its routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.UploadConcurrency <= 0 {
		cfg.UploadConcurrency = runtime.NumCPU()
	}
	s := &Server{cfg: cfg, reg: cfg.Registry, log: cfg.Logger, mux: http.NewServeMux(),
		uploadSlots: make(chan struct{}, cfg.UploadConcurrency)}
	s.userRoutes()
	s.uploadRoutes()
	s.consentRoutes()
	s.courseRoutes()
	s.datasetRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, r, "", &sunbirdError{status: http.StatusNotFound, key: keyResourceNotFound,
			msg: sprintf(msgResourceNotFound, "API")})
	})
	return s
}

// Handler serves every route of the layer. Mount it at the service path
// prefixes of PathPrefixes.
func (s *Server) Handler() http.Handler { return s.mux }

// PathPrefixes are the path prefixes the layer answers under; Sunbird's
// services version their paths from /v1 to /v5.
var PathPrefixes = []string{"/v1/", "/v2/", "/v3/", "/v4/", "/v5/", datasetPrefix + "/"}

// handler is a route's body: it returns the result to wrap in the
// envelope, or an error.
type handler func(ctx context.Context, p *roster.Principal, r *http.Request) (any, error)

// route registers fn under pattern for every version in versions (each
// like "/v1"); path is the rest ("/user/read/{id}"). apiID is the
// envelope's id; "" means the one derived from the request path, as
// Sunbird derives it.
func (s *Server) route(method string, versions []string, path, apiID string, fn handler) {
	for _, v := range versions {
		s.mux.HandleFunc(method+" "+v+path, func(w http.ResponseWriter, r *http.Request) {
			id := apiID
			if id == "" {
				id = responseID(r)
			}
			p, err := s.authenticate(r)
			if err != nil {
				fail(w, r, id, err)
				return
			}
			// The body is read by the handler, not by huma: bound the time
			// a slow client may take to send it, as huma's BodyReadTimeout
			// does for /api/v1.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
			out, err := fn(r.Context(), p, r)
			if err != nil {
				var se *sunbirdError
				if !errors.As(err, &se) && roster.ErrorCode(err) == roster.EINTERNAL {
					s.log.ErrorContext(r.Context(), "sunbird request failed", "route", method+" "+v+path, "err", err)
				}
				fail(w, r, id, err)
				return
			}
			respond(w, r, id, http.StatusOK, out)
		})
	}
}

// userTokenHeader carries the signed-in user's token through Kong; the
// Authorization header then holds the gateway's API key, which Kong has
// checked already (Sunbird's AccessTokenValidator reads the user from
// x-authenticated-user-token; controller/app/util/RequestInterceptor.java).
const userTokenHeader = "x-authenticated-user-token"

// authenticate finds the caller. Behind Kong the user's token is in
// x-authenticated-user-token and Authorization holds the gateway's key;
// a script calling Roster directly may send its Roster or IdP token as
// Authorization: Bearer instead. Either token goes through Roster's
// own verification (its tokens, or the configured OIDC issuer, which
// accepts Keycloak's f:<federation>:<userId> subjects). The gateway's key
// is never taken as proof of a user.
func (s *Server) authenticate(r *http.Request) (*roster.Principal, error) {
	token := strings.TrimSpace(r.Header.Get(userTokenHeader))
	if token == "" {
		token = bearer(r.Header.Get("Authorization"))
	}
	if token == "" || len(token) > maxToken {
		return nil, auth.Unauthorized
	}
	return s.cfg.Auth.Authenticate(r.Context(), token)
}

// bodyReadTimeout is the time a request body may take to arrive; a 10 MB
// file on a slow school connection takes a minute or two.
const bodyReadTimeout = 2 * time.Minute

// maxToken bounds a token before any parsing; Keycloak's access tokens
// are a few kilobytes.
const maxToken = 16 << 10

func bearer(h string) string {
	const prefix = "bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):])
	}
	return ""
}
