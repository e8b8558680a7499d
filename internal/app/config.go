// Package app wires Roster together: it reads configuration, opens the
// database and keys, builds the services and runs the HTTP server and the
// background workers with a graceful shutdown. cmd/roster is a thin cobra
// layer over it, and tests start the whole service through it.
package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/dbopen"
	"github.com/roster-dev/roster/internal/notify"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/signup"
)

// Config is everything an operator can set. Zero values mean the embedded
// defaults, so `roster serve` runs on a fresh machine without any flags.
type Config struct {
	Addr        string // ROSTER_ADDR, default ":8080"
	DataDir     string // ROSTER_DATA_DIR, default "./data"
	DatabaseURL string // ROSTER_DATABASE_URL, default DataDir/roster.db (SQLite)
	ReportDir   string // ROSTER_REPORT_DIR, default DataDir/reports
	// ReportStore, s3://BUCKET[/PREFIX]?endpoint=HOST:PORT, keeps finished
	// reports in S3-compatible storage every replica reads; ReportDir then
	// only holds archives being built. Credentials: S3AccessKey/S3SecretKey.
	ReportStore string // ROSTER_REPORT_STORE
	S3AccessKey string // ROSTER_S3_ACCESS_KEY
	S3SecretKey string // ROSTER_S3_SECRET_KEY
	// Report file retention and download link lifetime; zero means the
	// report package's defaults (7 days, 30 minutes).
	ReportRetention time.Duration // ROSTER_REPORT_RETENTION
	ReportLinkTTL   time.Duration // ROSTER_REPORT_LINK_TTL

	PIIKey      string // ROSTER_PII_KEY "id:base64[,id:base64...]"
	PIIIndexKey string // ROSTER_PII_INDEX_KEY base64
	// ReportLinkKey signs report download links: ROSTER_REPORT_LINK_KEY
	// "base64[,base64...]", the first signs and all verify.
	ReportLinkKey string
	JWTKey        string // ROSTER_JWT_KEY; default: generated into DataDir/jwt.key
	TokenTTL      time.Duration

	OIDCIssuer   string
	OIDCClientID string
	OIDCProvider string // external identity provider name; default the issuer
	OIDCIDType   string // external identity idType; default "sso"
	// Browser sign-in with the IdP is on when OIDCRedirectURL is set.
	OIDCRedirectURL  string // Roster's callback as registered at the IdP: https://host/api/v1/auth/oidc/callback
	OIDCClientSecret string // ROSTER_OIDC_CLIENT_SECRET; empty for a public client
	OIDCName         string // shown on the sign-in button
	// OIDCMapUsername also maps IdP accounts by preferred_username; off
	// because IdP users usually choose that name themselves.
	OIDCMapUsername bool
	// OIDCJIT creates users just in time at a browser sign-in, from the
	// claims OIDCClaims names (empty names take auth.DefaultClaimNames).
	OIDCJIT    bool
	OIDCClaims auth.ClaimNames
	// OIDCFederationIDs are Keycloak user-federation ids whose subjects
	// f:<id>:<user id> name the Roster user id.
	OIDCFederationIDs []string

	// Upload limits; zero means the upload package's defaults (1000 rows,
	// 10 MB).
	UploadMaxRows  int
	UploadMaxBytes int64
	// DryRunRetention is how long dry runs and their rows are kept
	// (ROSTER_DRY_RUN_RETENTION); UploadMaxStored caps an organisation's
	// unexpired dry runs plus unfinished uploads (ROSTER_UPLOAD_MAX_STORED).
	// Zero means the upload package's defaults (24 hours, 20).
	DryRunRetention time.Duration
	UploadMaxStored int
	// UploadChangeThreshold is the percentage of an organisation's members
	// an update upload may change or block without confirmation
	// (ROSTER_UPLOAD_CHANGE_THRESHOLD); zero means the default, 10.
	UploadChangeThreshold int
	// UploadConcurrency bounds the uploads read and parsed at once
	// (ROSTER_UPLOAD_CONCURRENCY); zero means one per core.
	UploadConcurrency int
	// SunbirdAPI serves the Sunbird-compatible API (docs/sunbird.md) under
	// Sunbird's service paths /v1/ … /v5/. Off by default: it is a second
	// API surface, wanted only by deployments moving from Sunbird.
	SunbirdAPI bool
	// SunbirdExhaustKind is the report kind the Sunbird dataset API builds
	// for userinfo-exhaust: "" for seed 000's columns, or
	// "sunbird-userinfo-exhaust" for Sunbird's own.
	SunbirdExhaustKind string

	// Password hashing pool shared by sign-ins and uploads: how many
	// argon2id hashes run at once (each holds 19 MiB) and how many sign-ins
	// may wait for one before the rest get 503. Zero means GOMAXPROCS
	// workers and password.DefaultQueuePerWorker waiting per worker.
	HashWorkers int // ROSTER_HASH_WORKERS
	HashQueue   int // ROSTER_HASH_QUEUE

	// JobRescueAfter is how long a background job attempt may run before
	// it is cancelled and, if its worker died, run again (ROSTER_JOB_RESCUE_AFTER);
	// zero means jobs.DefaultRescueAfter.
	JobRescueAfter time.Duration

	// APIAssociationType is the associationType of memberships an admin
	// creates without naming one (API, CLI, PUT membership): seed 001's
	// bit mask, 1 SSO, 2 self-declared, 4 system upload
	// (ROSTER_API_ASSOCIATION_TYPE); zero means 4.
	APIAssociationType int
	// Messages to users (notify.go). Without SMTP, email codes go to the
	// terminal only with DevMail; without a gateway, SMS likewise.
	SMTPAddr     string // ROSTER_SMTP_ADDR host:port
	SMTPFrom     string // ROSTER_SMTP_FROM
	SMTPUsername string // ROSTER_SMTP_USERNAME
	SMTPPassword string // ROSTER_SMTP_PASSWORD (environment only)
	SMTPTLS      string // ROSTER_SMTP_TLS starttls (default), tls or none
	// SMS gateway: URL and optional POST body with {number}, {number10}
	// and {text}; the Authorization header value from the environment.
	SMSGatewayURL         string // ROSTER_SMS_GATEWAY_URL
	SMSGatewayBody        string // ROSTER_SMS_GATEWAY_BODY
	SMSGatewayContentType string // ROSTER_SMS_GATEWAY_CONTENT_TYPE
	SMSGatewayAuth        string // ROSTER_SMS_GATEWAY_AUTH (environment only)
	// UploadActivation lets create uploads leave passwords out: each user
	// created without one gets an activation code (--upload-activation).
	UploadActivation bool
	// DevMail prints messages of unconfigured channels to DevMailOutput
	// (default stderr), never the log. Development only.
	DevMail       bool
	DevMailOutput io.Writer
	// TncVersion is the current platform terms version accepted at
	// sign-up (ROSTER_TNC_VERSION, default v1).
	TncVersion string

	// SecureCookie marks the session cookie Secure; set it behind HTTPS.
	SecureCookie bool

	LogLevel  string // debug, info, warn, error
	LogFormat string // auto (text on a terminal, JSON otherwise), json or text
	LogOutput io.Writer
	// Announce, when set, receives the lines a person starting `serve`
	// reads: the address to open and, on an empty database, how to load
	// the demo. Logs stay machine-readable; this is for the terminal.
	Announce io.Writer
	// Command is how the operator invoked roster ("./roster", "roster"),
	// for the commands Announce suggests; default "roster".
	Command string

	ShutdownTimeout time.Duration
	Version         string

	// ShutdownDelay is how long a stopping server keeps answering, with
	// /readyz failing, before it closes its listener: the time a load
	// balancer needs to notice. Zero closes at once.
	ShutdownDelay time.Duration
}

