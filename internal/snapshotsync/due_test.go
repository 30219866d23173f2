package snapshotsync

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

func TestDue(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }
	failing := func(since time.Duration) []metav1.Condition {
		return []metav1.Condition{{Type: stashv1beta1.ConditionSnapshotsSynced, Status: metav1.ConditionFalse, LastTransitionTime: *at(since)}}
	}
	const interval = time.Hour
	for name, tc := range map[string]struct {
		status        stashv1alpha1.RepositoryStatus
		deleting      bool
		failedAttempt time.Duration // relative to now; 0: none
		due           bool
		wait          time.Duration
	}{
		"never synced":                        {due: true},
		"synced, nothing since":               {status: stashv1alpha1.RepositoryStatus{SnapshotsSyncTime: at(-10 * time.Minute)}, wait: 50 * time.Minute},
		"a backup ended after the sync":       {status: stashv1alpha1.RepositoryStatus{SnapshotsSyncTime: at(-10 * time.Minute), LastBackupTime: at(-time.Minute)}, due: true},
		"a backup ended in the sync's second": {status: stashv1alpha1.RepositoryStatus{SnapshotsSyncTime: at(-time.Minute), LastBackupTime: at(-time.Minute)}, due: true},
		"the backup was in the sync":          {status: stashv1alpha1.RepositoryStatus{SnapshotsSyncTime: at(-time.Minute), LastBackupTime: at(-2 * time.Minute)}, wait: 59 * time.Minute},
		"a snapshot waits to be forgotten":    {status: stashv1alpha1.RepositoryStatus{SnapshotsSyncTime: at(-time.Minute)}, deleting: true, due: true},
		"the interval passed":                 {status: stashv1alpha1.RepositoryStatus{SnapshotsSyncTime: at(-interval)}, due: true},
		"the first failure waits RetryDelay": {
			status: stashv1alpha1.RepositoryStatus{Conditions: failing(-20 * time.Second)}, deleting: true,
			failedAttempt: -30 * time.Second, wait: 40 * time.Second,
		},
		"a failure retried after RetryDelay": {
			status: stashv1alpha1.RepositoryStatus{Conditions: failing(-61 * time.Second)}, failedAttempt: -70 * time.Second, due: true,
		},
		"each failed retry waits twice as long": {
			status:        stashv1alpha1.RepositoryStatus{Conditions: failing(-10 * time.Minute)},
			failedAttempt: -2 * time.Minute, wait: 6 * time.Minute, // attempt 8 min after the first failure: wait 8 min
		},
		"the back-off stops at the interval": {
			status:        stashv1alpha1.RepositoryStatus{Conditions: failing(-5 * time.Hour)},
			failedAttempt: -30 * time.Minute, wait: 30 * time.Minute,
		},
	} {
		t.Run(name, func(t *testing.T) {
			var failed time.Time
			if tc.failedAttempt != 0 {
				failed = now.Add(tc.failedAttempt)
			}
			due, wait := Due(tc.status, tc.deleting, interval, failed, now)
			if due != tc.due || wait != tc.wait {
				t.Errorf("Due = %v, %v; want %v, %v", due, wait, tc.due, tc.wait)
			}
		})
	}
}
