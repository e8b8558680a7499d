package main

import (
	"fmt"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/roster-dev/roster/internal/app"
	"github.com/roster-dev/roster/internal/registry"
)

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the PII key ring and the users' data keys"}
	batch := registry.DefaultRewrapBatch
	rewrap := &cobra.Command{
		Use:   "rewrap",
		Short: "Move users' data keys onto the primary PII key, so a retired key can be removed",
		Long: "Re-wraps every user's data key that is wrapped by a PII key other than the primary (the first\n" +
			"of ROSTER_PII_KEY or keys.json): 32 bytes per user, the personal values themselves are not\n" +
			"re-encrypted. It then moves the values of users from before per-user keys, still sealed by the\n" +
			"key ring directly, under a data key of their own, so that erasing them reaches old copies too.\n" +
			"It works in batches, one transaction each: it can be stopped and run again, and run while\n" +
			"`roster serve` is serving. When it reports nothing left, the retired key can be removed.",
		Example: "  ROSTER_PII_KEY=k2:NEWKEY,k1:OLDKEY roster keys rewrap\n" +
			"  ROSTER_PII_KEY=k2:NEWKEY roster serve   # k1 retired",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMigrated(g, cmd, func(a *app.App) error {
				ctx, reg := cmd.Context(), a.Registry
				pending, err := reg.RewrapPending(ctx)
				if err != nil {
					return err
				}
				bar := newBar(cmd, pending, "data keys")
				rewrapped, err := reg.RewrapUserKeys(ctx, batch, func(n int) { _ = bar.Add(n) })
				finishBar(cmd, bar)
				if err != nil {
					return fmt.Errorf("rewrap stopped after %d data keys (run it again to go on): %w", rewrapped, err)
				}
				users, err := reg.MovePending(ctx)
				if err != nil {
					return err
				}
				bar = newBar(cmd, users, "users")
				moved, err := reg.MoveToUserKeys(ctx, batch, func(n int) { _ = bar.Add(n) })
				finishBar(cmd, bar)
				if err != nil {
					return fmt.Errorf("moving values stopped after %d values (run it again to go on): %w", moved, err)
				}
				left, err := reg.RewrapPending(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d data keys re-wrapped with %s, %d values moved under data keys; %d data keys left under other keys\n",
					rewrapped, a.Keys.PrimaryKeyID(), moved, left)
				return nil
			})
		},
	}
	rewrap.Flags().IntVar(&batch, "batch", batch, "users per transaction (1 to 10000)")
	rewrap.PreRunE = func(*cobra.Command, []string) error {
		if batch < 1 || batch > 10000 {
			return fmt.Errorf("--batch must be between 1 and 10000")
		}
		return nil
	}
	cmd.AddCommand(rewrap)
	return cmd
}

func finishBar(cmd *cobra.Command, bar *progressbar.ProgressBar) {
	_ = bar.Finish()
	fmt.Fprintln(cmd.ErrOrStderr())
}
