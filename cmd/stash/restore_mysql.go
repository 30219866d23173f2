package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/function"
)

func init() { rootCmd.AddCommand(newRestoreMySQLCmd()) }

func newRestoreMySQLCmd() *cobra.Command {
	var opt function.RestoreMySQLOptions
	cmd := &cobra.Command{
		Use:   "restore-mysql",
		Short: "Restore a MySQL or MariaDB server from a dump snapshot (the mysql-restore Function)",
		Long: `Read the database's address and credentials from --appbinding and its Secret
(or --host, --port, --user and $MYSQL_PWD), wait until it accepts a connection,
then stream dumpfile.sql of each --snapshot (default: the latest snapshot of
--source-hostname) from restic into the mariadb (or mysql) client, which stops
at the first failed statement. The result is written to <output-dir>/output.json.
A failed restore is recorded in output.json and exits 0; only failing to write
output.json exits non-zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Log = cmd.ErrOrStderr()
			return runDataPlane(cmd, func(ctx context.Context) error {
				return function.RunRestoreMySQL(ctx, opt, cmd.OutOrStdout())
			})
		},
	}
	opt.AddFlags(cmd.Flags())
	return cmd
}
