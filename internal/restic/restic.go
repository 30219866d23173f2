// Package restic drives the restic CLI (pinned to 0.18.1) for the data-plane
// Functions: it opens the repository string of a backend.Backend, builds
// restic's environment from the storage Secret, runs restic with --json
// (through package process), parses what it prints and turns failures into
// errors that say what to do.
//
// Secrets reach restic through its environment only: never its arguments,
// never a log line, never an error message.
package restic

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stash-operator/stash/internal/backend"
	"github.com/stash-operator/stash/internal/process"
)

// Options configure a Repo.
type Options struct {
	// Binary is the restic executable; empty means $RESTIC_BINARY, then
	// restic on PATH.
	Binary string
	// Backend is the repository location and its Secret.
	Backend backend.Backend
	// ScratchDir holds restic's TMPDIR and cache; empty means os.TempDir().
	ScratchDir string
	// EnableCache keeps restic's cache in <scratch>/restic-cache; otherwise
	// restic runs with --no-cache.
	EnableCache bool
	// Trace, when set, receives every command line before it runs. The
	// command line never contains a secret, so it is safe to log.
	Trace func(args []string)
	// Timed, when set, receives each subcommand's wall time once it ends:
	// what a session's time is spent on, in its Job's log.
	Timed func(sub string, d time.Duration)
	// UnreachableTimeout is how long Open and Init let restic retry an
	// unreachable backend before giving up with ErrUnreachable. Zero means
	// 10s. (Retries of errors that cannot heal, such as a missing bucket,
	// stop at once.)
	UnreachableTimeout time.Duration
	// RetryLock, when > 0, makes restic wait up to this long for a lock
	// held by another live process (another target's backup holding the
	// repository while this one wants to forget or check) instead of
	// failing at once with ErrLocked.
	RetryLock time.Duration
	// WaitDelay bounds how long a cancelled restic may take to exit after
	// SIGINT (it removes its lock on SIGINT) before it is killed. Zero
	// means process.DefaultWaitDelay.
	WaitDelay time.Duration
}

// Repo is one restic repository. It is safe for sequential use; restic's own
// locks serialise concurrent processes.
type Repo struct {
	binary    string
	repo      string
	env       []string
	global    []string // global flags every command gets
	retryLock []string // --retry-lock, unless FailingOnLocks
	secrets   []string
	wrap      []string // ionice/nice prefix, may be empty
	trace     func([]string)
	timed     func(string, time.Duration)
	waitDelay time.Duration

	unreachableTimeout time.Duration
}

// New checks the backend, reads the storage Secret and prepares the scratch
// directories. It runs nothing; see Open and OpenOrInit.
func New(opts Options) (*Repo, error) {
	repoString, err := opts.Backend.Repository()
	if err != nil {
		return nil, err
	}
	bin, err := findBinary(opts.Binary)
	if err != nil {
		return nil, err
	}
	se, err := readSecretEnv(opts.Backend)
	if err != nil {
		return nil, err
	}
	wrap, err := niceWrapper(os.Getenv)
	if err != nil {
		return nil, err
	}
	scratch := opts.ScratchDir
	if scratch == "" {
		scratch = os.TempDir()
	}
	tmp := filepath.Join(scratch, "restic-tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("create restic's temporary directory: %w: check --scratch-dir is writable", err)
	}
	se.env["TMPDIR"] = tmp
	global := []string{"--repo", repoString}
	if opts.EnableCache {
		cache := filepath.Join(scratch, "restic-cache")
		if err := os.MkdirAll(cache, 0o700); err != nil {
			return nil, fmt.Errorf("create restic's cache directory: %w: check --scratch-dir is writable", err)
		}
		global = append(global, "--cache-dir", cache)
	} else {
		global = append(global, "--no-cache")
	}
	global = append(global, se.args...)
	if o := connectionsOption(opts.Backend); o != "" {
		global = append(global, "--option", o)
	}
	var retryLock []string
	if opts.RetryLock > 0 {
		retryLock = []string{"--retry-lock", opts.RetryLock.String()}
	}
	unreachable := opts.UnreachableTimeout
	if unreachable <= 0 {
		unreachable = 10 * time.Second
	}
	return &Repo{
		unreachableTimeout: unreachable,
		binary:             bin,
		repo:               repoString,
		env:                process.Env(os.Environ(), se.env),
		global:             global,
		retryLock:          retryLock,
		secrets:            se.secret,
		wrap:               wrap,
		trace:              opts.Trace,
		timed:              opts.Timed,
		waitDelay:          opts.WaitDelay,
	}, nil
}

