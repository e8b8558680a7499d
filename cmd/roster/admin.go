package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/roster-dev/roster"
	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/registry"
)

// Operator commands work on the database directly as roster.SystemPrincipal,
// which is how the first tenant and its first admin come to exist.

func newOrgCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Manage organisations"}
	var o roster.Organisation
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a tenant (--tenant) or an organisation inside one (--root-org)",
		Example: "  roster org create --name \"Tamil Nadu\" --channel TN --tenant\n" +
			"  roster org create --name \"GHS Adyar\" --root-org TENANT_ID --external-id SCH-001",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMigrated(g, cmd, func(a *app.App) error {
				org, err := a.Registry.CreateOrg(cmd.Context(), roster.SystemPrincipal, o)
				if err != nil {
					return describe(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "organisation %s created (tenant %s)\n", org.ID, org.RootOrgID)
				return nil
			})
		},
	}
	f := create.Flags()
	f.StringVar(&o.Name, "name", "", "organisation name")
	f.StringVar(&o.Channel, "channel", "", "tenant channel, e.g. TN (required with --tenant)")
	boolVar(f, &o.IsTenant, "tenant", false, "create a tenant (root organisation)")
	f.StringVar(&o.RootOrgID, "root-org", "", "tenant id of a non-tenant organisation")
	f.StringVar(&o.ExternalID, "external-id", "", "the organisation's id in the state's systems")
	f.StringVar(&o.Provider, "provider", "", "provider of the external id (default: the tenant's channel)")
	_ = create.MarkFlagRequired("name")
	cmd.AddCommand(create)
	return cmd
}

func newUserCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users"}
	var (
		in            registry.NewUser
		admin         bool
		passwordStdin bool
		noPassword    bool
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user, e.g. the first org admin of a tenant",
		Long: "Creates a user directly in the database. The password is read from standard input\n" +
			"(--password-stdin) or asked for on the terminal; it is never a flag, so it cannot leak\n" +
			"through the shell history or the process list.",
		Example: "  echo \"$ADMIN_PASSWORD\" | roster user create --admin --org TENANT_ID --username admin --email admin@example.org --password-stdin",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if admin {
				in.Roles = append(in.Roles, roster.RoleOrgAdmin)
			}
			if in.User.FirstName == "" {
				// Names may hold letters only; usernames may not.
				in.User.FirstName = "User"
				if admin {
					in.User.FirstName = "Admin"
				}
			}
			if !noPassword {
				pw, err := readPassword(cmd, passwordStdin, "Password for the new user: ")
				if err != nil {
					return err
				}
				in.Password = pw
			}
			return withMigrated(g, cmd, func(a *app.App) error {
				u, err := a.Registry.CreateUser(cmd.Context(), roster.SystemPrincipal, in)
				if err != nil {
					return describe(err)
				}
				// Contact details are not echoed: terminals get recorded.
				fmt.Fprintf(cmd.OutOrStdout(), "user %s created with username %s in tenant %s\n", u.ID, u.Username, u.RootOrgID)
				return nil
			})
		},
	}
	f := create.Flags()
	f.StringVar(&in.OrgID, "org", "", "organisation to join (default: the custodian organisation)")
	boolVar(f, &admin, "admin", false, "make the user ORG_ADMIN of --org")
	f.StringSliceVar(&in.Roles, "role", nil, "role in --org (repeatable), e.g. CONTENT_CREATOR")
	f.StringVar(&in.User.Username, "username", "", "login name (generated from the name when empty)")
	f.StringVar(&in.User.Email, "email", "", "email address")
	f.StringVar(&in.User.Phone, "phone", "", "mobile number")
	f.StringVar(&in.User.FirstName, "first-name", "", "first name (default: Admin or User)")
	f.StringVar(&in.User.LastName, "last-name", "", "last name")
	boolVar(f, &passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	boolVar(f, &noPassword, "no-password", false, "create the user without a password (SSO only)")
	cmd.AddCommand(create)
	return cmd
}

// withMigrated opens the application, makes sure the schema and custodian
// organisation exist, and runs fn.
func withMigrated(g *globals, cmd *cobra.Command, fn func(a *app.App) error) error {
	a, err := g.open(cmd)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Migrate(cmd.Context()); err != nil {
		return err
	}
	if _, err := a.Registry.Bootstrap(cmd.Context()); err != nil {
		return err
	}
	return fn(a)
}

// describe spells out every field error of a service error for a terminal.
func describe(err error) error {
	var re *roster.Error
	if !errors.As(err, &re) || len(re.Fields) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString(re.Message)
	for _, f := range re.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
		if f.Value != "" {
			fmt.Fprintf(&b, " (%s)", f.Value)
		}
	}
	return errors.New(b.String())
}

// readPassword reads a secret from the first line of stdin, or prompts on
// the terminal without echo (twice, so a typo is caught).
func readPassword(cmd *cobra.Command, fromStdin bool, prompt string) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", errors.New("no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fd := int(os.Stdin.Fd())
	if cmd.InOrStdin() != os.Stdin || !term.IsTerminal(fd) {
		return "", errors.New("no terminal to ask for the password: pass it on standard input with --password-stdin")
	}
	fmt.Fprint(cmd.ErrOrStderr(), prompt)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return "", err
	}
	fmt.Fprint(cmd.ErrOrStderr(), "Again: ")
	again, err := term.ReadPassword(fd)
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return "", err
	}
	if string(pw) != string(again) {
		return "", errors.New("the passwords differ")
	}
	return string(pw), nil
}

func newTncCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "tnc", Short: "Publish and list terms and conditions"}
	var v roster.TncVersion
	publish := &cobra.Command{
		Use:   "publish",
		Short: "Publish a new current version of a kind of terms",
		Long: "Kinds: platform (every user), orgAdminTnc (holders of ORG_ADMIN), reportViewerTnc (content creators).\n" +
			"From then on, users the kind applies to are asked to accept the new version at sign-in, and until\n" +
			"they do an org admin cannot act as admin and a creator cannot request or download reports.",
		Example: "  roster tnc publish --kind orgAdminTnc --version 3.6.0 --url https://example.org/terms/org-admin-3.6.0.html",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMigrated(g, cmd, func(a *app.App) error {
				p, err := a.Registry.PublishTnc(cmd.Context(), roster.SystemPrincipal, v.Kind, v.Version, v.URL)
				if err != nil {
					return describe(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s is now the current version\n", p.Kind, p.Version)
				return nil
			})
		},
	}
	f := publish.Flags()
	f.StringVar(&v.Kind, "kind", "", "platform, orgAdminTnc or reportViewerTnc")
	f.StringVar(&v.Version, "version", "", "version name, e.g. 3.6.0")
	f.StringVar(&v.URL, "url", "", "where the text of this version is published (http or https)")
	for _, name := range []string{"kind", "version", "url"} {
		_ = publish.MarkFlagRequired(name)
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "Show the current version of each kind",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMigrated(g, cmd, func(a *app.App) error {
				terms, err := a.Registry.CurrentTnc(cmd.Context())
				if err != nil {
					return err
				}
				if len(terms) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "no terms published; nothing waits for acceptance")
				}
				for _, t := range terms {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\t%s\n", t.Kind, t.Version, t.PublishedAt.Format(time.RFC3339), t.URL)
				}
				return nil
			})
		},
	}
	cmd.AddCommand(publish, list)
	return cmd
}
