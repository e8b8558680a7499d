package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/course"
	"github.com/roster-dev/roster/internal/dbopen"
	"github.com/roster-dev/roster/internal/httpapi"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/objectstore"
	"github.com/roster-dev/roster/internal/otp"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/pii"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/signup"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/sunbird"
	"github.com/roster-dev/roster/internal/upload"
)

// App holds the opened database, keys and services. CLI commands use it
// directly with roster.SystemPrincipal; Serve adds HTTP and workers.
type App struct {
	Config   Config
	Log      *slog.Logger
	DB       store.Engine
	Keys     *pii.Keyring
	Registry *registry.Service
	Courses  *course.Service
	Reports  *report.Service
	Uploads  *upload.Service
	SignUp   *signup.Service

	ready atomic.Bool
}

// Open reads keys and opens the database; it does not migrate.
func Open(ctx context.Context, cfg Config) (*App, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger()
	keys, err := pii.Load(cfg.PIIKey, cfg.PIIIndexKey, cfg.ReportLinkKey, filepath.Join(cfg.DataDir, "keys.json"))
	if err != nil {
		return nil, err
	}
	if keys.LinkKeysDerived() {
		log.Warn("report download links are signed with a key derived from the PII index key, which cannot rotate; " +
			"set ROSTER_REPORT_LINK_KEY (or linkKeys in keys.json) to give them a key of their own")
	}
	db, err := dbopen.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	rcfg := report.Config{Dir: cfg.ReportDir, Retention: cfg.ReportRetention,
		LinkTTL: cfg.ReportLinkTTL, Logger: log.With("component", "reports")}
	if cfg.ReportStore != "" {
		oc, err := objectstore.ParseURL(cfg.ReportStore)
		if err != nil {
			db.Close()
			return nil, err
		}
		oc.AccessKey, oc.SecretKey = cfg.S3AccessKey, cfg.S3SecretKey
		objects, err := objectstore.Open(ctx, oc)
		if err != nil {
			db.Close()
			return nil, err
		}
		rcfg.Objects = objects
	}
	reports, err := report.New(db, keys, rcfg)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("report directory: %w", err)
	}
	reg := registry.New(db, keys)
	reg.Hashing = password.NewPool(cfg.HashWorkers, cfg.HashQueue)
	if cfg.APIAssociationType != 0 {
		reg.DefaultAssociation = cfg.APIAssociationType
	}
	uploads := upload.New(db, keys, reg)
	uploads.Limits = upload.Limits{MaxRows: cfg.UploadMaxRows, MaxBytes: cfg.UploadMaxBytes}
	uploads.DryRunRetention, uploads.MaxStored = cfg.DryRunRetention, cfg.UploadMaxStored
	uploads.ChangeThreshold = cfg.UploadChangeThreshold
	notifier, err := cfg.notifier()
	if err != nil {
		db.Close()
		return nil, err
	}
	if cfg.DevMail {
		log.Warn("--dev-mail: messages without a configured channel are printed to the terminal; never use it in production")
	}
	reg.Notices, reg.Log = notifier, log.With("component", "registry")
	signUp := signup.New(reg, otp.New(db, keys), notifier)
	signUp.TncVersion = cfg.TncVersion
	if cfg.UploadActivation {
		uploads.Activation = signUp
	}
	a := &App{Config: cfg, Log: log, DB: db, Keys: keys, Registry: reg,
		Courses: course.New(db), Reports: reports, Uploads: uploads, SignUp: signUp}
	return a, nil
}

// Close releases the database.
func (a *App) Close() error { return a.DB.Close() }

// Migrate applies Roster's and River's migrations. Both are idempotent and
// safe to run from replicas starting together.
func (a *App) Migrate(ctx context.Context) error {
	return a.DB.MigrationLock(ctx, func() error {
		if err := a.DB.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if err := jobs.Migrate(ctx, a.DB); err != nil {
			return fmt.Errorf("migrate job queue: %w", err)
		}
		return nil
	})
}

