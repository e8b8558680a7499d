// Package httpapi is Roster's HTTP interface: a huma v2 API on net/http
// whose OpenAPI 3.1 document is served at /openapi.json, plus the
// operational endpoints /healthz, /readyz and /metrics. Handlers are thin:
// they authenticate the caller, translate JSON to service calls and map
// *roster.Error to RFC 9457 problem responses. Authorization lives in the
// services, so the same rules hold for the CLI and background jobs.
package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/i18n"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/signup"
	"github.com/roster-dev/roster/internal/upload"
)

// Prefix is where the versioned API lives.
const Prefix = "/api/v1"

// SessionCookie carries the token for the web console. It is HttpOnly (no
// script can read it) and SameSite=Strict. SameSite alone does not stop
// cross-site request forgery: another origin of the same site (another port
// or a sibling subdomain) still gets the cookie attached. See CSRFHeader.
const SessionCookie = "roster_session"

// CSRFHeader must accompany every state-changing request authenticated by
// the session cookie (any value; the console sends "1"). A page of another
// origin cannot send it: a form cannot set headers, and a script's
// cross-origin request with a custom header needs a CORS preflight that
// Roster never grants. On top of that, browsers' Sec-Fetch-Site and Origin
// headers must say the request is same-origin (http.CrossOriginProtection).
// Bearer-token requests need neither: a browser never adds the token on its
// own.
const CSRFHeader = "X-Roster-CSRF"

// Config holds the server's dependencies.
type Config struct {
	Registry *registry.Service
	Courses  *course.Service // optional: course, batch, enrolment and consent routes
	Reports  *report.Service // optional: User Profile Exhaust routes
	Uploads  *upload.Service // optional: bulk CSV registration routes
	SignUp   *signup.Service // optional: self sign-up routes
	Auth     *auth.Authenticator
	// OIDCLogin, when set, adds browser sign-in with the OIDC provider.
	OIDCLogin *auth.OIDCLogin
	Logger    *slog.Logger
	// Metrics receives the HTTP collectors; Gatherer is what /metrics
	// serves. Both default to a fresh registry.
	Metrics  prometheus.Registerer
	Gatherer prometheus.Gatherer
	// Ready reports whether the service can take traffic (database reachable,
	// migrations applied, not shutting down). nil means always ready.
	Ready func(ctx context.Context) error
	// Web, when set, serves the web console at "/".
	Web http.Handler
	// SecureCookie marks the session cookie Secure (set it when the service
	// is reached over HTTPS, directly or through a proxy).
	SecureCookie bool
	// UploadConcurrency is how many uploads may be read and parsed at once;
	// more wait briefly, then get 503 with Retry-After. Zero means one per core.
	UploadConcurrency int
	Version           string
	// Sunbird, when set, serves the Sunbird-compatible API (internal/sunbird)
	// under each of SunbirdPrefixes, behind the same request logging,
	// metrics and cross-origin checks as the rest.
	Sunbird         http.Handler
	SunbirdPrefixes []string
}

// Server is the HTTP API.
type Server struct {
	cfg      Config
	reg      *registry.Service
	auth     *auth.Authenticator
	log      *slog.Logger
	metrics  *Metrics
	mux      *http.ServeMux
	api      huma.API
	handler  http.Handler
	throttle *loginThrottle
	// uploadSlots holds one token per upload being read (gateUploads).
	uploadSlots chan struct{}
}

