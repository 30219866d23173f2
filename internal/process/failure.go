package process

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// StderrTailLines is how many of a child's last stderr lines its error
// keeps: enough for the cause and what led to it, short enough for a status
// message.
const StderrTailLines = 10

// Failure is a child that did not succeed: how it ended and what it last
// wrote to stderr.
type Failure struct {
	// Program is the child's name, e.g. "pg_dumpall".
	Program string
	// ExitCode is the child's exit status, -1 when it did not exit by itself
	// (a signal stopped it, or it never started).
	ExitCode int
	// Stderr is the tail of the child's stderr.
	Stderr []string
	// Err is why the child ended: the run's context error when the run was
	// cancelled or timed out, else what os/exec returned.
	Err error
}

// Outcome is nil when err, what cmd.Run or cmd.Wait returned for a child
// started with ctx, is nil; otherwise it is the child's *Failure with the
// tail of stderr (which may be nil).
func Outcome(ctx context.Context, program string, err error, stderr *Tail) error {
	if err == nil {
		return nil
	}
	f := &Failure{Program: program, ExitCode: -1, Err: err}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		f.ExitCode = ee.ExitCode()
	}
	if ctx.Err() != nil {
		// Why the run stopped, not the signal that stopped the child.
		f.Err = ctx.Err()
	}
	if stderr != nil {
		f.Stderr = stderr.Lines()
	}
	return f
}

func (f *Failure) Error() string {
	var msg string
	var ee *exec.ExitError
	switch {
	case errors.Is(f.Err, context.Canceled) || errors.Is(f.Err, context.DeadlineExceeded):
		msg = fmt.Sprintf("%s was stopped: %v", f.Program, f.Err)
	case f.ExitCode >= 0:
		msg = fmt.Sprintf("%s failed with exit code %d", f.Program, f.ExitCode)
	case errors.As(f.Err, &ee):
		msg = fmt.Sprintf("%s was stopped (%s)", f.Program, ee.ProcessState)
	default:
		msg = fmt.Sprintf("%s failed: %v", f.Program, f.Err)
	}
	if len(f.Stderr) > 0 {
		msg += ": " + strings.Join(f.Stderr, "; ")
	}
	return msg
}

func (f *Failure) Unwrap() error { return f.Err }