// String is the repository string, e.g. s3:http://minio:9000/bucket/prefix.
func (r *Repo) String() string { return r.repo }

// Scrub removes every credential of the storage Secret from s, for callers
// that print text which may have come from elsewhere.
func (r *Repo) Scrub(s string) string { return scrub(s, r.secrets) }

func findBinary(explicit string) (string, error) {
	name := explicit
	if name == "" {
		name = os.Getenv("RESTIC_BINARY")
	}
	if name == "" {
		name = "restic"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("restic binary %q not found: set --restic-binary or RESTIC_BINARY, or put restic on PATH", name)
	}
	return p, nil
}

// niceWrapper builds `ionice -c C [-n D] nice -n N` from the environment
// variables Stash's Functions set (reference §5.3), each part only when its
// variable is set. Values must be integers: they become arguments.
func niceWrapper(getenv func(string) string) ([]string, error) {
	num := func(name string) (string, bool, error) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return "", false, nil
		}
		if _, err := strconv.Atoi(v); err != nil {
			return "", false, fmt.Errorf("environment variable %s=%q is not an integer: fix the Function's runtime settings", name, v)
		}
		return v, true, nil
	}
	var wrap []string
	class, ok, err := num("IONICE_CLASS")
	if err != nil {
		return nil, err
	}
	if ok {
		wrap = append(wrap, "ionice", "-c", class)
		data, ok, err := num("IONICE_CLASS_DATA")
		if err != nil {
			return nil, err
		}
		if ok {
			wrap = append(wrap, "-n", data)
		}
	}
	adj, ok, err := num("NICE_ADJUSTMENT")
	if err != nil {
		return nil, err
	}
	if ok {
		wrap = append(wrap, "nice", "-n", adj)
	}
	return wrap, nil
}

// commandLine is the full argv for one restic subcommand.
func (r *Repo) commandLine(sub string, args ...string) []string {
	argv := append([]string{}, r.wrap...)
	argv = append(argv, r.binary, sub)
	argv = append(argv, r.global...)
	argv = append(argv, r.retryLock...)
	return append(argv, args...)
}

// FailingOnLocks is r whose commands fail at once (ErrLocked) on a lock
// they conflict with, instead of waiting for it (Options.RetryLock): the
// caller first tries the command that also opens the repository, and only
// when a lock is in the way looks at the locks and waits (package
// function: openWith, withLocksCleared).
func (r *Repo) FailingOnLocks() *Repo {
	fast := *r
	fast.retryLock = nil
	return &fast
}

// call describes one restic run.
type call struct {
	sub    string
	args   []string
	stdout io.Writer // nil: captured and returned
	// feed, when set, is copied to restic's stdin. If reading it fails,
	// restic is interrupted before it sees end of input, so that it never
	// commits a snapshot of partial data.
	feed io.Reader
	// failFast stops restic early when its retries cannot help: see
	// retryWatcher.
	failFast bool
}

