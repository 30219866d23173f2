package function

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// postgres is PostgreSQL as Stash's postgres addon backed it up: the whole
// server (every database and the roles) with pg_dumpall, restored with psql.
var postgres = engine{
	name:            "PostgreSQL",
	dumpFile:        DumpFileName,
	argsFlag:        "pg-args",
	defaultPort:     5432,
	defaultUser:     "postgres",
	passwordEnv:     "PGPASSWORD",
	addrEnv:         "PGHOSTADDR",
	clientEnvPrefix: "PG",
	userKeys:        []string{"POSTGRES_USER", "username"},
	passwordKeys:    []string{"POSTGRES_PASSWORD", "password"},
	dumpPrograms:    []string{"pg_dumpall"},
	clientPrograms:  []string{"psql"},
	connArgs: func(c connection) []string {
		// --no-password: there is no terminal to prompt on; a missing
		// password must fail, not hang.
		return []string{"--host", c.Host, "--port", strconv.Itoa(c.Port), "--username", c.User, "--no-password"}
	},
	// pg_dumpall's script connects to each database itself; psql starts in
	// postgres, which every server has. ON_ERROR_STOP=0 because the script
	// re-creates roles that exist; psqlErrors judges the errors instead.
	// --file=-: stdin read as a script file, so that each error names
	// its line in the dump.
	restoreArgs:      []string{"--dbname", "postgres", "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=0", "--file", "-"},
	pingArgs:         []string{"--dbname", "postgres", "--no-psqlrc", "--quiet", "--tuples-only", "--command", "select 1"},
	newRestoreErrors: func() restoreErrors { return &psqlErrors{} },
	dumpParts:        pgDumpParts,
	restoreFilter: func(o DatabaseRestoreOptions) func(io.Reader, io.Writer) error {
		if o.Database == "" {
			return nil
		}
		return func(r io.Reader, w io.Writer) error { return filterPGDatabase(o.Database, r, w) }
	},
}

// toleratedPGErrors mark the statement errors a restore of pg_dumpall's
// output expects on a running server: the script creates every role and
// database, and at least the superuser it connects as exists already
// (Stash's restore ignored them the same way). And pg_dumpall 17, the
// stash image's, begins each database's script by turning off
// transaction_timeout, a setting new in PostgreSQL 17: a server before 17
// refuses the SET, and has no such timeout to turn off.
var toleratedPGErrors = []string{"already exists", `unrecognized configuration parameter "transaction_timeout"`}

// psqlErrors counts the errors psql printed. With ON_ERROR_STOP=0 psql
// exits 0 whatever its statements did, so its stderr is the only place a
// failed CREATE TABLE or COPY shows.
type psqlErrors struct {
	failed, tolerated int
	first             []string
}

const psqlErrorsShown = 3

func (p *psqlErrors) line(s string) {
	// psql prints "psql:<stdin>:LINE: ERROR:  message"; a failed \connect
	// prints "... \connect: connection ... failed: FATAL:  ...". DETAIL,
	// HINT and CONTEXT lines belong to the error before them.
	if !strings.Contains(s, "ERROR:") && !strings.Contains(s, "FATAL:") {
		return
	}
	for _, t := range toleratedPGErrors {
		if strings.Contains(s, t) {
			p.tolerated++
			return
		}
	}
	p.failed++
	if len(p.first) < psqlErrorsShown {
		p.first = append(p.first, s)
	}
}

func (p *psqlErrors) err(program string) error {
	if p.failed == 0 {
		return nil
	}
	more := ""
	if p.failed > len(p.first) {
		more = fmt.Sprintf("; and %d more", p.failed-len(p.first))
	}
	return fmt.Errorf("%s reported %d failed statement(s), so the databases are only partly restored: %s%s",
		program, p.failed, strings.Join(p.first, "; "), more)
}

// BackupPGOptions are backup-pg's flags.
type BackupPGOptions struct{ DatabaseOptions }

// AddFlags registers the common flags and backup-pg's own.
func (o *BackupPGOptions) AddFlags(fs *pflag.FlagSet) {
	o.addFlags(fs, &postgres, "", "extra arguments for pg_dumpall (with --databases: for each pg_dump)")
	fs.StringSliceVar(&o.Databases, "databases", nil, "databases to dump, comma separated, with the roles (pg_dumpall --globals-only, then pg_dump --create of each); empty: the whole server (pg_dumpall)")
}

// BackupPG streams pg_dumpall's output into the repository as dumpfile.sql
// and runs the after-backup sequence. It never fails: a failure is the
// Failed host entry of the result, and a failed dump leaves no snapshot.
func BackupPG(ctx context.Context, o BackupPGOptions) BackupOutput {
	return backupDatabase(ctx, &postgres, o.DatabaseOptions)
}

// RunBackupPG is the backup-pg command: back up, write output.json, print
// a summary. It returns an error only when the result could not be recorded.
func RunBackupPG(ctx context.Context, o BackupPGOptions, stdout io.Writer) error {
	out := BackupPG(ctx, o)
	return Finish(o.OutputDir, out, out.Failed(), BackupSummaryText(out), stdout)
}

// RestorePGOptions are restore-pg's flags.
type RestorePGOptions struct{ DatabaseRestoreOptions }

// AddFlags registers the common flags and restore-pg's own.
func (o *RestorePGOptions) AddFlags(fs *pflag.FlagSet) {
	o.addFlags(fs, &postgres, "extra arguments for psql")
	fs.StringVar(&o.Database, "database", "", "the one database to restore out of the dump, with the roles it needs (created without login or password when missing; existing roles are not changed); empty: the whole dump")
}

// RestorePG streams each snapshot's dumpfile.sql into psql. It never
// fails: a failure is the Failed host entry of the result.
func RestorePG(ctx context.Context, o RestorePGOptions) RestoreOutput {
	return restoreDatabase(ctx, &postgres, o.DatabaseRestoreOptions)
}

// RunRestorePG is the restore-pg command: restore, write output.json, print
// a summary. It returns an error only when the result could not be recorded.
func RunRestorePG(ctx context.Context, o RestorePGOptions, stdout io.Writer) error {
	out := RestorePG(ctx, o)
	return Finish(o.OutputDir, out, out.Failed(), RestoreSummaryText(out), stdout)
}
