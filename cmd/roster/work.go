package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/demo"
	"github.com/roster-dev/roster/internal/registry"
	"github.com/roster-dev/roster/internal/report"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/upload"
)

// Commands that run background work (uploads, reports) start the job
// workers in-process while they wait, so they work whether or not a
// `roster serve` shares the database; if one does, whichever process picks
// a job up first runs it.

// withWorkers opens the app, migrates and runs fn with job workers started.
func withWorkers(g *globals, cmd *cobra.Command, fn func(a *app.App) error) error {
	return withMigrated(g, cmd, func(a *app.App) error {
		q, err := a.NewQueue(true, false)
		if err != nil {
			return err
		}
		if err := q.Start(cmd.Context()); err != nil {
			return err
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 30*time.Second)
			defer cancel()
			_ = q.Stop(ctx)
		}()
		return fn(a)
	})
}

// principalFor resolves --as (username, email or phone) to the user's
// current principal. The login is not echoed back: it may be an email.
func principalFor(ctx context.Context, a *app.App, login string) (*roster.Principal, error) {
	for _, typ := range []string{roster.LookupUsername, roster.LookupEmail, roster.LookupPhone} {
		u, err := a.Registry.FindUser(ctx, roster.SystemPrincipal, registry.LookupQuery{Type: typ, Value: login})
		if err == nil {
			return a.Registry.Principal(ctx, u.ID)
		}
	}
	return nil, errors.New("--as: no active user has that login")
}

// rowsFailed is the exit status of an upload that ran but had failed rows,
// so scripts can tell it from a command that could not run at all (1).
const rowsFailed = 2

