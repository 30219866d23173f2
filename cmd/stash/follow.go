package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/sessionview"
)

// pollInterval is how often a followed session is read. A Get a second is
// cheap for the API server and, unlike a watch, needs nothing special to
// survive an API server restart or a dropped connection.
const pollInterval = time.Second

// spinner frames, one per poll, on a terminal.
var spinner = []string{"|", "/", "-", "\\"}

// sessionKinds are the names a user may give a session kind, as kubectl
// takes them: singular, plural, short name, any case.
var sessionKinds = map[string]string{
	"backupsession": "BackupSession", "backupsessions": "BackupSession", "bs": "BackupSession",
	"restoresession": "RestoreSession", "restoresessions": "RestoreSession", "rs": "RestoreSession",
}

// sessionArg reads "KIND NAME", "KIND/NAME" or, when kind may be left out,
// a bare "NAME" (kind "").
func sessionArg(args []string, kindOptional bool) (kind, name string, err error) {
	switch {
	case len(args) == 2:
		kind, name = args[0], args[1]
	case len(args) == 1 && strings.Contains(args[0], "/"):
		kind, name, _ = strings.Cut(args[0], "/")
	case len(args) == 1 && kindOptional:
		return "", args[0], nil
	default:
		return "", "", usageError(errors.New("name a session: backupsession NAME, restoresession NAME or KIND/NAME"))
	}
	k, ok := sessionKinds[strings.ToLower(kind)]
	if !ok || name == "" {
		return "", "", usageError(fmt.Errorf("%q is not a session kind: use backupsession or restoresession", kind))
	}
	return k, name, nil
}

// getSession reads the session kind/name in ns. With kind "", it looks for
// a BackupSession, then a RestoreSession, of that name.
func getSession(ctx context.Context, c client.Client, ns, kind, name string) (sessionview.Session, error) {
	key := client.ObjectKey{Namespace: ns, Name: name}
	if kind == "" {
		s, err := getSession(ctx, c, ns, "BackupSession", name)
		if err == nil || !apierrors.IsNotFound(err) {
			return s, err
		}
		if s, err = getSession(ctx, c, ns, "RestoreSession", name); err == nil {
			return s, nil
		}
		return sessionview.Session{}, fmt.Errorf("no BackupSession or RestoreSession %q in namespace %q (wrong -n/--namespace?)", name, ns)
	}
	if kind == "RestoreSession" {
		var rs stashv1beta1.RestoreSession
		if err := c.Get(ctx, key, &rs); err != nil {
			return sessionview.Session{}, &lookupError{notFound(err, kind, ns, name), err}
		}
		return sessionview.FromRestore(&rs), nil
	}
	var bs stashv1beta1.BackupSession
	if err := c.Get(ctx, key, &bs); err != nil {
		return sessionview.Session{}, &lookupError{notFound(err, kind, ns, name), err}
	}
	return sessionview.FromBackup(&bs), nil
}

// lookupError is a failed Get worded for the user, unwrapping to the API
// server's error so that callers can still tell NotFound.
type lookupError struct {
	worded error
	cause  error
}

func (e *lookupError) Error() string { return e.worded.Error() }
func (e *lookupError) Unwrap() error { return e.cause }

// follow reads the session every pollInterval until it is finished and
// prints what changed, a timestamped line each; on a terminal a last line,
// rewritten in place, shows the phase and the running step. It returns the
// finished session, or an error when ctx ends first (timeout, Ctrl-C) or
// the session is deleted.
func follow(ctx context.Context, c client.Client, kind, ns, name string, out io.Writer) (sessionview.Session, error) {
	tty := isTerminal(out)
	start := time.Now()
	var prev *sessionview.Session
	var lastErr error
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for frame := 0; ; frame++ {
		s, err := getSession(ctx, c, ns, kind, name)
		switch {
		case apierrors.IsNotFound(err):
			clearLine(out, tty)
			return s, fmt.Errorf("%s %s/%s was deleted before it finished", kind, ns, name)
		case err != nil:
			lastErr = err // the API server may be restarting: keep trying until ctx ends
		default:
			lastErr = nil
			lines := sessionview.Changes(prev, s)
			if len(lines) > 0 {
				clearLine(out, tty)
				for _, line := range lines {
					fmt.Fprintf(out, "%s %s\n", time.Now().Format("15:04:05"), line)
				}
			}
			if s.Phase().IsFinished() {
				return s, nil
			}
			prev = &s
			if tty {
				fmt.Fprintf(out, "\r\033[K%s %s", spinner[frame%len(spinner)], sessionview.Summary(s, time.Since(start)))
			}
		}
		select {
		case <-ctx.Done():
			clearLine(out, tty)
			why := fmt.Sprintf("stopped waiting for %s %s/%s after %s", kind, ns, name, time.Since(start).Round(time.Second))
			if lastErr != nil {
				why += " (last error: " + lastErr.Error() + ")"
			}
			return sessionview.Session{}, fmt.Errorf("%s; the session itself goes on: stash describe %s %s -n %s", why, strings.ToLower(kind), name, ns)
		case <-ticker.C:
		}
	}
}

// finishedError is nil for a session that succeeded and otherwise says how
// it ended and where to look, with exit status 1.
func finishedError(s sessionview.Session) error {
	if s.Phase() == stashv1beta1.SessionSucceeded {
		return nil
	}
	return &exitError{code: 1, err: fmt.Errorf("%s\nIts steps and what to do next: stash describe %s %s -n %s",
		sessionview.Final(s), strings.ToLower(s.Kind), s.Name, s.Namespace)}
}

// waitOptions are --wait and --timeout.
type waitOptions struct {
	wait    bool
	timeout time.Duration
}

func (w *waitOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.wait, "wait", false, "follow the session to its end, printing its steps; exit 1 unless it succeeds")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 0, "with --wait, give up waiting after this long (0: no limit); the session goes on")
}

// created reports the session the command created and, with --wait,
// follows it to its end: nil when it succeeded, else what finishedError says.
func (w *waitOptions) created(cn conn, kind, name string, out io.Writer) error {
	fmt.Fprintf(out, "%s %s/%s created\n", strings.ToLower(kind), cn.ns, name)
	if !w.wait {
		return nil
	}
	ctx := cn.ctx
	if w.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.timeout)
		defer cancel()
	}
	s, err := follow(ctx, cn.client, kind, cn.ns, name, out)
	if err != nil {
		return err
	}
	if err := finishedError(s); err != nil {
		return err
	}
	fmt.Fprintln(out, sessionview.Final(s))
	return nil
}

func clearLine(out io.Writer, tty bool) {
	if tty {
		fmt.Fprint(out, "\r\033[K")
	}
}

// isTerminal reports whether w is a terminal: progress is then drawn in
// place; to a file or a pipe it is plain lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// exactArgs is cobra.ExactArgs as a usage error (exit status 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError(fmt.Errorf("%w; see %s --help", err, cmd.CommandPath()))
		}
		return nil
	}
}