// ReadError is returned when the reader given to BackupStdin failed: the
// data did not all reach restic and no snapshot was made from it.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "reading the data to back up failed: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// run executes restic and returns its stdout (when not streamed). A failure
// of restic is a *CommandError; a failure of c.feed is a *ReadError.
func (r *Repo) run(ctx context.Context, c call) ([]byte, error) {
	argv := r.commandLine(c.sub, c.args...)
	if r.trace != nil {
		r.trace(append([]string(nil), argv...))
	}
	if r.timed != nil {
		defer func(start time.Time) { r.timed(c.sub, time.Since(start)) }(time.Now())
	}
	cmd := process.Program{Path: argv[0], Args: argv[1:], Env: r.env, WaitDelay: r.waitDelay}.Command(ctx)
	var out bytes.Buffer
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	} else {
		cmd.Stdout = &out
	}
	var watcher *retryWatcher
	var onLine func(string)
	if c.failFast {
		watcher = newRetryWatcher(r.unreachableTimeout, func() { _ = cmd.Process.Signal(os.Interrupt) })
		defer watcher.stop()
		onLine = watcher.line
	}
	// More lines than an error keeps: restic's own statement of the failure
	// ("Fatal: ...") may come before the lines it prints while exiting.
	tail := process.NewTail(64, onLine)
	cmd.Stderr = tail
	if c.feed == nil {
		err := cmd.Run()
		r.unlockAfterKill(ctx, c.sub, err)
		return out.Bytes(), r.exitError(ctx, c.sub, err, tail, watcher)
	}

	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, r.cmdError(ctx, c.sub, -1, "", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, r.cmdError(ctx, c.sub, -1, "", err)
	}
	readErr := feed(ctx, stdin, c.feed)
	if readErr != nil {
		// Interrupt restic before it sees end of input, so that it cancels
		// the backup instead of saving what it has as a complete snapshot.
		// restic only notices the cancellation once its read of stdin
		// returns, so stdin is closed a moment after the signal; the caller
		// still removes any snapshot that slipped through.
		_ = cmd.Process.Signal(os.Interrupt)
		time.Sleep(interruptGrace)
		_ = stdin.Close()
		_ = cmd.Wait()
		return out.Bytes(), &ReadError{Err: readErr}
	}
	_ = stdin.Close()
	err = cmd.Wait()
	r.unlockAfterKill(ctx, c.sub, err)
	return out.Bytes(), r.exitError(ctx, c.sub, err, tail, watcher)
}

// interruptGrace is how long restic gets to handle SIGINT before its stdin
// is closed.
const interruptGrace = 300 * time.Millisecond

// feed copies src to restic's stdin. It returns src's errors, and ctx's when
// src ended because the run was cancelled (a dump killed by the same
// context ends with a clean EOF). A write error means restic stopped
// reading; its exit status says why.
func feed(ctx context.Context, dst io.Writer, src io.Reader) error {
	buf := make([]byte, 256*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return nil
			}
		}
		if err == io.EOF {
			return ctx.Err()
		}
		if err != nil {
			return err
		}
	}
}

