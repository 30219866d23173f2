package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/function"
)

func init() { rootCmd.AddCommand(newRestorePVCCmd()) }

func newRestorePVCCmd() *cobra.Command {
	var opt function.RestorePVCOptions
	cmd := &cobra.Command{
		Use:   "restore-pvc",
		Short: "Restore directories of a mounted PVC with restic (the pvc-restore Function)",
		Long: `Restore the latest snapshot of each --restore-paths directory taken by
--source-hostname (default --hostname), or the given --snapshots, back to where
they were backed up from, and write the result to <output-dir>/output.json.
A failed restore is recorded in output.json and exits 0; only failing to write
output.json exits non-zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Log = cmd.ErrOrStderr()
			return runDataPlane(cmd, func(ctx context.Context) error {
				return function.RunRestorePVC(ctx, opt, cmd.OutOrStdout())
			})
		},
	}
	opt.AddFlags(cmd.Flags())
	return cmd
}
