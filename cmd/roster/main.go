// Command roster is the Roster service and its operator tools: `roster
// serve` runs the API, web console and background workers; the other
// subcommands migrate the database, create the first tenant and admin,
// upload CSV files and fetch reports.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/jobs"
	"github.com/roster-dev/roster/internal/password"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/upload"
)

// version is set at release builds with -ldflags "-X main.version=v1.2.3".
var version = ""

// invokedAs is how the person ran this binary, so the commands serve
// suggests can be pasted as they are.
var invokedAs = "roster"

func main() {
	invokedAs = commandName(os.Args[0])
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries a specific exit status, e.g. for an upload whose rows
// failed although the command itself worked.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// run executes the command line. The first SIGINT/SIGTERM cancels ctx for a
// graceful stop; a second one kills the process the usual way.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(stderr, ee.msg)
			}
			return ee.code
		}
		fmt.Fprintln(stderr, "roster:", err)
		return 1
	}
	return 0
}

// commandName turns argv[0] into a command to suggest: `go run` builds
// into a temporary directory, a name without a slash was found on PATH.
func commandName(arg0 string) string {
	switch {
	case strings.Contains(arg0, "go-build"):
		return "go run ./cmd/roster"
	case !strings.ContainsRune(arg0, '/'):
		return "roster"
	}
	return arg0
}

func getVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// badEnv collects ROSTER_* values that could not be parsed. A typo such as
// ROSTER_REPORT_RETENTION=7d must stop the command, not silently fall back
// to the default the operator meant to change.
var badEnv []string

func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		badEnv = append(badEnv, name+"="+v+" is not a whole number")
		return def
	}
	return n
}

func envDuration(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		badEnv = append(badEnv, name+"="+v+" is not a duration (use units such as 90s, 30m or 168h)")
		return def
	}
	return d
}

