package snapshotsync

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// RetryDelay is how long the first failed sync waits before the next:
// long enough to read the failed Job's log, short enough that a fixed
// Secret shows soon. Each retry that fails again waits twice as long, up to
// the sync interval.
const RetryDelay = time.Minute

// Due reports whether the snapshots of a Repository with status st are to
// be synced at now, and otherwise after how long they are. They are synced
// when they never were, when a backup has ended since the last sync (it
// added a snapshot, and its retention may have forgotten others), when a
// Snapshot object waits to be forgotten (deleting is true) and every
// interval, for what other tools write to the repository. After a failed
// sync (condition SnapshotsSynced False), whose Job started at
// failedAttempt, the next waits out the back-off.
func Due(st stashv1alpha1.RepositoryStatus, deleting bool, interval time.Duration, failedAttempt, now time.Time) (bool, time.Duration) {
	if c := meta.FindStatusCondition(st.Conditions, stashv1beta1.ConditionSnapshotsSynced); c != nil && c.Status != metav1.ConditionTrue {
		failingSince := c.LastTransitionTime.Time
		last := failingSince
		if failedAttempt.After(last) {
			last = failedAttempt
		}
		backoff := min(max(failedAttempt.Sub(failingSince), RetryDelay), max(interval, RetryDelay))
		if wait := last.Add(backoff).Sub(now); wait > 0 {
			return false, wait
		}
	}
	last := st.SnapshotsSyncTime
	if last == nil || deleting {
		return true, 0
	}
	// Times are whole seconds: a backup that ended in the second the last
	// sync started may not be in it, so it counts as later.
	if b := st.LastBackupTime; b != nil && !b.Before(last) {
		return true, 0
	}
	if wait := last.Add(interval).Sub(now); wait > 0 {
		return false, wait
	}
	return true, 0
}