func newUploadCmd(g *globals) *cobra.Command {
	var (
		org     upload.OrgRef
		dryRun  bool
		mode    string
		confirm bool
		as      string
	)
	cmd := &cobra.Command{
		Use:   "upload FILE",
		Short: "Register the users of a CSV or .xlsx file in one organisation",
		Long: "Validates the file, creates its users in the background with a progress bar, and prints a summary\n" +
			"and every failed row (row number, column and reason; never the row's values). With --dry-run nothing\n" +
			"is created. With --mode update the rows change existing users (found by userName or external id);\n" +
			"--mode upsert updates those that exist and creates the others. The exit status is 2 when rows failed,\n" +
			"so scripts can tell.",
		Example: "  roster upload teachers.csv --org ORG_ID --dry-run\n  roster upload teachers.xlsx --provider TN --external-id SCH-001\n" +
			"  roster upload changes.csv --org ORG_ID --mode update --dry-run",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return withWorkers(g, cmd, func(a *app.App) error {
				p := roster.SystemPrincipal
				if as != "" {
					if p, err = principalFor(cmd.Context(), a, as); err != nil {
						return err
					}
				}
				var bar *progressbar.ProgressBar
				opt := upload.WaitOptions{DryRun: dryRun, Mode: mode, Confirm: confirm, PollInterval: 200 * time.Millisecond,
					OnProgress: func(u roster.Upload) {
						if bar == nil {
							bar = newBar(cmd, u.Total, "rows")
						}
						_ = bar.Set(u.Processed)
					}}
				rep, err := a.Uploads.SubmitAndWait(cmd.Context(), p, org, filepath.Base(args[0]), data, opt)
				if bar != nil {
					_ = bar.Finish()
					fmt.Fprintln(cmd.ErrOrStderr())
				}
				if err != nil {
					if rep != nil && rep.Upload != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "stopped waiting; upload %s carries on in the background\n", rep.Upload.ID)
					}
					return describe(err)
				}
				printUploadSummary(cmd.OutOrStdout(), rep)
				if !rep.OK() {
					return &exitError{code: rowsFailed}
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&org.ID, "org", "", "organisation the users join")
	f.StringVar(&org.Provider, "provider", "", "instead of --org: the tenant channel (with --external-id)")
	f.StringVar(&org.ExternalID, "external-id", "", "instead of --org: the organisation's external id (with --provider)")
	boolVar(f, &dryRun, "dry-run", false, "validate every row, create or change nobody; an update lists each row's changes")
	f.StringVar(&mode, "mode", roster.UploadModeCreate, "create, update or upsert")
	boolVar(f, &confirm, "confirm", false, "go ahead although an update changes more of the organisation than --upload-change-threshold allows")
	f.StringVar(&as, "as", "", "act as this org admin (username, email or phone) instead of the operator")
	return cmd
}

func printUploadSummary(w io.Writer, rep *upload.Report) {
	u := rep.Upload
	kind := "upload"
	created := "created"
	if u.Mode != "" && u.Mode != roster.UploadModeCreate {
		created = "done"
	}
	if u.DryRun {
		kind, created = "dry run", "valid"
	}
	fmt.Fprintf(w, "%s %s of %s: %s\n", kind, u.ID, u.FileName, u.Status)
	if u.Failure != "" {
		fmt.Fprintf(w, "  %s\n", u.Failure)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "rows\t%s\tfailed\n", created)
	fmt.Fprintf(tw, "%d\t%d\t%d\n", u.Total, u.Succeeded, u.Failed)
	tw.Flush()
	if len(rep.Failed) == 0 {
		return
	}
	fmt.Fprintln(w, "\nfailed rows:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "row\tcolumn\tproblem")
	for _, r := range rep.Failed {
		for _, e := range r.Errors {
			msg := e.Message
			if e.Value != "" {
				msg += " (" + e.Value + ")"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", r.RowNumber, e.Field, msg)
		}
	}
	tw.Flush()
	if !u.DryRun {
		fmt.Fprintf(w, "\nThe result file (your columns plus result and errors) is at GET /api/v1/uploads/%s/result.csv\n", u.ID)
	}
}

func newReportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Request and download User Profile Exhaust reports"}
	var (
		kind, format, courseID, batchID, as string
		passwordStdin, noWait               bool
	)
	request := &cobra.Command{
		Use:   "request",
		Short: "Request a report (by default the User Profile Exhaust) of a course batch",
		Long: "Builds the report as the course creator (or --as) into an AES-256 encrypted zip. The zip password is\n" +
			"read from standard input (--password-stdin) or asked for on the terminal, never taken as a flag.",
		Example: "  roster report request --course do_123 --batch BATCH_ID",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readPassword(cmd, passwordStdin, "Password for the report zip: ")
			if err != nil {
				return err
			}
			return withWorkers(g, cmd, func(a *app.App) error {
				ctx := cmd.Context()
				p, err := creatorPrincipal(ctx, a, courseID, as)
				if err != nil {
					return err
				}
				r, err := a.Reports.Request(ctx, p, report.NewRequest{Kind: kind, Format: format, CourseID: courseID,
					BatchID: batchID, Password: pw})
				if err != nil {
					return describe(err)
				}
				if r.Existing {
					fmt.Fprintln(cmd.ErrOrStderr(), "an identical request is already pending; waiting for it")
				}
				for !noWait && (r.Status == roster.ReportSubmitted || r.Status == roster.ReportProcessing) {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(200 * time.Millisecond):
					}
					if r, err = a.Reports.Get(ctx, p, r.ID); err != nil {
						return err
					}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "report %s: %s\n", r.ID, r.Status)
				switch r.Status {
				case roster.ReportSuccess:
					fmt.Fprintf(cmd.OutOrStdout(), "%d learners, %d consented to share\nDownload: roster report download %s -o exhaust.zip\n",
						r.TotalRows, r.ConsentedRows, r.ID)
				case roster.ReportFailed:
					return &exitError{code: 1, msg: "the report failed: " + r.Failure}
				}
				return nil
			})
		},
	}
	f := request.Flags()
	f.StringVar(&kind, "kind", report.KindNames()[0], "which report: "+strings.Join(report.KindNames(), ", "))
	f.StringVar(&format, "format", report.FormatNames()[0], "file format: "+strings.Join(report.FormatNames(), ", "))
	f.StringVar(&courseID, "course", "", "course id (do_…)")
	f.StringVar(&batchID, "batch", "", "batch id; every batch of the course when empty")
	f.StringVar(&as, "as", "", "request as this user (default: the course creator)")
	boolVar(f, &passwordStdin, "password-stdin", false, "read the zip password from the first line of standard input")
	boolVar(f, &noWait, "no-wait", false, "return once the request is recorded")
	_ = request.MarkFlagRequired("course")

	var out string
	var force bool
	download := &cobra.Command{
		Use:     "download REPORT_ID",
		Short:   "Save a finished report's encrypted zip",
		Example: "  roster report download REPORT_ID -o exhaust.zip",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMigrated(g, cmd, func(a *app.App) error {
				ctx := cmd.Context()
				var p *roster.Principal
				var err error
				if as != "" {
					p, err = principalFor(ctx, a, as)
				} else {
					p, err = requesterPrincipal(ctx, a, args[0])
				}
				if err != nil {
					return err
				}
				link, err := a.Reports.DownloadLink(ctx, p, args[0])
				if err != nil {
					return describe(err)
				}
				rc, info, err := a.Reports.Open(ctx, p, link.Token)
				if err != nil {
					return describe(err)
				}
				defer rc.Close()
				if out == "" {
					out = info.Name
				}
				flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
				if force {
					flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
				}
				fh, err := os.OpenFile(out, flags, 0o600)
				if err != nil {
					return err
				}
				n, err := io.Copy(fh, rc)
				if cerr := fh.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					os.Remove(out)
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "saved %s (%d bytes); open it with 7-Zip and the report password\n", out, n)
				return nil
			})
		},
	}
	download.Flags().StringVarP(&out, "output", "o", "", "file to write (default: the report's file name)")
	boolVar(download.Flags(), &force, "force", false, "overwrite an existing file")
	download.Flags().StringVar(&as, "as", "", "download as this user (default: who requested the report)")
	cmd.AddCommand(request, download)
	return cmd
}