// WithDefaults fills in what was left empty.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "roster.db")
	}
	if c.ReportDir == "" {
		c.ReportDir = filepath.Join(c.DataDir, "reports")
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.LogFormat == "" {
		c.LogFormat = "auto"
	}
	if c.Command == "" {
		c.Command = "roster"
	}
	if c.LogOutput == nil {
		c.LogOutput = os.Stderr
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 25 * time.Second
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.DevMailOutput == nil {
		c.DevMailOutput = os.Stderr
	}
	if c.TncVersion == "" {
		c.TncVersion = signup.DefaultTncVersion
	}
	return c
}

// Validate reports configuration mistakes before anything is opened.
func (c Config) Validate() error {
	var errs []error
	if (c.OIDCIssuer == "") != (c.OIDCClientID == "") {
		errs = append(errs, errors.New("--oidc-issuer and --oidc-client-id must be given together"))
	}
	if c.OIDCJIT && c.OIDCRedirectURL == "" {
		errs = append(errs, errors.New("--oidc-jit needs browser sign-in: give --oidc-redirect-url"))
	}
	if c.OIDCRedirectURL != "" && c.OIDCIssuer == "" {
		errs = append(errs, errors.New("--oidc-redirect-url needs --oidc-issuer and --oidc-client-id"))
	}
	if u, err := url.Parse(c.OIDCRedirectURL); c.OIDCRedirectURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
		errs = append(errs, errors.New("--oidc-redirect-url must be an absolute URL such as https://roster.example/api/v1/auth/oidc/callback"))
	}
	if k := c.SunbirdExhaustKind; k != "" && !slices.Contains(report.KindNames(), k) {
		errs = append(errs, errors.New("--sunbird-exhaust-kind must be empty or one of: "+strings.Join(report.KindNames(), ", ")))
	}
	if c.APIAssociationType != 0 && !registry.ValidAssociation(c.APIAssociationType) {
		errs = append(errs, errors.New("--api-association-type must be 1 (SSO), 2 (self-declared), 4 (system upload) or a sum of them"))
	}
	if c.ReportRetention < 0 || c.ReportLinkTTL < 0 {
		errs = append(errs, errors.New("--report-retention and --report-link-ttl must not be negative"))
	}
	if c.UploadChangeThreshold < 0 || c.UploadChangeThreshold > 100 {
		errs = append(errs, errors.New("--upload-change-threshold must be a percentage from 0 to 100"))
	}
	if c.DryRunRetention < 0 || c.UploadMaxStored < 0 {
		errs = append(errs, errors.New("--dry-run-retention and --upload-max-stored must not be negative"))
	}
	if c.UploadConcurrency < 0 {
		errs = append(errs, errors.New("--upload-concurrency must not be negative"))
	}
	if c.HashWorkers < 0 || c.HashQueue < 0 {
		errs = append(errs, errors.New("--hash-workers and --hash-queue must not be negative"))
	}
	if _, err := c.notifier(); err != nil {
		errs = append(errs, err)
	}
	if err := dbopen.Check(c.DatabaseURL); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "auto" && c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("log format %q: want auto, json or text", c.LogFormat))
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Logger builds the process logger. Nothing in Roster logs request bodies,
// contact details or secrets; see httpapi's access log.
func (c Config) Logger() *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.logText() {
		return slog.New(slog.NewTextHandler(c.LogOutput, opts))
	}
	return slog.New(slog.NewJSONHandler(c.LogOutput, opts))
}

