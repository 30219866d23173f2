package function

import (
	"context"
	"io"
	"strconv"

	"github.com/spf13/pflag"
)

// mysql is MySQL and MariaDB: mariadb-dump (mysqldump where only that
// exists) in one consistent transaction with routines and events, restored
// with the mariadb (mysql) client, which stops at the first failed
// statement and exits non-zero.
var mysql = engine{
	name:            "MySQL",
	dumpFile:        DumpFileName,
	argsFlag:        "mysql-args",
	defaultPort:     3306,
	defaultUser:     "root",
	passwordEnv:     "MYSQL_PWD",
	clientEnvPrefix: "MYSQL_",
	userKeys:        []string{"MYSQL_ROOT_USERNAME", "username"},
	passwordKeys:    []string{"MYSQL_ROOT_PASSWORD", "password"},
	dumpPrograms:    []string{"mariadb-dump", "mysqldump"},
	clientPrograms:  []string{"mariadb", "mysql"},
	connArgs: func(c connection) []string {
		// --protocol=TCP: with host "localhost" the client would otherwise
		// look for a Unix socket, which a database in another pod has not.
		return []string{"--host=" + c.Host, "--port=" + strconv.Itoa(c.Port), "--user=" + c.User, "--protocol=TCP"}
	},
	dumpArgs: []string{"--single-transaction", "--routines", "--events"},
	pingArgs: []string{"--connect-timeout=10", "--batch", "--skip-column-names", "--execute=select 1"},
}

// BackupMySQLOptions are backup-mysql's flags.
type BackupMySQLOptions struct{ DatabaseOptions }

// AddFlags registers the common flags and backup-mysql's own. The default
// of --mysql-args is the catalog's.
func (o *BackupMySQLOptions) AddFlags(fs *pflag.FlagSet) {
	o.addFlags(fs, &mysql, "--all-databases", "extra arguments for mariadb-dump")
}

// BackupMySQL streams mariadb-dump's output into the repository as
// dumpfile.sql and runs the after-backup sequence. It never fails: a
// failure is the Failed host entry of the result, and a failed dump leaves
// no snapshot.
func BackupMySQL(ctx context.Context, o BackupMySQLOptions) BackupOutput {
	return backupDatabase(ctx, &mysql, o.DatabaseOptions)
}

// RunBackupMySQL is the backup-mysql command: back up, write output.json,
// print a summary. It returns an error only when the result could not be
// recorded.
func RunBackupMySQL(ctx context.Context, o BackupMySQLOptions, stdout io.Writer) error {
	out := BackupMySQL(ctx, o)
	return Finish(o.OutputDir, out, out.Failed(), BackupSummaryText(out), stdout)
}

// RestoreMySQLOptions are restore-mysql's flags.
type RestoreMySQLOptions struct{ DatabaseRestoreOptions }

// AddFlags registers the common flags and restore-mysql's own.
func (o *RestoreMySQLOptions) AddFlags(fs *pflag.FlagSet) {
	o.addFlags(fs, &mysql, "extra arguments for the mariadb client")
}

// RestoreMySQL streams each snapshot's dumpfile.sql into the mariadb
// client. It never fails: a failure is the Failed host entry of the result.
func RestoreMySQL(ctx context.Context, o RestoreMySQLOptions) RestoreOutput {
	return restoreDatabase(ctx, &mysql, o.DatabaseRestoreOptions)
}

// RunRestoreMySQL is the restore-mysql command: restore, write output.json,
// print a summary. It returns an error only when the result could not be
// recorded.
func RunRestoreMySQL(ctx context.Context, o RestoreMySQLOptions, stdout io.Writer) error {
	out := RestoreMySQL(ctx, o)
	return Finish(o.OutputDir, out, out.Failed(), RestoreSummaryText(out), stdout)
}
