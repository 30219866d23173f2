// Package status holds the pure rules that turn host reports into session
// phases and repository statistics. The update-status Function and the
// operator both use them, so a session reads the same whoever computes it.
package status

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// UpsertBackupHosts records hosts' results in the session's entry for target
// ref (created with totalHosts 1 if the operator has not created it), by
// hostname, and recomputes that target's phase.
func UpsertBackupHosts(st *stashv1beta1.BackupSessionStatus, ref stashv1beta1.TargetRef, hosts []stashv1beta1.HostBackupStats) {
	i := targetIndex(st.Targets, ref)
	if i < 0 {
		one := int32(1)
		st.Targets = append(st.Targets, stashv1beta1.BackupTargetStatus{Ref: ref, TotalHosts: &one})
		i = len(st.Targets) - 1
	}
	t := &st.Targets[i]
	for _, h := range hosts {
		replaced := false
		for j := range t.Stats {
			if t.Stats[j].Hostname == h.Hostname {
				t.Stats[j], replaced = h, true
				break
			}
		}
		if !replaced {
			t.Stats = append(t.Stats, h)
		}
	}
	t.Phase = TargetPhase(*t)
}

func targetIndex(targets []stashv1beta1.BackupTargetStatus, ref stashv1beta1.TargetRef) int {
	for i, t := range targets {
		if t.Ref.Kind == ref.Kind && t.Ref.Name == ref.Name {
			return i
		}
	}
	return -1
}

// TargetPhase: Running until every host reported; then Failed if ANY host
// failed (Stash looked only at the host that reported last), else Succeeded.
func TargetPhase(t stashv1beta1.BackupTargetStatus) stashv1beta1.TargetPhase {
	total := 1
	if t.TotalHosts != nil {
		total = int(*t.TotalHosts)
	}
	if len(t.Stats) < total {
		return stashv1beta1.TargetBackupRunning
	}
	for _, h := range t.Stats {
		if h.Phase != stashv1beta1.HostBackupSucceeded {
			return stashv1beta1.TargetBackupFailed
		}
	}
	return stashv1beta1.TargetBackupSucceeded
}

// UpsertRestoreHosts records hosts' results in a RestoreSession, by hostname.
func UpsertRestoreHosts(st *stashv1beta1.RestoreSessionStatus, hosts []stashv1beta1.HostRestoreStats) {
	for _, h := range hosts {
		replaced := false
		for j := range st.Stats {
			if st.Stats[j].Hostname == h.Hostname {
				st.Stats[j], replaced = h, true
				break
			}
		}
		if !replaced {
			st.Stats = append(st.Stats, h)
		}
	}
}

// RepositoryReport is what a backup learned about the repository.
type RepositoryReport struct {
	Integrity                     *bool
	Size                          string
	SnapshotCount                 int64
	SnapshotsRemovedOnLastCleanup int64
}

// ApplyRepositoryReport records a successful backup at now in a Repository's status.
func ApplyRepositoryReport(st *stashv1alpha1.RepositoryStatus, r RepositoryReport, now time.Time) {
	t := metav1.NewTime(now)
	if st.FirstBackupTime == nil {
		st.FirstBackupTime = &t
	}
	st.LastBackupTime = &t
	if r.Integrity != nil {
		v := *r.Integrity
		st.Integrity = &v
	}
	if r.Size != "" {
		st.TotalSize = r.Size
	}
	st.SnapshotCount = r.SnapshotCount
	st.SnapshotsRemovedOnLastCleanup = r.SnapshotsRemovedOnLastCleanup
}
