package main

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stash-operator/stash/internal/function"
	"github.com/stash-operator/stash/internal/redisdump"
)

// What every data-plane Function's help says of its exit status.
const (
	backupExitStatus  = "A failed backup is recorded in output.json and exits 0; only failing to write\noutput.json exits non-zero."
	restoreExitStatus = "A failed restore is recorded in output.json and exits 0; only failing to write\noutput.json exits non-zero."
)

// The data-plane Functions: each is a command with Stash's flags that
// records its result in output.json (see runDataPlane for the exit status).
func init() {
	rootCmd.AddCommand(dataPlaneCommand[function.BackupPVCOptions]("backup-pvc",
		"Back up directories of a mounted PVC with restic (the pvc-backup Function)",
		`Back up each --backup-paths directory as a restic snapshot under --hostname,
then apply the retention policy to this host's snapshots, check the repository
and write the result to <output-dir>/output.json for the update-status step.
`+backupExitStatus,
		function.RunBackupPVC))
	rootCmd.AddCommand(dataPlaneCommand[function.RestorePVCOptions]("restore-pvc",
		"Restore directories of a mounted PVC with restic (the pvc-restore Function)",
		`Restore the latest snapshot of each --restore-paths directory taken by
--source-hostname (default --hostname), or the given --snapshots, back to where
they were backed up from, and write the result to <output-dir>/output.json.
`+restoreExitStatus,
		function.RunRestorePVC))
	rootCmd.AddCommand(dataPlaneCommand[function.BackupPGOptions]("backup-pg",
		"Back up a PostgreSQL server with pg_dumpall and restic (the postgres-backup Function)",
		`Read the database's address and credentials from --appbinding and its Secret
(or --host, --port, --user and $PGPASSWORD), wait until it accepts a connection,
then stream pg_dumpall (every database and the roles) into a restic snapshot of
dumpfile.sql under --hostname. A dump that fails leaves no snapshot. Then apply
the retention policy to this host's snapshots, check the repository and write
the result to <output-dir>/output.json for the update-status step.
`+backupExitStatus,
		function.RunBackupPG))
	rootCmd.AddCommand(dataPlaneCommand[function.RestorePGOptions]("restore-pg",
		"Restore a PostgreSQL server from a pg_dumpall snapshot (the postgres-restore Function)",
		`Read the database's address and credentials from --appbinding and its Secret
(or --host, --port, --user and $PGPASSWORD), wait until it accepts a connection,
then stream dumpfile.sql of each --snapshot (default: the latest snapshot of
--source-hostname) from restic into psql. Roles and databases that already
exist are tolerated; any other failed statement fails the restore. The result
is written to <output-dir>/output.json.
`+restoreExitStatus,
		function.RunRestorePG))
	rootCmd.AddCommand(dataPlaneCommand[function.BackupMySQLOptions]("backup-mysql",
		"Back up a MySQL or MariaDB server with mariadb-dump and restic (the mysql-backup Function)",
		`Read the database's address and credentials from --appbinding and its Secret
(or --host, --port, --user and $MYSQL_PWD), wait until it accepts a connection,
then stream mariadb-dump (or mysqldump) --single-transaction --routines --events
with --mysql-args (default --all-databases) into a restic snapshot of
dumpfile.sql under --hostname. A dump that fails leaves no snapshot. Then apply
the retention policy to this host's snapshots, check the repository and write
the result to <output-dir>/output.json for the update-status step.
`+backupExitStatus,
		function.RunBackupMySQL))
	rootCmd.AddCommand(dataPlaneCommand[function.RestoreMySQLOptions]("restore-mysql",
		"Restore a MySQL or MariaDB server from a dump snapshot (the mysql-restore Function)",
		`Read the database's address and credentials from --appbinding and its Secret
(or --host, --port, --user and $MYSQL_PWD), wait until it accepts a connection,
then stream dumpfile.sql of each --snapshot (default: the latest snapshot of
--source-hostname) from restic into the mariadb (or mysql) client, which stops
at the first failed statement. The result is written to <output-dir>/output.json.
`+restoreExitStatus,
		function.RunRestoreMySQL))
	rootCmd.AddCommand(dataPlaneCommand[function.BackupRedisOptions]("backup-redis",
		"Back up a Redis server into restic (the redis-backup Function)",
		`Read the server's address and credentials from --appbinding and its Secret
(or --host, --port, --user and $REDISCLI_AUTH), wait until it answers PING as
that user, then stream every key of every database (DUMP, with its expiry) as
RESTORE commands into a restic snapshot of dumpfile.resp under --hostname. A
dump that fails leaves no snapshot. Then apply the retention policy to this
host's snapshots, check the repository and write the result to
<output-dir>/output.json for the update-status step.
`+backupExitStatus,
		function.RunBackupRedis))
	rootCmd.AddCommand(dataPlaneCommand[function.RestoreRedisOptions]("restore-redis",
		"Restore a Redis server from a dump snapshot (the redis-restore Function)",
		`Read the server's address and credentials from --appbinding and its Secret
(or --host, --port, --user and $REDISCLI_AUTH), wait until it answers PING,
then stream dumpfile.resp of each --snapshot (default: the latest snapshot of
--source-hostname) from restic into the running server, which must hold no
key. The result is written to <output-dir>/output.json.
`+restoreExitStatus,
		function.RunRestoreRedis))
	// The dump and client program of backup-redis and restore-redis.
	rootCmd.AddCommand(&cobra.Command{
		Use: "redis", Short: "Dump a Redis server's keys to stdout, or load a dump from stdin (run by backup-redis and restore-redis)",
		Hidden: true, DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := redisdump.Main(cmd.Context(), args, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()); code != 0 {
				return &exitError{code: code, err: errors.New("")} // Main said why on stderr
			}
			return nil
		},
	})
	rootCmd.AddCommand(dataPlaneCommand[function.Setup]("wipe-repository",
		"Forget every snapshot of a repository and prune its data (Repository spec.wipeOut)",
		"Runs in the Job the operator creates when a Repository with spec.wipeOut: true is deleted.\nExits non-zero when the data could not be deleted, so that the Job fails and the Repository keeps its finalizer.",
		function.WipeRepository))
}

// dataPlaneOptions are the options of a data-plane Function.
type dataPlaneOptions[O any] interface {
	*O
	AddFlags(*pflag.FlagSet)
	SetLog(io.Writer)
}

// dataPlaneCommand builds the command of one Function: its flags, its log on
// stderr and its summary on stdout.
func dataPlaneCommand[O any, P dataPlaneOptions[O]](use, short, long string, run func(context.Context, O, io.Writer) error) *cobra.Command {
	var opt O
	cmd := &cobra.Command{
		Use: use, Short: short, Long: long, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			P(&opt).SetLog(cmd.ErrOrStderr())
			return runDataPlane(cmd, func(ctx context.Context) error {
				return run(ctx, opt, cmd.OutOrStdout())
			})
		},
	}
	P(&opt).AddFlags(cmd.Flags())
	return cmd
}