// creatorPrincipal is the principal a CLI report request acts as: --as, or
// the course's creator, whom the service requires.
func creatorPrincipal(ctx context.Context, a *app.App, courseID, as string) (*roster.Principal, error) {
	if as != "" {
		return principalFor(ctx, a, as)
	}
	c, err := a.Courses.GetCourse(ctx, roster.SystemPrincipal, strings.TrimSpace(courseID))
	if err != nil {
		return nil, err
	}
	return a.Registry.Principal(ctx, c.CreatedBy)
}

func requesterPrincipal(ctx context.Context, a *app.App, reportID string) (*roster.Principal, error) {
	r, err := store.GetReportRequest(ctx, a.DB, strings.TrimSpace(reportID))
	if errors.Is(err, store.ErrNoRows) {
		return nil, errors.New("report not found")
	} else if err != nil {
		return nil, err
	}
	return a.Registry.Principal(ctx, r.RequestedBy)
}

func newDemoCmd(g *globals) *cobra.Command {
	var (
		opts  demo.Options
		addr  string
		reset bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Load demo data: a tenant, a course with two batches and a few hundred learners",
		Long: "Loads example data into the data directory's database and prints the staff accounts to sign in with;\n" +
			"they are also written to DATA_DIR/" + demoAccountsFile + " (readable only by you).\n" +
			"Start `roster serve` first and run this in a second terminal with the same --data-dir (or run it\n" +
			"before serve; either order works). Give the --addr serve listens on to get its sign-in address.\n" +
			"Run again with --reset to give the demo accounts new passwords.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMigrated(g, cmd, func(a *app.App) error {
				res, renewed, err := loadDemo(cmd, a, opts, reset)
				if err != nil {
					return err
				}
				url := app.ConsoleURL(addr)
				file := filepath.Join(g.cfg.DataDir, demoAccountsFile)
				if err := os.MkdirAll(g.cfg.DataDir, 0o700); err != nil {
					return err
				}
				if err := os.WriteFile(file, []byte(res.AccountsText(url)), 0o600); err != nil {
					return fmt.Errorf("write the demo accounts: %w", err)
				}
				// WriteFile keeps the mode of a file that already exists.
				if err := os.Chmod(file, 0o600); err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if renewed {
					fmt.Fprintln(out, "Demo accounts reset: new passwords below, their old sessions are signed out.")
				} else {
					fmt.Fprint(out, res.Summary())
				}
				fmt.Fprint(out, res.AccountsText(url))
				fmt.Fprintf(out, "These accounts are also in %s (readable only by you).\n", file)
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Learners, "learners", 300, fmt.Sprintf("number of learners, at most %d", demo.MaxLearners))
	f.StringVar(&addr, "addr", env("ROSTER_ADDR", ":8080"), "the address `roster serve` listens on, for the sign-in address printed (ROSTER_ADDR)")
	f.BoolVar(&reset, "reset", false, "the demo is loaded already: give its accounts new passwords and sign them out")
	return cmd
}

// demoAccountsFile, in the data directory, keeps the demo's accounts so a
// closed terminal does not lose them.
const demoAccountsFile = "demo-accounts.txt"

// loadDemo loads the demo, or with reset renews the accounts of a loaded
// one (and loads it when there is none yet); renewed says which.
func loadDemo(cmd *cobra.Command, a *app.App, opts demo.Options, reset bool) (res *demo.Result, renewed bool, err error) {
	if reset {
		res, err := demo.ResetAccounts(cmd.Context(), a.DB, a.Registry, "")
		if !errors.Is(err, demo.ErrNotLoaded) {
			return res, err == nil, describe(err)
		}
	}
	var bar *progressbar.ProgressBar
	opts.Progress = func(done, total int) {
		if bar == nil {
			bar = newBar(cmd, total, "learners")
		}
		_ = bar.Set(done)
	}
	res, err = demo.Load(cmd.Context(), a.DB, a.Registry, a.Courses, opts)
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(cmd.ErrOrStderr())
	}
	if errors.Is(err, demo.ErrLoaded) {
		return nil, false, fmt.Errorf("demo data is already loaded; its accounts are in %s, or run `roster demo --reset` to give them new passwords",
			filepath.Join(a.Config.DataDir, demoAccountsFile))
	}
	return res, false, describe(err)
}

// newBar is the progress bar of the long-running commands, on stderr so
// stdout stays the result.
func newBar(cmd *cobra.Command, total int, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions(max(total, 1),
		progressbar.OptionSetWriter(cmd.ErrOrStderr()),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond))
}
