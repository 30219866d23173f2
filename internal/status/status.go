// Package status holds the pure rules that turn host reports into session
// phases and repository statistics. The update-status Function and the
// operator both use them, so a session reads the same whoever computes it.
package status

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/text"
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

// RepositoryReport is what a backup learned about the repository: its
// integrity when it checked it; its size (SizeBytes, or Size alone from a
// Function that writes Stash's output.json) and snapshot count when it
// measured it, otherwise what it added to them.
type RepositoryReport struct {
	Integrity                     *bool
	Size                          string
	SizeBytes                     *uint64
	SnapshotCount                 int64
	SizeAddedBytes                uint64
	SnapshotsAdded                int64
	SnapshotsRemovedOnLastCleanup int64
	Pruned                        bool
}

// measured: the report holds the size and count, not what changed.
func (r RepositoryReport) measured() bool {
	return r.SizeBytes != nil || r.Size != "" || r.SnapshotCount != 0
}

// RecordCheck records in a Repository's status that a restic check at now
// found the repository ok, or found errors; by names what ran the check,
// whose log has restic's findings.
func RecordCheck(st *stashv1alpha1.RepositoryStatus, ok bool, by string, now time.Time) {
	t := metav1.NewTime(now)
	st.Integrity = &ok
	st.LastIntegrityCheckTime = &t
	reason, status, msg := stashv1beta1.ReasonCheckPassed, metav1.ConditionTrue, "restic check found no errors"
	if !ok {
		reason, status, msg = stashv1beta1.ReasonCheckFailed, metav1.ConditionFalse,
			"restic check found errors in the repository: see "+by+"'s log, and repair it (restic repair index, restic repair snapshots) before relying on it"
	}
	conditions.Set(&st.Conditions, st.ObservedGeneration, stashv1beta1.ConditionIntegrityVerified, status, string(reason), msg, now)
}

// ApplyRepositoryReport records a successful backup at now in a Repository's
// status. A backup that did not measure adds what it wrote to the last
// measurement; without one in bytes (a status Stash wrote), the size stays
// as it is until the next measurement.
func ApplyRepositoryReport(st *stashv1alpha1.RepositoryStatus, r RepositoryReport, now time.Time) {
	t := metav1.NewTime(now)
	if st.FirstBackupTime == nil {
		st.FirstBackupTime = &t
	}
	st.LastBackupTime = &t
	if r.Integrity != nil {
		RecordCheck(st, *r.Integrity, "the backup", now)
	}
	if r.Pruned {
		st.LastPruneTime = &t
	}
	st.SnapshotsRemovedOnLastCleanup = r.SnapshotsRemovedOnLastCleanup
	if r.measured() {
		if r.Size != "" {
			st.TotalSize = r.Size
		}
		st.TotalSizeBytes = nil
		if r.SizeBytes != nil {
			n := int64(*r.SizeBytes)
			st.TotalSizeBytes = &n
			st.TotalSize = text.Bytes(*r.SizeBytes)
		}
		st.SnapshotCount = r.SnapshotCount
		return
	}
	st.SnapshotCount = max(st.SnapshotCount+r.SnapshotsAdded, 0)
	if st.TotalSizeBytes != nil {
		n := *st.TotalSizeBytes + int64(r.SizeAddedBytes)
		st.TotalSizeBytes = &n
		st.TotalSize = text.Bytes(uint64(n))
	}
}