// Authenticator builds token verification from the configuration.
func (a *App) Authenticator() (*auth.Authenticator, error) {
	key, err := auth.LoadKey(a.Config.JWTKey, filepath.Join(a.Config.DataDir, "jwt.key"))
	if err != nil {
		return nil, err
	}
	tokens, err := auth.NewTokens(key, a.Config.TokenTTL)
	if err != nil {
		return nil, err
	}
	au := &auth.Authenticator{Tokens: tokens, Registry: a.Registry}
	if a.Config.OIDCIssuer != "" {
		au.OIDC, err = auth.NewOIDC(auth.OIDCConfig{
			Issuer:   a.Config.OIDCIssuer,
			ClientID: a.Config.OIDCClientID,
			Provider: a.Config.OIDCProvider,
			IDType:   a.Config.OIDCIDType,

			MapUsername:   a.Config.OIDCMapUsername,
			FederationIDs: a.Config.OIDCFederationIDs,
			JIT:           a.Config.OIDCJIT,
			Claims:        a.Config.OIDCClaims,
			Provision:     a.provisionSSOUser,
		}, a.findUserID)
		if err != nil {
			return nil, err
		}
	}
	return au, nil
}

// findUserID adapts the registry lookup for OIDC subject mapping.
func (a *App) findUserID(ctx context.Context, q auth.Lookup) (string, error) {
	if q.Type == auth.LookupID {
		return a.Registry.KnownUserID(ctx, q.Value)
	}
	return a.Registry.LookupUserID(ctx, registry.LookupQuery(q))
}

// provisionSSOUser adapts the registry's just-in-time creation for OIDC.
func (a *App) provisionSSOUser(ctx context.Context, p auth.Profile) (string, error) {
	return a.Registry.ProvisionSSOUser(ctx, registry.SSOProfile{
		Provider: p.Provider, IDType: p.IDType, Subject: p.Subject,
		Channel: p.Channel, SchoolExternalID: p.School, TeacherID: p.TeacherID,
		FirstName: p.FirstName, LastName: p.LastName, Email: p.Email, Phone: p.Phone,
		EmailVerified: p.EmailVerified, PhoneVerified: p.PhoneVerified,
	})
}

// Ready reports whether this process can take traffic: it has applied the
// migrations and started its workers, it is not shutting down, and the
// database answers.
func (a *App) Ready(ctx context.Context) error {
	if !a.ready.Load() {
		return errors.New("starting or shutting down")
	}
	pending, err := a.DB.Pending(ctx)
	if err != nil {
		return errors.New("database unreachable")
	} else if pending {
		// Someone rolled the schema back or this binary is newer than the
		// database: serving would hit missing tables.
		return errors.New("database schema is behind this binary; run roster migrate")
	}
	return nil
}

// Serve listens on Config.Addr and runs until ctx is cancelled.
func (a *App) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return err
	}
	return a.ServeListener(ctx, ln)
}

