package status

import (
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/google/go-cmp/cmp"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/session"
	"github.com/stash-operator/stash/internal/text"
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
		wantSession stashv1beta1.SessionPhase
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
			if got := sessionPhase(&stashv1beta1.BackupSession{Status: st}, int(tc.totalHosts)); got != tc.wantSession {
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
}

// sessionPhase is the phase the session's rules give s, whose hosts
// host-0..host-<hosts-1> each have a Job that runs, from their reports.
func sessionPhase(s session.Object, hosts int) stashv1beta1.SessionPhase {
	names := make([]string, hosts)
	for i := range names {
		names[i] = fmt.Sprintf("host-%d", i)
	}
	reports := ReportOf(names, Reports(s))
	o := session.Observation{}
	for _, n := range names {
		o.Hosts = append(o.Hosts, session.Host{Name: n, Report: reports[n], Job: &batchv1.Job{}})
	}
	return session.Decide(o).Phase
}

func TestRestoreSessionPhaseFromHosts(t *testing.T) {
	r := func(name string, p stashv1beta1.HostRestorePhase) stashv1beta1.HostRestoreStats {
		return stashv1beta1.HostRestoreStats{Hostname: name, Phase: p}
	}
	tests := map[string]struct {
		total int32
		hosts []stashv1beta1.HostRestoreStats
		want  stashv1beta1.SessionPhase
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
			if got := sessionPhase(&stashv1beta1.RestoreSession{Status: st}, int(tc.total)); got != tc.want {
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

func TestReports(t *testing.T) {
	backup := &stashv1beta1.BackupSession{Status: stashv1beta1.BackupSessionStatus{Targets: []stashv1beta1.BackupTargetStatus{{
		Ref: pvc, Stats: []stashv1beta1.HostBackupStats{
			{Hostname: "host-0", Phase: stashv1beta1.HostBackupSucceeded},
			{Hostname: "host-1", Phase: stashv1beta1.HostBackupFailed, Error: "restic: no space left"},
		}}}}}
	restore := &stashv1beta1.RestoreSession{Status: stashv1beta1.RestoreSessionStatus{Stats: []stashv1beta1.HostRestoreStats{
		{Hostname: "host-0", Phase: stashv1beta1.HostRestoreUnknown, Error: "cannot tell"},
		{Hostname: "host-1", Phase: stashv1beta1.HostRestoreFailed, Error: "wrong password"},
	}}}
	tests := map[string]struct {
		s    session.Object
		want map[string]session.Report
	}{
		"backup hosts, with the message a failed one gives": {backup, map[string]session.Report{
			"host-0": {Phase: stashv1beta1.SessionSucceeded},
			"host-1": {Phase: stashv1beta1.SessionFailed, Message: "backup failed: PersistentVolumeClaim data host host-1: restic: no space left"},
		}},
		"restore hosts, unknown and failed": {restore, map[string]session.Report{
			"host-0": {Phase: stashv1beta1.SessionUnknown, Message: "restore did not succeed: host host-0: Unknown: cannot tell"},
			"host-1": {Phase: stashv1beta1.SessionFailed, Message: "restore did not succeed: host host-1: Failed: wrong password"},
		}},
		"no report yet": {&stashv1beta1.RestoreSession{}, map[string]session.Report{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Reports(tc.s)); diff != "" {
				t.Errorf("Reports (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReportOf(t *testing.T) {
	ok := session.Report{Phase: stashv1beta1.SessionSucceeded}
	bad := session.Report{Phase: stashv1beta1.SessionFailed, Message: "x"}
	tests := map[string]struct {
		hosts   []string
		reports map[string]session.Report
		want    map[string]*session.Report
	}{
		"by name": {[]string{"host-0", "host-1"}, map[string]session.Report{"host-1": bad},
			map[string]*session.Report{"host-1": &bad}},
		"a Function that names its host itself: its report is the one host's": {[]string{"host-0"},
			map[string]session.Report{"my-db": ok}, map[string]*session.Report{"host-0": &ok}},
		"an unplanned report fills a host without one, never one that has its own": {[]string{"host-0", "host-1"},
			map[string]session.Report{"host-0": bad, "other": ok}, map[string]*session.Report{"host-0": &bad, "host-1": &ok}},
		"no report": {[]string{"host-0"}, nil, map[string]*session.Report{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ReportOf(tc.hosts, tc.reports)); diff != "" {
				t.Errorf("ReportOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStartAndSettle(t *testing.T) {
	bs := &stashv1beta1.BackupSession{}
	Start(bs, pvc, 2)
	Start(bs, pvc, 2) // a start done again changes nothing
	want := []stashv1beta1.BackupTargetStatus{{Ref: pvc, TotalHosts: ptr.To[int32](2), Phase: stashv1beta1.TargetBackupRunning}}
	if diff := cmp.Diff(want, bs.Status.Targets); diff != "" {
		t.Errorf("targets after Start (-want +got):\n%s", diff)
	}
	Settle(bs, stashv1beta1.SessionFailed)
	if bs.Status.Targets[0].Phase != stashv1beta1.TargetBackupFailed {
		t.Errorf("a failed session's waiting target is %s, want Failed", bs.Status.Targets[0].Phase)
	}
	rs := &stashv1beta1.RestoreSession{}
	Start(rs, stashv1beta1.TargetRef{}, 1)
	if ptr.Deref(rs.Status.TotalHosts, 0) != 1 {
		t.Errorf("restore totalHosts %v, want 1", rs.Status.TotalHosts)
	}
}

// A backup that measured sets the size and count; one that did not adds what
// it wrote to the last measurement; a check records its time and condition.
func TestApplyRepositoryReportMeasuredAndAdded(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	measured := func(bytes int64, count int64) stashv1alpha1.RepositoryStatus {
		return stashv1alpha1.RepositoryStatus{TotalSizeBytes: &bytes, TotalSize: text.Bytes(uint64(bytes)), SnapshotCount: count}
	}
	tests := map[string]struct {
		before    stashv1alpha1.RepositoryStatus
		report    RepositoryReport
		wantBytes *int64
		wantSize  string
		wantCount int64
	}{
		"measured": {report: RepositoryReport{SizeBytes: ptr.To[uint64](3 << 20), Size: "3.0 MiB", SnapshotCount: 4},
			wantBytes: ptr.To[int64](3 << 20), wantSize: "3.0 MiB", wantCount: 4},
		"added to the last measurement": {before: measured(3<<20, 4), report: RepositoryReport{SizeAddedBytes: 1 << 20, SnapshotsAdded: 1},
			wantBytes: ptr.To[int64](4 << 20), wantSize: "4.0 MiB", wantCount: 5},
		"one added, one forgotten, nothing new": {before: measured(3<<20, 4), report: RepositoryReport{SnapshotsAdded: 0, SnapshotsRemovedOnLastCleanup: 1},
			wantBytes: ptr.To[int64](3 << 20), wantSize: "3.0 MiB", wantCount: 4},
		"Stash's output.json: the size alone": {before: measured(3<<20, 4), report: RepositoryReport{Size: "5 MiB", SnapshotCount: 6},
			wantSize: "5 MiB", wantCount: 6},
		"no measurement in bytes: the size waits for one": {before: stashv1alpha1.RepositoryStatus{TotalSize: "7 MiB", SnapshotCount: 2},
			report: RepositoryReport{SizeAddedBytes: 1 << 20, SnapshotsAdded: 1}, wantSize: "7 MiB", wantCount: 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := tc.before
			ApplyRepositoryReport(&st, tc.report, now)
			if diff := cmp.Diff(tc.wantBytes, st.TotalSizeBytes); diff != "" || st.TotalSize != tc.wantSize || st.SnapshotCount != tc.wantCount {
				t.Errorf("bytes (-want +got) %s; size %q, count %d; want %q, %d", diff, st.TotalSize, st.SnapshotCount, tc.wantSize, tc.wantCount)
			}
			if st.LastIntegrityCheckTime != nil || st.LastPruneTime != nil {
				t.Errorf("no check or prune ran: %v, %v", st.LastIntegrityCheckTime, st.LastPruneTime)
			}
		})
	}

	t.Run("a check that found errors, and a prune", func(t *testing.T) {
		st := measured(1<<20, 1)
		ApplyRepositoryReport(&st, RepositoryReport{Integrity: ptr.To(false), Pruned: true, SizeBytes: ptr.To[uint64](1 << 20), SnapshotCount: 1}, now)
		c := conditions.Get(st.Conditions, stashv1beta1.ConditionIntegrityVerified)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != string(stashv1beta1.ReasonCheckFailed) || !strings.Contains(c.Message, "restic repair index") {
			t.Errorf("IntegrityVerified = %+v", c)
		}
		if !st.LastIntegrityCheckTime.Time.Equal(now) || !st.LastPruneTime.Time.Equal(now) || *st.Integrity {
			t.Errorf("status = %+v", st)
		}
		ApplyRepositoryReport(&st, RepositoryReport{Integrity: ptr.To(true), SizeBytes: ptr.To[uint64](1 << 20), SnapshotCount: 1}, now.Add(time.Hour))
		if c := conditions.Get(st.Conditions, stashv1beta1.ConditionIntegrityVerified); c.Status != metav1.ConditionTrue || c.Reason != string(stashv1beta1.ReasonCheckPassed) {
			t.Errorf("after a passing check: %+v", c)
		}
	})
}