// exitError is nil when restic succeeded, else the *CommandError saying
// why it failed; watcher is the retryWatcher of the run, if it had one.
// unlockAfterKill removes the lock a restic killed by a signal (SIGKILL, the
// OOM killer) left behind: it ran on this host with a process that is gone
// now, which `restic unlock` recognises as stale. Otherwise the lock would
// hold off the next backup's retention for half an hour.
func (r *Repo) unlockAfterKill(ctx context.Context, sub string, err error) {
	var exit *exec.ExitError
	if sub == "unlock" || !errors.As(err, &exit) {
		return
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() == syscall.SIGINT {
		return // restic removes its own lock when interrupted
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_, _ = r.run(cctx, call{sub: "unlock"})
}

func (r *Repo) exitError(ctx context.Context, sub string, err error, tail *process.Tail, watcher *retryWatcher) error {
	var f *process.Failure
	if !errors.As(process.Outcome(ctx, sub, err, tail), &f) {
		return nil
	}
	ce := r.cmdError(ctx, sub, f.ExitCode, strings.Join(f.Stderr, "\n"), f.Err)
	if watcher != nil {
		if line, kind := watcher.result(); kind != nil {
			// restic was stopped while retrying: what it was retrying is
			// the failure, not the interruption.
			ce.Kind = kind
			ce.detail = scrub(retryMessage(line), r.secrets)
			ce.Cause = errors.New("stopped restic's retries: they cannot succeed")
		}
	}
	return ce
}

func (r *Repo) cmdError(ctx context.Context, sub string, code int, stderr string, cause error) *CommandError {
	all := scrub(stderr, r.secrets)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(all), "\n") {
		if l = strings.TrimSpace(readableLine(l)); l != "" {
			lines = append(lines, l)
		}
	}
	kind := classify(code, strings.Join(lines, "\n"))
	if code == -1 && kind == nil && ctx.Err() == nil && cause != nil {
		// restic could not be started at all (missing ionice, bad binary).
		cause = errors.New(scrub(cause.Error(), r.secrets))
	}
	detail := ""
	for i := len(lines) - 1; i >= 0 && detail == ""; i-- {
		if m, ok := strings.CutPrefix(lines[i], "Fatal: "); ok {
			detail = m
		}
	}
	if detail == "" && len(lines) > 0 {
		detail = lines[len(lines)-1]
	}
	if len(lines) > process.StderrTailLines {
		lines = lines[len(lines)-process.StderrTailLines:]
	}
	return &CommandError{
		Subcommand: sub,
		ExitCode:   code,
		Stderr:     strings.Join(lines, "\n"),
		Repository: r.repo,
		Kind:       kind,
		Cause:      cause,
		detail:     detail,
	}
}

// retryWatcher reads restic's stderr while it opens a repository. restic
// retries every backend error with exponential backoff for up to 15
// minutes, including errors that retrying cannot fix (a missing bucket,
// unknown access keys). The watcher stops restic at the first retry of such
// an error, and after a grace period when the backend is unreachable, so
// that a Function reports the cause in seconds.
type retryWatcher struct {
	mu          sync.Mutex
	unreachable time.Duration
	interrupt   func()
	timer       *time.Timer
	kind        error
	verdict     string // the line that decided kind
	lastNetLine string
}

func newRetryWatcher(unreachable time.Duration, interrupt func()) *retryWatcher {
	return &retryWatcher{unreachable: unreachable, interrupt: interrupt}
}

func (w *retryWatcher) line(l string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.kind != nil {
		return
	}
	if strings.Contains(l, "operation successful after") {
		// The backend came back: the grace period starts again next time.
		if w.timer != nil {
			w.timer.Stop()
			w.timer = nil
		}
		return
	}
	if !strings.Contains(l, "retrying after") {
		return
	}
	switch kind := classify(0, l); kind {
	case ErrRepositoryNotFound, ErrAccessDenied, ErrWrongPassword:
		w.fire(kind, l)
	case ErrUnreachable:
		w.lastNetLine = l
		if w.timer == nil {
			w.timer = time.AfterFunc(w.unreachable, func() {
				w.mu.Lock()
				defer w.mu.Unlock()
				if w.kind == nil && w.timer != nil {
					w.fire(ErrUnreachable, w.lastNetLine)
				}
			})
		}
	}
}

// fire records the verdict and interrupts restic; w.mu is held.
func (w *retryWatcher) fire(kind error, line string) {
	w.kind, w.verdict = kind, line
	w.interrupt()
}

func (w *retryWatcher) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.kind == nil {
		// Nothing may fire once restic has exited.
		w.kind = errStopped
	}
}

var errStopped = errors.New("watcher stopped")

// result is the verdict, if the watcher stopped restic: the line that
// decided it and its kind.
func (w *retryWatcher) result() (line string, kind error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.kind == errStopped {
		return "", nil
	}
	return w.verdict, w.kind
}

// retryMessage is the error part of restic's "X returned error, retrying
// after 1.2s: <error>" line.
func retryMessage(line string) string {
	if i := strings.Index(line, "retrying after "); i >= 0 {
		if j := strings.Index(line[i:], ": "); j >= 0 {
			return line[i+j+2:]
		}
	}
	return line
}

// jsonLines calls fn for every line of restic's stdout that looks like a
// JSON object or array; restic may interleave plain text.
func jsonLines(out []byte, fn func(line []byte) bool) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 256*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) > 0 && (line[0] == '{' || line[0] == '[') {
			if !fn(line) {
				return
			}
		}
	}
}