// ServeListener migrates, bootstraps the custodian organisation, starts the
// job workers and serves HTTP on ln until ctx is cancelled. Shutdown first
// fails /readyz so load balancers stop sending traffic, drains HTTP
// requests, then stops the workers (running jobs finish or are retried
// after restart).
func (a *App) ServeListener(ctx context.Context, ln net.Listener) error {
	defer ln.Close()
	if err := a.Migrate(ctx); err != nil {
		return err
	}
	if _, err := a.Registry.Bootstrap(ctx); err != nil {
		return fmt.Errorf("bootstrap custodian organisation: %w", err)
	}
	au, err := a.Authenticator()
	if err != nil {
		return err
	}
	oidcLogin, err := a.oidcLogin(au)
	if err != nil {
		return err
	}

	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newJobsCollector(a.DB), newConflictsCollector(a.DB))

	queue, err := a.NewQueue(true, true)
	if err != nil {
		return err
	}
	if err := queue.Start(ctx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}

	var sb http.Handler
	if a.Config.SunbirdAPI {
		sb = sunbird.New(sunbird.Config{Registry: a.Registry, Uploads: a.Uploads, Auth: au,
			Courses: a.Courses, Reports: a.Reports, ExhaustKind: a.Config.SunbirdExhaustKind,
			Logger: a.Log.With("component", "sunbird"), UploadConcurrency: a.Config.UploadConcurrency}).Handler()
	}
	api := httpapi.New(httpapi.Config{
		Registry:     a.Registry,
		Courses:      a.Courses,
		Reports:      a.Reports,
		Uploads:      a.Uploads,
		SignUp:       a.SignUp,
		Auth:         au,
		OIDCLogin:    oidcLogin,
		Logger:       a.Log,
		Metrics:      metrics,
		Gatherer:     metrics,
		Ready:        a.Ready,
		Web:          webHandler(),
		SecureCookie: a.Config.SecureCookie,
		Version:      a.Config.Version,

		UploadConcurrency: a.Config.UploadConcurrency,
		Sunbird:           sb,
		SunbirdPrefixes:   sunbird.PathPrefixes,
	})
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	a.ready.Store(true)
	a.Log.Info("roster started", "addr", ln.Addr().String(), "version", a.Config.Version,
		"engine", a.DB.Name(), "database", RedactedDatabaseURL(a.Config.DatabaseURL),
		"oidc", a.Config.OIDCIssuer != "")
	a.announce(ctx, ln.Addr().String())

	select {
	case err = <-serveErr:
		a.ready.Store(false)
		a.Log.Error("http server stopped", "err", err)
	case <-ctx.Done():
		a.ready.Store(false)
		a.Log.Info("shutting down")
		if a.Config.ShutdownDelay > 0 {
			// Shutdown closes the listener at once; until then new
			// requests are still served while /readyz tells the load
			// balancer to stop sending them.
			shutdownPause(a.Config.ShutdownDelay)
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Config.ShutdownTimeout)
	defer cancel()
	if herr := srv.Shutdown(sctx); herr != nil {
		a.Log.Warn("http drain incomplete", "err", herr)
		err = errors.Join(err, herr)
	}
	if qerr := queue.Stop(sctx); qerr != nil {
		a.Log.Warn("workers did not stop in time; their jobs will be retried", "err", qerr)
		err = errors.Join(err, qerr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	a.Log.Info("stopped")
	return err
}

// shutdownPause waits out Config.ShutdownDelay; tests replace it to hold
// the server at that point.
var shutdownPause = time.Sleep

// NewQueue builds the job queue and points the services at it. With work
// set it also runs every background job kind (upload processing, report
// generation); otherwise it can only enqueue, for commands that leave the
// work to a running server. Periodic maintenance (report retention, dry-run
// expiry) is scheduled only with maintenance set: the server does it,
// short-lived commands need not.
func (a *App) NewQueue(work, maintenance bool) (*jobs.Queue, error) {
	cfg := jobs.Config{Logger: a.Log.With("component", "jobs"), RescueAfter: a.Config.JobRescueAfter}
	var workers *river.Workers
	if work {
		workers = river.NewWorkers()
		a.Reports.Register(workers)
		a.Uploads.Register(workers)
		if maintenance {
			// Dry runs are swept more often than reports: they expire after
			// a day, not a week.
			cfg.PeriodicJobs = append(cfg.PeriodicJobs, a.Reports.RetentionJob(time.Hour),
				a.Uploads.ExpiryJob(15*time.Minute))
		}
	}
	q, err := jobs.New(a.DB, workers, cfg)
	if err != nil {
		return nil, err
	}
	a.Reports.UseQueue(q)
	a.Uploads.UseQueue(q)
	return q, nil
}

// announce tells the person who started the server where to open it and,
// while the database holds no user, how to get something to sign in with.
func (a *App) announce(ctx context.Context, addr string) {
	w := a.Config.Announce
	if w == nil {
		return
	}
	fmt.Fprintf(w, "Roster is running: open %s\n", ConsoleURL(addr))
	if any, err := store.AnyUser(ctx, a.DB); err == nil && !any {
		fmt.Fprintf(w, "The database is empty. To load demo data and get accounts to sign in with, run in a second terminal:\n"+
			"  %s demo%s\n", a.Config.Command, a.demoFlags())
	}
	fmt.Fprintln(w, "Press Ctrl+C to stop.")
}

// demoFlags are the flags `roster demo` needs to reach this server's data
// and print its address.
func (a *App) demoFlags() string {
	var f string
	if a.Config.DataDir != "data" {
		f += " --data-dir " + a.Config.DataDir
	}
	if a.Config.DatabaseURL != filepath.Join(a.Config.DataDir, "roster.db") {
		f += " --database-url '<the same database URL>'"
	}
	if addr := a.Config.Addr; addr != ":8080" {
		f += " --addr " + addr
	}
	return f
}
