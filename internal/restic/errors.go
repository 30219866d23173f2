package restic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/stash-operator/stash/internal/backend"
)

// Classified failures. A *CommandError wraps one of them when restic's exit
// code or stderr says which; test with errors.Is.
var (
	// ErrRepositoryNotFound: there is no restic repository at the location
	// yet (restic exit code 10), e.g. before the first backup.
	ErrRepositoryNotFound = errors.New("repository does not exist")
	// ErrWrongPassword: RESTIC_PASSWORD opens no key of the repository
	// (restic exit code 12).
	ErrWrongPassword = errors.New("wrong repository password")
	// ErrUnreachable: the backend could not be reached (connection refused,
	// DNS, timeouts).
	ErrUnreachable = errors.New("backend unreachable")
	// ErrAccessDenied: the backend answered but refused the credentials.
	ErrAccessDenied = errors.New("backend access denied")
	// ErrLocked: another restic process holds a lock (restic exit code 11).
	ErrLocked = errors.New("repository locked")
	// ErrSnapshotNotFound: no snapshot matches the id, or the host and
	// path filters of "latest".
	ErrSnapshotNotFound = errors.New("snapshot not found")
	// ErrIncomplete: backup saved a snapshot but could not read some files
	// (restic exit code 3).
	ErrIncomplete = errors.New("backup incomplete")
)

// restic 0.17+ exit codes (restic's doc/075_scripting.rst).
const (
	exitRepoNotFound  = 10
	exitLockFailed    = 11
	exitWrongPassword = 12
	// exitIncomplete: backup made a snapshot but could not read some files.
	exitIncomplete = 3
)

// CommandError is a failed restic run.
type CommandError struct {
	// Subcommand is restic's subcommand, e.g. "backup".
	Subcommand string
	// ExitCode is restic's exit status, -1 when it did not exit by itself
	// (killed, or could not be started).
	ExitCode int
	// Stderr holds the last lines restic wrote to stderr, with every
	// credential from the storage Secret replaced by "<redacted>".
	Stderr string
	// Repository is the repository string (it holds no credentials).
	Repository string
	// Kind is one of the Err* sentinels, or nil when unclassified.
	Kind error
	// Cause is the process-level error (exit status, context, exec failure).
	Cause error

	// detail is restic's own statement of the failure, for the message.
	detail string
}

func (e *CommandError) Error() string {
	detail := e.detail
	withDetail := func(s string) string {
		if detail == "" {
			return s
		}
		return s + " (restic " + e.Subcommand + ": " + detail + ")"
	}
	switch e.Kind {
	case ErrWrongPassword:
		return fmt.Sprintf("repository password is wrong for %s: check %s in the storage Secret", e.Repository, backend.KeyResticPassword)
	case ErrRepositoryNotFound:
		return withDetail(fmt.Sprintf("no restic repository at %s: check the provider, bucket and path, or run a backup first to create it", e.Repository))
	case ErrUnreachable:
		return withDetail(fmt.Sprintf("cannot reach the backend of %s: check the endpoint and that the storage service is up and reachable from this pod", e.Repository))
	case ErrAccessDenied:
		return withDetail(fmt.Sprintf("the backend of %s refused the credentials: check the storage Secret's access keys and their permissions on the bucket", e.Repository))
	case ErrSnapshotNotFound:
		return withDetail(fmt.Sprintf("no matching snapshot in %s: check the snapshot id, or the paths and source host name of the latest snapshot to use", e.Repository))
	case ErrIncomplete:
		return withDetail(fmt.Sprintf("backup to %s is incomplete: restic saved a snapshot but could not read some files; check the files' permissions and that nothing removes them during the backup", e.Repository))
	case ErrLocked:
		return withDetail(fmt.Sprintf("repository %s is locked by another restic process: wait for it to finish; a lock left by a crashed process is removed on the next run", e.Repository))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "restic %s failed for %s", e.Subcommand, e.Repository)
	switch {
	case errors.Is(e.Cause, context.DeadlineExceeded):
		b.WriteString(": timed out")
	case errors.Is(e.Cause, context.Canceled):
		b.WriteString(": cancelled")
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, " with exit code %d", e.ExitCode)
	case e.Cause != nil:
		fmt.Fprintf(&b, ": %v", e.Cause)
	}
	if e.Stderr != "" {
		b.WriteString(": ")
		b.WriteString(strings.ReplaceAll(e.Stderr, "\n", "; "))
	}
	return b.String()
}

// Unwrap exposes both the classification and the process-level cause, so
// that errors.Is works for ErrWrongPassword as well as context.Canceled.
func (e *CommandError) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// classify picks the sentinel for a failure from restic's exit code first
// (stable since 0.17) and its stderr second (older binaries, and backends
// whose errors restic reports with the generic code 1).
func classify(exitCode int, stderr string) error {
	switch exitCode {
	case exitRepoNotFound:
		return ErrRepositoryNotFound
	case exitWrongPassword:
		return ErrWrongPassword
	case exitLockFailed:
		return ErrLocked
	case exitIncomplete:
		return ErrIncomplete
	}
	s := strings.ToLower(stderr)
	has := func(subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	switch {
	case has("wrong password or no key found"):
		return ErrWrongPassword
	case has("repository does not exist", "the specified bucket does not exist", "nosuchbucket", "bucket does not exist"):
		return ErrRepositoryNotFound
	case has("no snapshot found", "no matching id found", "failed to find snapshot"):
		return ErrSnapshotNotFound
	case has("accessdenied", "access denied", "invalidaccesskeyid", "signaturedoesnotmatch",
		"access key id you provided does not exist", "no user exists with the provided access key",
		"signature we calculated does not match", "401 unauthorized", "403 forbidden", "authentication failed"):
		return ErrAccessDenied
	case has("connection refused", "no such host", "i/o timeout", "network is unreachable", "no route to host",
		"tls handshake timeout", "connection reset by peer", "server misbehaving", "dial tcp"):
		return ErrUnreachable
	case has("unable to create lock", "repository is already locked"):
		return ErrLocked
	}
	return nil
}

// readableLine turns one of restic's --json stderr lines into its message
// (restic 0.17+ reports errors as {"message_type":"error"|"exit_error",...});
// any other line is returned as is.
func readableLine(line string) string {
	if !strings.HasPrefix(line, "{") {
		return line
	}
	var m struct {
		MessageType string `json:"message_type"`
		Message     string `json:"message"`
		Error       struct {
			Message string `json:"message"`
		} `json:"error"`
		During string `json:"during"`
		Item   string `json:"item"`
	}
	if json.Unmarshal([]byte(line), &m) != nil {
		return line
	}
	switch m.MessageType {
	case "exit_error":
		return m.Message
	case "error":
		msg := m.Error.Message
		if m.Item != "" {
			msg = m.Item + ": " + msg
		}
		if m.During != "" {
			msg = m.During + ": " + msg
		}
		return msg
	}
	return line
}

// scrub replaces every credential value in s. secrets is sorted longest first.
func scrub(s string, secrets []string) string {
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
	}
	return s
}