// globals are the flags every command shares.
type globals struct {
	cfg app.Config
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	badEnv = nil
	root := &cobra.Command{
		Use:           "roster",
		Short:         "User registry with encrypted PII, bulk CSV registration and course reports",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       getVersion(),
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if len(badEnv) > 0 {
				return errors.New(strings.Join(badEnv, "; "))
			}
			return nil
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.cfg.DataDir, "data-dir", env("ROSTER_DATA_DIR", "data"), "directory for the SQLite file, generated keys and reports (ROSTER_DATA_DIR)")
	f.StringVar(&g.cfg.DatabaseURL, "database-url", env("ROSTER_DATABASE_URL", ""), "postgres://… for PostgreSQL; default DATA_DIR/roster.db (ROSTER_DATABASE_URL)")
	f.StringVar(&g.cfg.LogLevel, "log-level", env("ROSTER_LOG_LEVEL", "info"), "debug, info, warn or error (ROSTER_LOG_LEVEL)")
	f.StringVar(&g.cfg.LogFormat, "log-format", env("ROSTER_LOG_FORMAT", "auto"), "auto (text when standard error is a terminal, JSON otherwise), text or json (ROSTER_LOG_FORMAT)")
	// On the root: `serve` and the commands running workers in-process
	// (upload, report) all rescue jobs whose worker died.
	f.DurationVar(&g.cfg.JobRescueAfter, "job-rescue-after", envDuration("ROSTER_JOB_RESCUE_AFTER", jobs.DefaultRescueAfter),
		"how long a background job attempt may run before it is cancelled and, if its worker died, run again; keep it above the longest upload or report (ROSTER_JOB_RESCUE_AFTER)")
	// Global too: `upload` hashes passwords in-process like serve does.
	f.IntVar(&g.cfg.HashWorkers, "hash-workers", envInt("ROSTER_HASH_WORKERS", 0),
		"password hashes run at once, shared by sign-ins and uploads; each takes 19 MiB; 0 means one per CPU (ROSTER_HASH_WORKERS)")
	f.IntVar(&g.cfg.HashQueue, "hash-queue", envInt("ROSTER_HASH_QUEUE", 0),
		fmt.Sprintf("sign-ins that may wait for a hashing worker; more get 503 with Retry-After; 0 means %d per worker (ROSTER_HASH_QUEUE)", password.DefaultQueuePerWorker))
	// Global: `roster user create` makes memberships as the API does.
	f.IntVar(&g.cfg.APIAssociationType, "api-association-type", envInt("ROSTER_API_ASSOCIATION_TYPE", roster.AssociationSystemUpload),
		"associationType of users and memberships an admin creates without naming one: 1 SSO, 2 self-declared, 4 system upload (ROSTER_API_ASSOCIATION_TYPE)")
	// Global, not serve-only: the report commands build and serve reports too.
	f.StringVar(&g.cfg.ReportDir, "report-dir", env("ROSTER_REPORT_DIR", ""), "where report files are kept; default DATA_DIR/reports (ROSTER_REPORT_DIR)")
	f.StringVar(&g.cfg.ReportStore, "report-store", env("ROSTER_REPORT_STORE", ""), "keep finished reports in S3-compatible storage shared by all replicas: s3://BUCKET[/PREFIX]?endpoint=HOST:PORT[&region=R][&insecure=true]; credentials in ROSTER_S3_ACCESS_KEY, ROSTER_S3_SECRET_KEY (ROSTER_REPORT_STORE)")
	g.cfg.S3AccessKey, g.cfg.S3SecretKey = os.Getenv("ROSTER_S3_ACCESS_KEY"), os.Getenv("ROSTER_S3_SECRET_KEY")
	f.DurationVar(&g.cfg.ReportRetention, "report-retention", envDuration("ROSTER_REPORT_RETENTION", report.DefaultRetention),
		"how long report files are kept after they are built (ROSTER_REPORT_RETENTION)")
	f.DurationVar(&g.cfg.ReportLinkTTL, "report-link-ttl", envDuration("ROSTER_REPORT_LINK_TTL", report.DefaultLinkTTL),
		"lifetime of report download links (ROSTER_REPORT_LINK_TTL)")
	// Global, not serve-only: `roster upload` makes dry runs and uploads
	// too, and must count them against the same cap.
	f.DurationVar(&g.cfg.DryRunRetention, "dry-run-retention", envDuration("ROSTER_DRY_RUN_RETENTION", upload.DefaultDryRunRetention),
		"how long dry runs and their results are kept before they are deleted (ROSTER_DRY_RUN_RETENTION)")
	f.IntVar(&g.cfg.UploadMaxStored, "upload-max-stored", envInt("ROSTER_UPLOAD_MAX_STORED", upload.DefaultMaxStored),
		"uploads one organisation may store at once: unexpired dry runs plus uploads still being processed (ROSTER_UPLOAD_MAX_STORED)")
	f.IntVar(&g.cfg.UploadChangeThreshold, "upload-change-threshold", envInt("ROSTER_UPLOAD_CHANGE_THRESHOLD", upload.DefaultChangeThreshold),
		"percent of an organisation's users an update upload may change or block without confirm (ROSTER_UPLOAD_CHANGE_THRESHOLD)")
	// Keys come from the environment only: a flag would show in ps output.
	g.cfg.PIIKey = os.Getenv("ROSTER_PII_KEY")
	g.cfg.PIIIndexKey = os.Getenv("ROSTER_PII_INDEX_KEY")
	g.cfg.ReportLinkKey = os.Getenv("ROSTER_REPORT_LINK_KEY")
	g.cfg.JWTKey = os.Getenv("ROSTER_JWT_KEY")
	g.cfg.OIDCClientSecret = os.Getenv("ROSTER_OIDC_CLIENT_SECRET")
	g.cfg.SMTPPassword = os.Getenv("ROSTER_SMTP_PASSWORD")
	g.cfg.SMSGatewayAuth = os.Getenv("ROSTER_SMS_GATEWAY_AUTH")
	g.cfg.Version = getVersion()

	root.AddCommand(
		newServeCmd(g),
		newMigrateCmd(g),
		newVersionCmd(),
		newOrgCmd(g),
		newUserCmd(g),
		newTncCmd(g),
		newUploadCmd(g),
		newReportCmd(g),
		newDemoCmd(g),
		newLoadCmd(g),
		newKeysCmd(g),
	)
	return root
}

// open returns the application with logs going to the command's stderr.
func (g *globals) open(cmd *cobra.Command) (*app.App, error) {
	cfg := g.cfg
	cfg.LogOutput = cmd.ErrOrStderr()
	return app.Open(cmd.Context(), cfg)
}

func newServeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API, web console and background workers",
		Long: "Applies migrations, creates the custodian organisation on first start, starts the job workers and serves HTTP.\n" +
			"SIGINT/SIGTERM stop it gracefully: /readyz fails, requests drain, then the workers stop.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g.cfg.Announce, g.cfg.Command = cmd.OutOrStdout(), invokedAs
			a, err := g.open(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&g.cfg.Addr, "addr", env("ROSTER_ADDR", ":8080"), "listen address (ROSTER_ADDR)")
	f.StringVar(&g.cfg.OIDCIssuer, "oidc-issuer", env("ROSTER_OIDC_ISSUER", ""), "accept tokens of this OpenID Connect issuer (ROSTER_OIDC_ISSUER)")
	f.StringVar(&g.cfg.OIDCClientID, "oidc-client-id", env("ROSTER_OIDC_CLIENT_ID", ""), "client id the IdP's tokens must be issued to (ROSTER_OIDC_CLIENT_ID)")
	f.StringVar(&g.cfg.OIDCProvider, "oidc-provider", env("ROSTER_OIDC_PROVIDER", ""), "external identity provider name linking IdP subjects to users; default the issuer (ROSTER_OIDC_PROVIDER)")
	f.StringVar(&g.cfg.OIDCIDType, "oidc-id-type", env("ROSTER_OIDC_ID_TYPE", "sso"), "external identity idType of IdP subjects (ROSTER_OIDC_ID_TYPE)")
	f.StringVar(&g.cfg.OIDCRedirectURL, "oidc-redirect-url", env("ROSTER_OIDC_REDIRECT_URL", ""), "turn on browser sign-in with the IdP; Roster's callback as registered there, https://HOST/api/v1/auth/oidc/callback (ROSTER_OIDC_REDIRECT_URL)")
	f.StringVar(&g.cfg.OIDCName, "oidc-name", env("ROSTER_OIDC_NAME", ""), "IdP name on the sign-in button; default \"single sign-on\" (ROSTER_OIDC_NAME)")
	boolVar(f, &g.cfg.OIDCMapUsername, "oidc-map-username", envBool("ROSTER_OIDC_MAP_USERNAME", false), "also map IdP accounts to users by preferred_username; only for an IdP whose usernames are assigned, not chosen (ROSTER_OIDC_MAP_USERNAME)")
	boolVar(f, &g.cfg.OIDCJIT, "oidc-jit", envBool("ROSTER_OIDC_JIT", false), "create users just in time at a browser sign-in with the IdP, from the token's claims (ROSTER_OIDC_JIT)")
	f.StringSliceVar(&g.cfg.OIDCFederationIDs, "oidc-federation-id", envList("ROSTER_OIDC_FEDERATION_IDS"), "Keycloak user-federation ids whose subjects f:<id>:<user id> carry the Roster user id (ROSTER_OIDC_FEDERATION_IDS, comma-separated)")
	for _, c := range []struct {
		v         *string
		flag, def string
		what      string
	}{
		{&g.cfg.OIDCClaims.Channel, "channel", auth.DefaultClaimNames.Channel, "the state's channel"},
		{&g.cfg.OIDCClaims.School, "school", auth.DefaultClaimNames.School, "the school's external id"},
		{&g.cfg.OIDCClaims.TeacherID, "teacher-id", auth.DefaultClaimNames.TeacherID, "the teacher's id in the state's system"},
		{&g.cfg.OIDCClaims.FirstName, "first-name", auth.DefaultClaimNames.FirstName, "the first name"},
		{&g.cfg.OIDCClaims.LastName, "last-name", auth.DefaultClaimNames.LastName, "the last name"},
		{&g.cfg.OIDCClaims.Email, "email", auth.DefaultClaimNames.Email, "the email"},
		{&g.cfg.OIDCClaims.EmailVerified, "email-verified", auth.DefaultClaimNames.EmailVerified, "whether the IdP verified the email"},
		{&g.cfg.OIDCClaims.Phone, "phone", auth.DefaultClaimNames.Phone, "the phone number"},
		{&g.cfg.OIDCClaims.PhoneVerified, "phone-verified", auth.DefaultClaimNames.PhoneVerified, "whether the IdP verified the phone"},
	} {
		envName := "ROSTER_OIDC_CLAIM_" + strings.ToUpper(strings.ReplaceAll(c.flag, "-", "_"))
		f.StringVar(c.v, "oidc-claim-"+c.flag, env(envName, c.def), "claim carrying "+c.what+" of a just-in-time user ("+envName+")")
	}
	f.DurationVar(&g.cfg.TokenTTL, "token-ttl", envDuration("ROSTER_TOKEN_TTL", auth.DefaultTokenTTL), "lifetime of login tokens (ROSTER_TOKEN_TTL)")
	f.IntVar(&g.cfg.UploadMaxRows, "upload-max-rows", envInt("ROSTER_UPLOAD_MAX_ROWS", upload.DefaultMaxRows), "data rows allowed in one upload (ROSTER_UPLOAD_MAX_ROWS)")
	f.Int64Var(&g.cfg.UploadMaxBytes, "upload-max-bytes", int64(envInt("ROSTER_UPLOAD_MAX_BYTES", upload.DefaultMaxBytes)), "size allowed for one upload file (ROSTER_UPLOAD_MAX_BYTES)")
	f.DurationVar(&g.cfg.ShutdownDelay, "shutdown-delay", envDuration("ROSTER_SHUTDOWN_DELAY", 0), "on SIGTERM keep serving this long with /readyz failing before closing the listener, e.g. 5s behind a load balancer (ROSTER_SHUTDOWN_DELAY)")
	f.IntVar(&g.cfg.UploadConcurrency, "upload-concurrency", envInt("ROSTER_UPLOAD_CONCURRENCY", 0),
		"uploads read and parsed at once; more wait 2 s, then get 503 with Retry-After; 0 means one per core (ROSTER_UPLOAD_CONCURRENCY)")
	boolVar(f, &g.cfg.SunbirdAPI, "sunbird-api", envBool("ROSTER_SUNBIRD_API", false), "also serve the Sunbird-compatible API under /v1/ … /v5/ for a SunbirdEd portal and its scripts; see docs/sunbird.md (ROSTER_SUNBIRD_API)")
	f.StringVar(&g.cfg.SunbirdExhaustKind, "sunbird-exhaust-kind", os.Getenv("ROSTER_SUNBIRD_EXHAUST_KIND"), "report kind the Sunbird dataset API builds for userinfo-exhaust: empty for seed 000's columns, or sunbird-userinfo-exhaust for Sunbird's own (ROSTER_SUNBIRD_EXHAUST_KIND)")
	f.StringVar(&g.cfg.SMTPAddr, "smtp-addr", env("ROSTER_SMTP_ADDR", ""), "mail server host:port for verification codes and notices (ROSTER_SMTP_ADDR)")
	f.StringVar(&g.cfg.SMTPFrom, "smtp-from", env("ROSTER_SMTP_FROM", ""), "From address of Roster's email (ROSTER_SMTP_FROM)")
	f.StringVar(&g.cfg.SMTPUsername, "smtp-username", env("ROSTER_SMTP_USERNAME", ""), "SMTP user; the password comes from ROSTER_SMTP_PASSWORD (ROSTER_SMTP_USERNAME)")
	f.StringVar(&g.cfg.SMTPTLS, "smtp-tls", env("ROSTER_SMTP_TLS", "starttls"), "starttls (required), tls (implicit, port 465) or none (ROSTER_SMTP_TLS)")
	f.StringVar(&g.cfg.SMSGatewayURL, "sms-gateway-url", env("ROSTER_SMS_GATEWAY_URL", ""), "HTTP SMS gateway URL; {number}, {number10} and {text} are replaced, e.g. https://sms.example/send?to={number10}&msg={text} (ROSTER_SMS_GATEWAY_URL)")
	f.StringVar(&g.cfg.SMSGatewayBody, "sms-gateway-body", env("ROSTER_SMS_GATEWAY_BODY", ""), "POST this body to the gateway instead of a GET, same placeholders, e.g. to={number}&text={text} (ROSTER_SMS_GATEWAY_BODY)")
	f.StringVar(&g.cfg.SMSGatewayContentType, "sms-gateway-content-type", env("ROSTER_SMS_GATEWAY_CONTENT_TYPE", ""), "content type of the gateway body; values are escaped for it; default application/x-www-form-urlencoded (ROSTER_SMS_GATEWAY_CONTENT_TYPE)")
	boolVar(f, &g.cfg.UploadActivation, "upload-activation", envBool("ROSTER_UPLOAD_ACTIVATION", false), "accept create uploads without a password column: each user gets an activation code at the contact the row marks verified (ROSTER_UPLOAD_ACTIVATION)")
	boolVar(f, &g.cfg.DevMail, "dev-mail", envBool("ROSTER_DEV_MAIL", false), "development only: print codes of unconfigured channels (no SMTP, no SMS gateway) to this terminal (ROSTER_DEV_MAIL)")
	f.StringVar(&g.cfg.TncVersion, "tnc-version", env("ROSTER_TNC_VERSION", "v1"), "current platform terms version accepted at sign-up (ROSTER_TNC_VERSION)")
	boolVar(f, &g.cfg.SecureCookie, "secure-cookie", envBool("ROSTER_SECURE_COOKIE", false), "mark the session cookie Secure; set behind HTTPS (ROSTER_SECURE_COOKIE)")
	return cmd
}

func newMigrateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMigrated(g, cmd, func(a *app.App) error {
				org, err := a.Registry.Bootstrap(cmd.Context()) // exists now; read it for the message
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "database is up to date (%s); custodian organisation %s\n", a.DB.Name(), org.ID)
				return nil
			})
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "roster", getVersion())
		},
	}
}

// envList reads a comma-separated list; unset means none.
func envList(name string) []string {
	var out []string
	for _, v := range strings.Split(os.Getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
