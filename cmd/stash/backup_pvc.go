package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/function"
)

func init() { rootCmd.AddCommand(newBackupPVCCmd()) }

func newBackupPVCCmd() *cobra.Command {
	var opt function.BackupPVCOptions
	cmd := &cobra.Command{
		Use:   "backup-pvc",
		Short: "Back up directories of a mounted PVC with restic (the pvc-backup Function)",
		Long: `Back up each --backup-paths directory as a restic snapshot under --hostname,
then apply the retention policy to this host's snapshots, check the repository
and write the result to <output-dir>/output.json for the update-status step.
A failed backup is recorded in output.json and exits 0; only failing to write
output.json exits non-zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Log = cmd.ErrOrStderr()
			return runDataPlane(cmd, func(ctx context.Context) error {
				return function.RunBackupPVC(ctx, opt, cmd.OutOrStdout())
			})
		},
	}
	opt.AddFlags(cmd.Flags())
	return cmd
}
