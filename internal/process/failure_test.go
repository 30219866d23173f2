package process

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// runScript runs a shell script the way the data plane runs its children
// and returns the Outcome.
func runScript(ctx context.Context, shell, script string) error {
	p := Program{Path: shell, Args: []string{"-c", script}, Env: Env(os.Environ(), nil), WaitDelay: 5 * time.Second}
	stderr := NewTail(StderrTailLines, nil)
	cmd := p.Command(ctx)
	cmd.Stderr = stderr
	return Outcome(ctx, p.Name(), cmd.Run(), stderr)
}

// TestOutcome runs stand-in children: each way a child can end is reported
// with its stderr, and a cancelled run with why it was cancelled.
func TestOutcome(t *testing.T) {
	tests := map[string]struct {
		path     string
		script   string
		cancel   time.Duration // > 0: cancel the run after this long
		wantErr  string        // empty: success
		wantCode int
		wantIs   error
	}{
		"success":   {script: `echo noise >&2; exit 0`},
		"exit code": {script: `echo "bad option" >&2; exit 2`, wantErr: "sh failed with exit code 2: bad option", wantCode: 2},
		"stderr tail joined": {script: `printf 'first\nsecond' >&2; exit 1`,
			wantErr: "sh failed with exit code 1: first; second", wantCode: 1},
		"killed":    {script: `kill -9 $$`, wantErr: "sh was stopped (signal: killed)", wantCode: -1},
		"never ran": {path: filepath.Join(t.TempDir(), "no-such-program"), wantErr: "no-such-program failed: ", wantCode: -1},
		"cancelled, interrupted first": {script: `trap 'echo "interrupted, cleaning up" >&2; exit 5' INT; while :; do sleep 0.05; done`,
			cancel: 300 * time.Millisecond, wantErr: "sh was stopped: context canceled: interrupted, cleaning up", wantCode: 5, wantIs: context.Canceled},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			shell := "/bin/sh"
			if tc.path != "" {
				shell = tc.path
			}
			err := runScript(ctx, shell, tc.script)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Outcome = %v, want nil", err)
				}
				return
			}
			var f *Failure
			if !errors.As(err, &f) {
				t.Fatalf("Outcome = %v (%T), want a *Failure", err, err)
			}
			if got := err.Error(); len(got) < len(tc.wantErr) || got[:len(tc.wantErr)] != tc.wantErr {
				t.Fatalf("message = %q, want it to start %q", got, tc.wantErr)
			}
			if f.ExitCode != tc.wantCode {
				t.Fatalf("ExitCode = %d, want %d", f.ExitCode, tc.wantCode)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tc.wantIs)
			}
			var ee *exec.ExitError
			if tc.path == "" && tc.wantIs == nil && !errors.As(err, &ee) {
				t.Fatalf("the *exec.ExitError is not reachable from %v", err)
			}
		})
	}
}
