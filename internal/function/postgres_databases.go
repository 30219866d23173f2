package function

// Dumps of named PostgreSQL databases (backup-pg --databases) and the
// restore of one database out of a dump (restore-pg --database).

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/stash-operator/stash/internal/process"
)

// pgDumpParts is backup-pg's dump. Without --databases it is pg_dumpall's
// (every database and the globals). With it, it has pg_dumpall's shape,
// so that restore-pg restores it whole or one database of it: the globals
// (pg_dumpall --globals-only: roles, tablespaces), then for each database
// the section header pg_dumpall writes and pg_dump --create's script, with
// the extra arguments (--pg-args).
func pgDumpParts(e *engine, o DatabaseOptions, dumpallPath string, c connection, extra []string) ([]dumpPart, error) {
	if len(o.Databases) == 0 {
		return wholeDump(e, o, dumpallPath, c, extra)
	}
	env := childEnv(e, c)
	dumpPath, err := findProgram(e, []string{"pg_dump"})
	if err != nil {
		return nil, err
	}
	parts := []dumpPart{{program: &process.Program{Path: dumpallPath, Args: append(e.connArgs(c), "--globals-only"), Env: env}}}
	for _, db := range o.Databases {
		if db == "" || strings.ContainsAny(db, "\"\n") {
			return nil, fmt.Errorf("--databases: %q is not a database name this dump can hold", db)
		}
		args := append(append(e.connArgs(c), "--create"), extra...)
		parts = append(parts,
			dumpPart{text: "--\n-- Database \"" + db + "\" dump\n--\n\n"},
			dumpPart{program: &process.Program{Path: dumpPath, Args: append(args, "--dbname="+db), Env: env}})
	}
	return parts, nil
}

// pgSectionHeader is the comment pg_dumpall writes before each database's
// script; pgDumpParts writes it too.
var pgSectionHeader = regexp.MustCompile(`^-- Database "(.*)" dump\n?$`)

// filterPGDatabase copies, of a dump of pg_dumpall's shape, what restores
// database name alone: the session settings (SET) and the CREATE ROLE
// statements at its start, then that database's section. ALTER ROLE (the
// roles' attributes and passwords), role memberships and the other
// databases are left out, so that a running server's roles are never
// changed; roles the database's objects need but the server lacks are
// created without login or password. COPY data is never taken for a
// section header. A dump without that database is an error naming those
// it holds.
func filterPGDatabase(name string, r io.Reader, w io.Writer) error {
	in := bufio.NewReaderSize(r, 1<<16)
	out := bufio.NewWriterSize(w, 1<<16)
	const (
		preamble = iota
		wanted
		other
	)
	state, copying := preamble, false
	var seen []string
	for {
		line, err := in.ReadString('\n')
		if line != "" {
			switch {
			case copying:
				copying = line != "\\.\n"
			case pgSectionHeader.MatchString(line):
				db := pgSectionHeader.FindStringSubmatch(line)[1]
				seen = append(seen, db)
				state = other
				if db == name {
					state = wanted
					line = "--\n" + line
				}
			case strings.HasPrefix(line, "COPY ") && strings.HasSuffix(line, " FROM stdin;\n"):
				copying = true
			}
			keep := state == wanted || state == preamble && (strings.HasPrefix(line, "SET ") || strings.HasPrefix(line, "CREATE ROLE "))
			if keep {
				if _, werr := out.WriteString(line); werr != nil {
					return werr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	for _, db := range seen {
		if db == name {
			return out.Flush()
		}
	}
	return fmt.Errorf("the dump holds no database %q (it holds %s): check --database (the Task param database)", name, strings.Join(seen, ", "))
}
