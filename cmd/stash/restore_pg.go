package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/function"
)

func init() { rootCmd.AddCommand(newRestorePGCmd()) }

func newRestorePGCmd() *cobra.Command {
	var opt function.RestorePGOptions
	cmd := &cobra.Command{
		Use:   "restore-pg",
		Short: "Restore a PostgreSQL server from a pg_dumpall snapshot (the postgres-restore Function)",
		Long: `Read the database's address and credentials from --appbinding and its Secret
(or --host, --port, --user and $PGPASSWORD), wait until it accepts a connection,
then stream dumpfile.sql of each --snapshot (default: the latest snapshot of
--source-hostname) from restic into psql. Roles and databases that already
exist are tolerated; any other failed statement fails the restore. The result
is written to <output-dir>/output.json.
A failed restore is recorded in output.json and exits 0; only failing to write
output.json exits non-zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Log = cmd.ErrOrStderr()
			return runDataPlane(cmd, func(ctx context.Context) error {
				return function.RunRestorePG(ctx, opt, cmd.OutOrStdout())
			})
		},
	}
	opt.AddFlags(cmd.Flags())
	return cmd
}