// New builds the server and registers every route.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		r := prometheus.NewRegistry()
		cfg.Metrics, cfg.Gatherer = r, r
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.DefaultGatherer
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{
		cfg:      cfg,
		reg:      cfg.Registry,
		auth:     cfg.Auth,
		log:      cfg.Logger,
		metrics:  NewMetrics(cfg.Metrics),
		mux:      http.NewServeMux(),
		throttle: newLoginThrottle(),
	}
	if cfg.UploadConcurrency <= 0 {
		cfg.UploadConcurrency = defaultUploadConcurrency()
	}
	s.uploadSlots = make(chan struct{}, cfg.UploadConcurrency)

	hc := huma.DefaultConfig("Roster API", cfg.Version)
	hc.Info.Description = "User and organisation registry with encrypted PII, bulk CSV registration and course reports."
	// /openapi.json and /openapi.yaml. The interactive docs page would load
	// scripts from a CDN, which a self-contained service must not do.
	hc.OpenAPIPath = "/openapi"
	hc.DocsPath = ""
	// Drop the "$schema" link huma adds to every body: it is noise for
	// clients and leaks nothing useful.
	hc.CreateHooks = nil
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "A token from POST /api/v1/auth/login, or an ID/access token of the configured OIDC provider."},
		"cookie": {Type: "apiKey", In: "cookie", Name: SessionCookie,
			Description: "Set by POST /api/v1/auth/login for the web console."},
	}
	describeDocument(&hc)
	hc.Transformers = append(hc.Transformers, translateProblems)
	hideErrorValues()
	s.api = humago.New(s.mux, hc)
	s.api.UseMiddleware(s.refuseControlChars, s.authenticate, s.boundBody, s.gateUploads, s.honourIdempotencyKey)

	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	if cfg.Web != nil {
		s.mux.Handle("/", cfg.Web)
	} else {
		s.mux.HandleFunc("GET /{$}", placeholder)
	}

	if cfg.Sunbird != nil {
		for _, prefix := range cfg.SunbirdPrefixes {
			s.mux.Handle(prefix, cfg.Sunbird)
		}
	}

	s.authRoutes()
	s.tncRoutes()
	s.userRoutes()
	s.eraseRoutes()
	s.ssoRoutes()
	s.orgRoutes()
	s.courseRoutes()
	s.reportRoutes()
	s.uploadRoutes()
	s.declarationRoutes()
	if cfg.SignUp != nil {
		s.signUpRoutes()
		s.resetRoutes()
	}

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeForbidden(w, "cross-origin request refused")
	}))
	// The language goes outermost: its middleware copies the request, and
	// observe must hold the copy the mux records the route pattern on.
	s.handler = i18n.Middleware(s.observe(csrf.Handler(s.mux)))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// API exposes the huma API so other packages' routes can be added.
func (s *Server) API() huma.API { return s.api }

// secured marks an operation as requiring a caller.
var secured = []map[string][]string{{"bearer": {}}, {"cookie": {}}}

// op fills in the parts every operation shares.
func op(id, method, path, summary string, tags ...string) huma.Operation {
	return huma.Operation{
		OperationID: id,
		Method:      method,
		Path:        Prefix + path,
		Summary:     summary,
		Tags:        tags,
		Security:    secured,
		// 400: refuseControlChars answers any operation so.
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden},
	}
}

// public is op for endpoints open to anonymous callers.
func public(o huma.Operation) huma.Operation {
	o.Security = []map[string][]string{}
	o.Errors = []int{http.StatusBadRequest}
	return o
}

// authenticate resolves the caller of every secured operation and puts the
// principal in the request context; anonymous calls to them get 401 before
// any handler runs.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	if len(ctx.Operation().Security) == 0 {
		next(ctx)
		return
	}
	token := bearerToken(ctx.Header("Authorization"))
	if token == "" {
		if c, err := huma.ReadCookie(ctx, SessionCookie); err == nil {
			token = c.Value
			if !safeMethod(ctx.Method()) && ctx.Header(CSRFHeader) == "" {
				_ = huma.WriteErr(s.api, ctx, http.StatusForbidden, "the "+CSRFHeader+" header is required with the session cookie")
				return
			}
		}
	}
	p, err := s.auth.Authenticate(ctx.Context(), token)
	if err != nil {
		status, msg := http.StatusUnauthorized, roster.ErrorMessage(err)
		switch roster.ErrorCode(err) {
		case roster.EUNAUTHORIZED:
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="roster"`)
		case roster.EUNAVAILABLE:
			// The database or the IdP is down: the token may be fine.
			s.log.WarnContext(ctx.Context(), "authentication unavailable", "err", err)
			ctx.SetHeader("Retry-After", retryAfter(err))
			status = http.StatusServiceUnavailable
		default:
			s.log.ErrorContext(ctx.Context(), "authentication failed", "err", err)
			status, msg = http.StatusInternalServerError, "internal error"
		}
		_ = huma.WriteErr(s.api, ctx, status, msg)
		return
	}
	infoFrom(ctx.Context()).userID = p.UserID
	next(huma.WithContext(ctx, roster.WithPrincipal(ctx.Context(), p)))
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// writeForbidden answers outside huma with the same problem shape.
func writeForbidden(w http.ResponseWriter, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(huma.ErrorModel{Title: http.StatusText(http.StatusForbidden), Status: http.StatusForbidden, Detail: detail})
}

func bearerToken(h string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			// The reason helps an operator; it never contains user data.
			s.log.WarnContext(ctx, "not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

func placeholder(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("Roster is running. The API is described at /openapi.json.\n"))
}

// caller returns the authenticated principal of a secured operation.
func caller(ctx context.Context) *roster.Principal { return roster.PrincipalFrom(ctx) }
