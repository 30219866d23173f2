package function

import (
	"context"
	"io"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/stash-operator/stash/internal/redisdump"
)

// RedisDumpFileName is the name a Redis dump has inside its snapshot.
const RedisDumpFileName = "dumpfile.resp"

// redis is Redis (and servers of its protocol): every key of every
// database dumped with DUMP into RESTORE commands (package redisdump) and
// restored into a running, empty server. The dump and the client are this
// binary's hidden "redis" command, so the image needs no Redis tools.
var redis = engine{
	name:            "Redis",
	dumpFile:        RedisDumpFileName,
	argsFlag:        "redis-args",
	defaultPort:     6379,
	defaultUser:     "default",
	passwordEnv:     redisdump.PasswordEnv,
	clientEnvPrefix: "REDISCLI_",
	userKeys:        []string{"username"},
	passwordKeys:    []string{"password"},
	self:            true,
	connArgs: func(c connection) []string {
		return []string{"redis", "--host=" + c.Host, "--port=" + strconv.Itoa(c.Port), "--user=" + c.User}
	},
	dumpArgs:    []string{"dump"},
	restoreArgs: []string{"load"},
	pingArgs:    []string{"ping"},
}

// BackupRedisOptions are backup-redis's flags.
type BackupRedisOptions struct{ DatabaseOptions }

// AddFlags registers the common flags and backup-redis's own.
func (o *BackupRedisOptions) AddFlags(fs *pflag.FlagSet) {
	o.addFlags(fs, &redis, "", "extra arguments for the dump: --tls, --cacert FILE")
}

// RunBackupRedis is the backup-redis command: stream the server's keys into
// the repository as dumpfile.resp, run the after-backup sequence, write
// output.json and print a summary. A failed dump leaves no snapshot. It
// returns an error only when the result could not be recorded.
func RunBackupRedis(ctx context.Context, o BackupRedisOptions, stdout io.Writer) error {
	out := backupDatabase(ctx, &redis, o.DatabaseOptions)
	return Finish(o.OutputDir, out, out.Failed(), BackupSummaryText(out), stdout)
}

// RestoreRedisOptions are restore-redis's flags.
type RestoreRedisOptions struct{ DatabaseRestoreOptions }

// AddFlags registers the common flags and restore-redis's own.
func (o *RestoreRedisOptions) AddFlags(fs *pflag.FlagSet) {
	o.addFlags(fs, &redis, "extra arguments for the load: --tls, --cacert FILE")
}

// RunRestoreRedis is the restore-redis command: stream each snapshot's
// dumpfile.resp into the server, which must hold no key, write output.json
// and print a summary. It returns an error only when the result could not
// be recorded.
func RunRestoreRedis(ctx context.Context, o RestoreRedisOptions, stdout io.Writer) error {
	out := restoreDatabase(ctx, &redis, o.DatabaseRestoreOptions)
	return Finish(o.OutputDir, out, out.Failed(), RestoreSummaryText(out), stdout)
}