// logText decides the log format: a person at a terminal reads text, a
// collector reading a pipe or file parses JSON.
func (c Config) logText() bool {
	switch c.LogFormat {
	case "text":
		return true
	case "json":
		return false
	}
	f, ok := c.LogOutput.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// ConsoleURL is the address a person opens for a listen address such as
// ":8080", "0.0.0.0:8080" or "[::]:8080": a wildcard host is reachable as
// localhost on this machine.
func ConsoleURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// RedactedDatabaseURL is the database URL without its password, for logs.
func RedactedDatabaseURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		if strings.Contains(u, "password=") {
			return "(libpq connection string)"
		}
		return u
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return u
	}
	userinfo := rest[:at]
	if user, _, hasPw := strings.Cut(userinfo, ":"); hasPw {
		userinfo = user + ":xxxxx"
	}
	return scheme + "://" + userinfo + rest[at:]
}

// notifier builds the message drivers from the configuration: SMTP and
// the SMS gateway when set, the terminal for the others with --dev-mail,
// nothing otherwise (sign-up then says verification is unavailable).
func (c Config) notifier() (*notify.Notifier, error) {
	n := &notify.Notifier{}
	if c.SMTPAddr != "" {
		d, err := notify.NewSMTP(notify.SMTPConfig{Addr: c.SMTPAddr, From: c.SMTPFrom, Username: c.SMTPUsername,
			Password: c.SMTPPassword, TLS: c.SMTPTLS})
		if err != nil {
			return nil, fmt.Errorf("--smtp-addr: %w", err)
		}
		n.Email = d
	} else if c.SMTPFrom != "" || c.SMTPUsername != "" {
		return nil, errors.New("--smtp-from and --smtp-username need --smtp-addr")
	}
	if c.SMSGatewayURL != "" {
		d, err := notify.NewGateway(notify.GatewayConfig{URL: c.SMSGatewayURL, Body: c.SMSGatewayBody,
			ContentType: c.SMSGatewayContentType, Authorization: c.SMSGatewayAuth})
		if err != nil {
			return nil, fmt.Errorf("--sms-gateway-url: %w", err)
		}
		n.SMS = d
	} else if c.SMSGatewayBody != "" {
		return nil, errors.New("--sms-gateway-body needs --sms-gateway-url")
	}
	if c.DevMail {
		out := c.DevMailOutput
		if out == nil {
			out = os.Stderr
		}
		if n.Email == nil {
			n.Email = notify.NewTerminal(out, notify.Email)
		}
		if n.SMS == nil {
			n.SMS = notify.NewTerminal(out, notify.SMS)
		}
	}
	return n, nil
}
