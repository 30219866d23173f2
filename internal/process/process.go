// Package process runs the data plane's child processes (restic, pg_dumpall,
// psql, mariadb-dump, mariadb) one way: the same environment policy, the same
// stop on cancellation, the same tail of stderr, and the same error for a
// child that failed.
//
// Secrets reach a child through its environment only: its arguments are
// visible to every process on the node and are logged.
package process

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultWaitDelay is how long a cancelled child gets between SIGINT and
// being killed.
const DefaultWaitDelay = 10 * time.Second

// Program is one run of a child process.
type Program struct {
	Path string
	Args []string
	// Env is the child's whole environment; build it with Env.
	Env []string
	// WaitDelay bounds how long the child may take to exit once its context
	// is done; zero means DefaultWaitDelay.
	WaitDelay time.Duration
}

// Name is the program's file name, as messages name it.
func (p Program) Name() string { return filepath.Base(p.Path) }

// CommandLine is the program and its arguments, for the log. It is safe to
// log because no secret is ever an argument.
func (p Program) CommandLine() string {
	return strings.Join(append([]string{p.Path}, p.Args...), " ")
}

// Command prepares p to run until ctx is done. Then it gets SIGINT rather
// than SIGKILL, because restic removes its repository lock on SIGINT and the
// database tools end their session; it is killed if it has not exited
// WaitDelay later.
func (p Program) Command(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = p.WaitDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = DefaultWaitDelay
	}
	return cmd
}
