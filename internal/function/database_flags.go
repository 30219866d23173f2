package function

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// DatabaseOptions are the flags every database Function has besides Setup.
type DatabaseOptions struct {
	Setup
	// Namespace and AppBinding name the AppBinding that says where the
	// database is and which Secret holds its credentials.
	Namespace  string
	AppBinding string
	// Kubeconfig is a kubeconfig file; empty means $KUBECONFIG, then the
	// pod's in-cluster configuration. Only used with AppBinding.
	Kubeconfig string
	// DBHost, DBPort and DBUser say where the database is when AppBinding
	// is empty; the password then comes from PGPASSWORD or MYSQL_PWD. (Not
	// Host: Setup.Host is the snapshots' host name.)
	DBHost string
	DBPort int
	DBUser string
	// ExtraArgs (--pg-args, --mysql-args) are appended to the dump or
	// restore program's arguments, split like a shell splits words but
	// without any expansion: no shell is ever run.
	ExtraArgs string
	// WaitTimeout is how many seconds to wait for the database to accept
	// a connection.
	WaitTimeout int
	// Databases (backup-pg --databases) are the databases to dump, with
	// the globals; empty means the whole server.
	Databases []string
}

// DatabaseRestoreOptions are the flags of the database restore Functions.
type DatabaseRestoreOptions struct {
	DatabaseOptions
	// Snapshots are restored in order; empty (or "latest") means the
	// latest snapshot of SourceHostname.
	Snapshots []string
	// SourceHostname is whose snapshots to restore; empty means Hostname.
	SourceHostname string
	// Database (restore-pg --database) is the one database to restore out
	// of the dump; empty means all of it.
	Database string
}

const defaultWaitTimeout = 300

func (o *DatabaseOptions) addFlags(fs *pflag.FlagSet, e *engine, argsDefault, argsUsage string) {
	o.Setup.AddFlags(fs)
	fs.StringVar(&o.Namespace, "namespace", orDefault(o.Namespace, "default"), "namespace of the AppBinding")
	fs.StringVar(&o.AppBinding, "appbinding", o.AppBinding, "AppBinding that describes the database and its credentials Secret (empty: use --host, --port, --user and $"+e.passwordEnv+")")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig file to read the AppBinding with (default: $KUBECONFIG, then the in-cluster configuration)")
	fs.StringVar(&o.DBHost, "host", o.DBHost, "database host, when --appbinding is empty")
	fs.IntVar(&o.DBPort, "port", o.DBPort, fmt.Sprintf("database port, when --appbinding is empty (0: %d)", e.defaultPort))
	fs.StringVar(&o.DBUser, "user", o.DBUser, fmt.Sprintf("database user, when --appbinding is empty (default %s)", e.defaultUser))
	fs.StringVar(&o.ExtraArgs, e.argsFlag, argsDefault, argsUsage+"; split on whitespace, quotes group words, no shell is run")
	fs.IntVar(&o.WaitTimeout, "wait-timeout", defaultWaitTimeout, "seconds to wait for the database to accept a connection")
}

func (o *DatabaseRestoreOptions) addFlags(fs *pflag.FlagSet, e *engine, argsUsage string) {
	o.DatabaseOptions.addFlags(fs, e, "", argsUsage)
	fs.StringSliceVar(&o.Snapshots, "snapshot", nil, "snapshot ids to restore, comma separated, in order (empty or latest: the latest snapshot of --source-hostname)")
	fs.StringVar(&o.SourceHostname, "source-hostname", o.SourceHostname, "host whose snapshots are restored (default: --hostname)")
}

// waitTimeout is --wait-timeout as a duration.
func (o DatabaseOptions) waitTimeout() (time.Duration, error) {
	if o.WaitTimeout < 0 {
		return 0, fmt.Errorf("--wait-timeout=%d: must be zero or more seconds", o.WaitTimeout)
	}
	return time.Duration(o.WaitTimeout) * time.Second, nil
}

// splitArgs splits s into words the way a POSIX shell does, but expands
// nothing: whitespace separates words, '...' keeps everything literally,
// "..." keeps whitespace and honours \" and \\, and a backslash outside
// quotes escapes the next character. No shell is run, so $, * and ; are
// ordinary characters.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	const (
		plain = iota
		single
		double
	)
	state := plain
	runes := []rune(s)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch state {
		case single:
			if r == '\'' {
				state = plain
			} else {
				cur.WriteRune(r)
			}
		case double:
			switch {
			case r == '"':
				state = plain
			case r == '\\' && i+1 < len(runes) && (runes[i+1] == '"' || runes[i+1] == '\\'):
				i++
				cur.WriteRune(runes[i])
			default:
				cur.WriteRune(r)
			}
		default:
			switch {
			case r == ' ' || r == '\t' || r == '\n' || r == '\r':
				if inWord {
					args = append(args, cur.String())
					cur.Reset()
					inWord = false
				}
			case r == '\'':
				state, inWord = single, true
			case r == '"':
				state, inWord = double, true
			case r == '\\':
				if i+1 == len(runes) {
					return nil, errors.New("ends with a lone backslash")
				}
				i++
				cur.WriteRune(runes[i])
				inWord = true
			default:
				cur.WriteRune(r)
				inWord = true
			}
		}
	}
	if state != plain {
		return nil, errors.New("has an unterminated quote")
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}
