package function

// What the database Functions (backup-pg, restore-pg, backup-mysql,
// restore-mysql) share: the connection details from an AppBinding and its
// Secret or from flags, a readiness wait with a real connection, a dump
// streamed into `restic backup --stdin`, and `restic dump` streamed into the
// database's client, with the exit status of both sides checked.
//
// The database password reaches a child process through its environment
// only (PGPASSWORD, MYSQL_PWD): never an argument, a log line or an error.
//
// This file holds what both directions use; the connection lookup, the
// readiness wait, the backup stream and the restore stream each have their
// own database_*.go file.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/stash-operator/stash/internal/process"
	"github.com/stash-operator/stash/internal/restic"
)

// DumpFileName is the name an SQL dump has inside its snapshot, as Stash's
// database Functions named it: repositories written by Stash restore
// unchanged.
const DumpFileName = "dumpfile.sql"

// engine is what differs between PostgreSQL, MySQL/MariaDB and Redis.
type engine struct {
	name string // for messages: "PostgreSQL"
	// dumpFile is the dump's name inside its snapshot.
	dumpFile    string
	argsFlag    string // "pg-args"
	defaultPort int
	defaultUser string
	// passwordEnv is the only way the password reaches a child process.
	passwordEnv string
	// addrEnv, when set, is the client's variable for the server's address
	// beside its name (PGHOSTADDR): see pinAddress.
	addrEnv string
	// clientEnvPrefix names the client's own settings (PGSSLMODE,
	// PGCONNECT_TIMEOUT, ...) that a user sets in runtimeSettings.container
	// .env: they reach the engine's programs; its password variable never.
	clientEnvPrefix string
	// userKeys and passwordKeys are the credentials Secret's keys, the
	// first one present wins: the kubedb names first, then the generic ones.
	userKeys     []string
	passwordKeys []string
	// dumpPrograms and clientPrograms: the first one on PATH is used.
	dumpPrograms   []string
	clientPrograms []string
	// self: the dump and client program is this binary (connArgs start
	// with its hidden command), not one on PATH.
	self bool
	// connArgs are the arguments naming the server and user, for every
	// program of the engine.
	connArgs func(c connection) []string
	// dumpArgs come after connArgs and before the extra arguments.
	dumpArgs []string
	// restoreArgs come after connArgs and before the extra arguments.
	restoreArgs []string
	// pingArgs come after connArgs and run one trivial query.
	pingArgs []string
	// newRestoreErrors, when set, watches the client's stderr during a
	// restore for statement errors its exit status does not reflect.
	newRestoreErrors func() restoreErrors
	// dumpParts, when set, makes the dump: the programs (and text) whose
	// output, one after another, is the dump file. Unset: wholeDump.
	dumpParts func(e *engine, o DatabaseOptions, dumpPath string, c connection, extra []string) ([]dumpPart, error)
	// restoreFilter, when set, makes what the client reads from the dump
	// file (one database of it, for example); nil for the whole file.
	restoreFilter func(o DatabaseRestoreOptions) func(r io.Reader, w io.Writer) error
}

// restoreErrors classifies the client's stderr lines during a restore.
type restoreErrors interface {
	line(s string)
	// err summarises the errors that make the restore fail, or is nil.
	err(program string) error
}

// findProgram is the first of names found on PATH, or this binary for an
// engine whose programs are its own.
func findProgram(e *engine, names []string) (string, error) {
	if e.self {
		p, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find this program, which dumps and restores %s: %w", e.name, err)
		}
		return p, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH: the Function's image needs the %s client tools", strings.Join(names, " or "), e.name)
}

// childEnv is the environment of the engine's programs: the data plane's
// policy (process.Env) with the client's own settings, plus the
// connection's password as the engine's password variable. This process's
// own password variable never reaches them, so that a stale one can never
// be used instead.
func childEnv(e *engine, c connection) []string {
	parent := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, e.passwordEnv+"=") })
	set := map[string]string{}
	if c.Password != "" {
		set[e.passwordEnv] = string(c.Password)
	}
	if e.addrEnv != "" && c.Addr != "" {
		set[e.addrEnv] = c.Addr
	}
	return process.Env(parent, set, e.clientEnvPrefix)
}

// pinAddress resolves the server's name once, after the readiness wait,
// for an engine whose client takes an address beside the name
// (PGHOSTADDR): every connection of the dump or restore (pg_dumpall and
// psql open one per database) then goes to that address without asking DNS
// again, so a name lookup that fails midway cannot fail a dump that had
// begun. The name still serves TLS verification. A host that is an
// address, a name of several addresses (the client tries each in turn),
// or one that does not resolve now is left to the client.
func (o DatabaseOptions) pinAddress(ctx context.Context, e *engine, c connection) connection {
	if e.addrEnv == "" {
		return c
	}
	if _, err := netip.ParseAddr(c.Host); err == nil {
		return c
	}
	for attempt := 1; attempt <= 3; attempt++ {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err := net.DefaultResolver.LookupHost(lctx, c.Host)
		cancel()
		if err == nil && len(addrs) > 1 {
			return c
		}
		if err == nil && len(addrs) == 1 {
			c.Addr = addrs[0]
			o.logf("%s at %s: connecting to %s", e.name, c.Host, c.Addr)
			return c
		}
		if ctx.Err() != nil {
			return c
		}
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
	return c
}

func (o DatabaseOptions) logCommand(p process.Program) {
	o.logf("running: %s", p.CommandLine())
}

// scrubber removes the credentials this run knows of from error text: the
// database password, and the storage Secret through the repository.
type scrubber struct {
	repo     *restic.Repo
	password secret
}

func (s scrubber) err(err error) error {
	msg := err.Error()
	if s.repo != nil {
		msg = s.repo.Scrub(msg)
	}
	if s.password != "" {
		msg = strings.ReplaceAll(msg, string(s.password), "<redacted>")
	}
	return errors.New(msg)
}

// prepared is what backups and restores both need before data moves.
type prepared struct {
	extra      []string
	timeout    time.Duration
	clientPath string
	conn       connection
	repo       *restic.Repo
}

// prepare checks the flags, finds the client, reads the connection (from
// the AppBinding or the flags) and sets up the repository driver; scrub
// learns the secrets, so that no later error can show them.
func (o DatabaseOptions) prepare(ctx context.Context, e *engine, scrub *scrubber) (*prepared, error) {
	extra, err := splitArgs(o.ExtraArgs)
	if err != nil {
		return nil, fmt.Errorf("--%s %w", e.argsFlag, err)
	}
	timeout, err := o.waitTimeout()
	if err != nil {
		return nil, err
	}
	clientPath, err := findProgram(e, e.clientPrograms)
	if err != nil {
		return nil, err
	}
	conn, err := o.connection(ctx, e)
	if err != nil {
		return nil, err
	}
	scrub.password = conn.Password
	repo, err := o.NewRepo()
	if err != nil {
		return nil, err
	}
	scrub.repo = repo
	return &prepared{extra: extra, timeout: timeout, clientPath: clientPath, conn: conn, repo: repo}, nil
}
