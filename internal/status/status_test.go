package status

import (
	"testing"
	"time"

	"k8s.io/utils/ptr"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

var pvc = stashv1beta1.TargetRef{Kind: "PersistentVolumeClaim", Name: "data"}

func host(name string, phase stashv1beta1.HostBackupPhase) stashv1beta1.HostBackupStats {
	return stashv1beta1.HostBackupStats{Hostname: name, Phase: phase}
}

func TestUpsertBackupHostsPhases(t *testing.T) {
	ok, failed := stashv1beta1.HostBackupSucceeded, stashv1beta1.HostBackupFailed
	tests := map[string]struct {
		totalHosts  int32
		reports     [][]stashv1beta1.HostBackupStats // one call per element
		wantPhase   stashv1beta1.TargetPhase
		wantSession stashv1beta1.BackupSessionPhase
		wantHosts   int
	}{
		"one host succeeded": {1, [][]stashv1beta1.HostBackupStats{{host("host-0", ok)}}, "Succeeded", "Succeeded", 1},
		"one host failed":    {1, [][]stashv1beta1.HostBackupStats{{host("host-0", failed)}}, "Failed", "Failed", 1},
		"waiting for a host": {2, [][]stashv1beta1.HostBackupStats{{host("host-0", ok)}}, "Running", "Running", 1},
		// Stash checked only the host that reported last: this would have
		// been Succeeded there.
		"any host failed, not just the last":        {2, [][]stashv1beta1.HostBackupStats{{host("host-0", failed)}, {host("host-1", ok)}}, "Failed", "Failed", 2},
		"a host reporting again replaces its entry": {1, [][]stashv1beta1.HostBackupStats{{host("host-0", failed)}, {host("host-0", ok)}}, "Succeeded", "Succeeded", 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := stashv1beta1.BackupSessionStatus{Targets: []stashv1beta1.BackupTargetStatus{{Ref: pvc, TotalHosts: ptr.To(tc.totalHosts), Phase: "Running"}}}
			for _, r := range tc.reports {
				UpsertBackupHosts(&st, pvc, r)
			}
			if len(st.Targets) != 1 || len(st.Targets[0].Stats) != tc.wantHosts {
				t.Fatalf("targets = %+v", st.Targets)
			}
			if got := st.Targets[0].Phase; got != tc.wantPhase {
				t.Errorf("target phase = %s, want %s", got, tc.wantPhase)
			}
			if got := BackupPhaseFromTargets(st.Targets); got != tc.wantSession {
				t.Errorf("session phase = %s, want %s", got, tc.wantSession)
			}
		})
	}
}

func TestUpsertBackupHostsCreatesMissingTarget(t *testing.T) {
	var st stashv1beta1.BackupSessionStatus
	UpsertBackupHosts(&st, pvc, []stashv1beta1.HostBackupStats{host("host-0", stashv1beta1.HostBackupSucceeded)})
	if len(st.Targets) != 1 || st.Targets[0].Ref != pvc || *st.Targets[0].TotalHosts != 1 || st.Targets[0].Phase != "Succeeded" {
		t.Fatalf("targets = %+v", st.Targets)
	}
	if BackupPhaseFromTargets(nil) != stashv1beta1.BackupSessionPending {
		t.Fatal("no targets must be Pending")
	}
}

func TestRestorePhaseFromHosts(t *testing.T) {
	r := func(name string, p stashv1beta1.HostRestorePhase) stashv1beta1.HostRestoreStats {
		return stashv1beta1.HostRestoreStats{Hostname: name, Phase: p}
	}
	tests := map[string]struct {
		total int32
		hosts []stashv1beta1.HostRestoreStats
		want  stashv1beta1.RestoreSessionPhase
	}{
		"running":   {2, []stashv1beta1.HostRestoreStats{r("host-0", "Succeeded")}, "Running"},
		"succeeded": {1, []stashv1beta1.HostRestoreStats{r("host-0", "Succeeded")}, "Succeeded"},
		"failed":    {2, []stashv1beta1.HostRestoreStats{r("host-0", "Unknown"), r("host-1", "Failed")}, "Failed"},
		"unknown":   {2, []stashv1beta1.HostRestoreStats{r("host-0", "Unknown"), r("host-1", "Succeeded")}, "Unknown"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := stashv1beta1.RestoreSessionStatus{TotalHosts: ptr.To(tc.total)}
			UpsertRestoreHosts(&st, tc.hosts)
			if got := RestorePhaseFromHosts(st); got != tc.want {
				t.Fatalf("phase = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestApplyRepositoryReport(t *testing.T) {
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	second := first.Add(time.Hour)
	var st stashv1alpha1.RepositoryStatus
	ApplyRepositoryReport(&st, RepositoryReport{Integrity: ptr.To(true), Size: "1.5 MiB", SnapshotCount: 1}, first)
	ApplyRepositoryReport(&st, RepositoryReport{Integrity: ptr.To(false), Size: "2 MiB", SnapshotCount: 2, SnapshotsRemovedOnLastCleanup: 1}, second)
	if !st.FirstBackupTime.Time.Equal(first) || !st.LastBackupTime.Time.Equal(second) {
		t.Fatalf("first/last = %v/%v", st.FirstBackupTime, st.LastBackupTime)
	}
	if *st.Integrity || st.TotalSize != "2 MiB" || st.SnapshotCount != 2 || st.SnapshotsRemovedOnLastCleanup != 1 {
		t.Fatalf("status = %+v", st)
	}
}
