package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/function"
)

func init() { rootCmd.AddCommand(newBackupPGCmd()) }

func newBackupPGCmd() *cobra.Command {
	var opt function.BackupPGOptions
	cmd := &cobra.Command{
		Use:   "backup-pg",
		Short: "Back up a PostgreSQL server with pg_dumpall and restic (the postgres-backup Function)",
		Long: `Read the database's address and credentials from --appbinding and its Secret
(or --host, --port, --user and $PGPASSWORD), wait until it accepts a connection,
then stream pg_dumpall (every database and the roles) into a restic snapshot of
dumpfile.sql under --hostname. A dump that fails leaves no snapshot. Then apply
the retention policy to this host's snapshots, check the repository and write
the result to <output-dir>/output.json for the update-status step.
A failed backup is recorded in output.json and exits 0; only failing to write
output.json exits non-zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Log = cmd.ErrOrStderr()
			return runDataPlane(cmd, func(ctx context.Context) error {
				return function.RunBackupPG(ctx, opt, cmd.OutOrStdout())
			})
		},
	}
	opt.AddFlags(cmd.Flags())
	return cmd
}
