package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/function"
)

func init() { rootCmd.AddCommand(newBackupMySQLCmd()) }

func newBackupMySQLCmd() *cobra.Command {
	var opt function.BackupMySQLOptions
	cmd := &cobra.Command{
		Use:   "backup-mysql",
		Short: "Back up a MySQL or MariaDB server with mariadb-dump and restic (the mysql-backup Function)",
		Long: `Read the database's address and credentials from --appbinding and its Secret
(or --host, --port, --user and $MYSQL_PWD), wait until it accepts a connection,
then stream mariadb-dump (or mysqldump) --single-transaction --routines --events
with --mysql-args (default --all-databases) into a restic snapshot of
dumpfile.sql under --hostname. A dump that fails leaves no snapshot. Then apply
the retention policy to this host's snapshots, check the repository and write
the result to <output-dir>/output.json for the update-status step.
A failed backup is recorded in output.json and exits 0; only failing to write
output.json exits non-zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Log = cmd.ErrOrStderr()
			return runDataPlane(cmd, func(ctx context.Context) error {
				return function.RunBackupMySQL(ctx, opt, cmd.OutOrStdout())
			})
		},
	}
	opt.AddFlags(cmd.Flags())
	return cmd
}
