package backupconfiguration

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
)

// What this file decides about a configuration's sessions is pure: which ones
// still run (for concurrencyPolicy) and which finished ones to delete (for
// backupHistoryLimit).

// finished reports whether a session is over, as far as scheduling goes:
// finished, and not Unknown. The lifecycle never gives a backup phase
// Unknown, but if something else does, whether its backup still runs is not
// known: better to wait than to run two backups of one target, and such a
// session is never pruned.
func finished(bs *stashv1beta1.BackupSession) bool {
	return bs.Status.Phase.IsFinished() && bs.Status.Phase != stashv1beta1.SessionUnknown
}

// running reports whether a session may be running or about to: not
// finished (no phase yet, Pending, Running, or Unknown: better to wait than
// to run two backups of one target) and not a record of a skipped tick.
func running(bs *stashv1beta1.BackupSession) bool {
	if finished(bs) {
		return false
	}
	_, skipped := bs.Annotations[stashv1beta1.AnnotationSkipped]
	return !skipped
}

// interruptedSkip reports whether a session was created to record a skipped
// tick and its phase was never written.
func interruptedSkip(bs *stashv1beta1.BackupSession) bool {
	_, skipped := bs.Annotations[stashv1beta1.AnnotationSkipped]
	return skipped && bs.Status.Phase == ""
}

// runningOf returns the sessions that run, oldest first.
func runningOf(sessions []stashv1beta1.BackupSession) []*stashv1beta1.BackupSession {
	var out []*stashv1beta1.BackupSession
	for i := range sessions {
		if running(&sessions[i]) {
			out = append(out, &sessions[i])
		}
	}
	slices.SortFunc(out, func(a, b *stashv1beta1.BackupSession) int { return -newerFirst(a, b, createdAt) })
	return out
}

// describe names sessions and their phases for a message:
// `BackupSession "a" (Running)`, `BackupSessions "a" (Running), "b" (Pending)`.
func describe(sessions []*stashv1beta1.BackupSession) string {
	parts := make([]string, len(sessions))
	for i, bs := range sessions {
		phase := bs.Status.Phase
		if phase == "" {
			phase = stashv1beta1.SessionPending
		}
		parts[i] = fmt.Sprintf("%q (%s)", bs.Name, phase)
	}
	noun := "BackupSession"
	if len(sessions) > 1 {
		noun = "BackupSessions"
	}
	return noun + " " + strings.Join(parts, ", ")
}

// expired returns the finished sessions that backupHistoryLimit does not
// keep: all but the newest limit finished ones, and never the newest failed
// one, so that the last failure can always be inspected. Sessions that did
// not finish are never returned. Newest means finished last: a long backup
// that ends after a later tick was skipped is newer than the skipped one.
func expired(sessions []stashv1beta1.BackupSession, limit int) []*stashv1beta1.BackupSession {
	var done []*stashv1beta1.BackupSession
	for i := range sessions {
		if finished(&sessions[i]) {
			done = append(done, &sessions[i])
		}
	}
	slices.SortFunc(done, func(a, b *stashv1beta1.BackupSession) int { return newerFirst(a, b, finishedAt) })
	var out []*stashv1beta1.BackupSession
	keptFailed := false
	for i, bs := range done {
		failed := bs.Status.Phase == stashv1beta1.SessionFailed
		keep := i < limit || (failed && !keptFailed)
		if failed && keep {
			keptFailed = true
		}
		if !keep {
			out = append(out, bs)
		}
	}
	return out
}

// finishedAt is when a session finished: the last transition of its
// Succeeded condition, else its creation.
func finishedAt(bs *stashv1beta1.BackupSession) time.Time {
	if c := conditions.Get(bs.Status.Conditions, stashv1beta1.ConditionSucceeded); c != nil && !c.LastTransitionTime.IsZero() {
		return c.LastTransitionTime.Time
	}
	return bs.CreationTimestamp.Time
}

func createdAt(bs *stashv1beta1.BackupSession) time.Time { return bs.CreationTimestamp.Time }

// newerFirst orders by at, newest first; then by creation; then by name,
// greatest first (scheduled names end in the tick's unix seconds).
func newerFirst(a, b *stashv1beta1.BackupSession, at func(*stashv1beta1.BackupSession) time.Time) int {
	return cmp.Or(
		at(b).Compare(at(a)),
		b.CreationTimestamp.Compare(a.CreationTimestamp.Time),
		cmp.Compare(b.Name, a.Name),
	)
}
