package updatestatus

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/function"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithControlPlane(m)) }

var pvc = stashv1beta1.TargetRef{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: "data"}

// fixture creates a namespace with a Repository and a BackupSession whose
// target expects totalHosts reports, as the operator leaves it.
func fixture(t *testing.T, c client.Client, totalHosts int32) (ns string) {
	t.Helper()
	ctx := context.Background()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "update-status-"}}
	if err := c.Create(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	ns = nsObj.Name
	repo := &stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: ns},
		Spec: stashv1alpha1.RepositorySpec{Backend: stashv1alpha1.Backend{S3: &stashv1alpha1.S3Spec{Bucket: "b"}}}}
	bs := &stashv1beta1.BackupSession{ObjectMeta: metav1.ObjectMeta{Name: "bs", Namespace: ns},
		Spec: stashv1beta1.BackupSessionSpec{Invoker: stashv1beta1.BackupInvokerRef{Kind: "BackupConfiguration", Name: "bc"}}}
	rs := &stashv1beta1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: ns},
		Spec: stashv1beta1.RestoreSessionSpec{Repository: corev1.LocalObjectReference{Name: "repo"}}}
	for _, o := range []client.Object{repo, bs, rs} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	bs.Status = stashv1beta1.BackupSessionStatus{SessionStatus: stashv1beta1.SessionStatus{Phase: stashv1beta1.SessionRunning},
		Targets: []stashv1beta1.BackupTargetStatus{{Ref: pvc, TotalHosts: ptr.To(totalHosts), Phase: stashv1beta1.TargetBackupRunning}}}
	if err := c.Status().Update(ctx, bs); err != nil {
		t.Fatal(err)
	}
	rs.Status = stashv1beta1.RestoreSessionStatus{SessionStatus: stashv1beta1.SessionStatus{Phase: stashv1beta1.SessionRunning}, TotalHosts: ptr.To[int32](1)}
	if err := c.Status().Update(ctx, rs); err != nil {
		t.Fatal(err)
	}
	return ns
}

func newClient(t *testing.T) client.Client {
	cp := testenv.Shared(t)
	c, err := client.New(cp.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeFile(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, function.OutputFileName), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func events(t *testing.T, c client.Client, ns string) []corev1.Event {
	t.Helper()
	var list corev1.EventList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

var fixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestBackupReports(t *testing.T) {
	tests := map[string]struct {
		totalHosts   int32
		outputs      []string // one update-status run per output; "" = no output.json
		wantPhase    stashv1beta1.TargetPhase
		wantHosts    []string // hostname=phase
		wantRepo     bool     // Repository status written
		wantEvent    string   // reason that must be among the events
		wantErrorSub string   // substring of a host's error
	}{
		"success records hosts and the repository": {
			totalHosts: 1,
			outputs: []string{`{"hostBackupStats":[{"hostname":"host-0","phase":"Succeeded","duration":"3s",
				"snapshots":[{"name":"abcd1234","path":"/data","totalSize":"1.0 MiB","uploaded":"1.0 MiB","processingTime":"0h0m3s",
				"fileStats":{"totalFiles":3,"newFiles":3,"modifiedFiles":0,"unmodifiedFiles":0}}]}],
				"repository":{"integrity":true,"size":"1.2 MiB","snapshotCount":2,"snapshotsRemovedOnLastCleanup":1}}`},
			wantPhase: "Succeeded", wantHosts: []string{"host-0=Succeeded"}, wantRepo: true, wantEvent: ReasonHostBackupSucceeded,
		},
		"a failed host fails the target and leaves the repository alone": {
			totalHosts: 1,
			outputs:    []string{`{"hostBackupStats":[{"hostname":"host-0","phase":"Failed","error":"repository password is wrong"}]}`},
			wantPhase:  "Failed", wantHosts: []string{"host-0=Failed"}, wantEvent: ReasonHostBackupFailed, wantErrorSub: "password is wrong",
		},
		"no output.json is a failed host, not a stuck session": {
			totalHosts: 1, outputs: []string{""},
			wantPhase: "Failed", wantHosts: []string{"host-0=Failed"}, wantEvent: ReasonHostBackupFailed, wantErrorSub: "output.json not found: the backup or restore step did not write it",
		},
		"corrupt output.json is a failed host": {
			totalHosts: 1, outputs: []string{`{"hostBackupStats":[`},
			wantPhase: "Failed", wantHosts: []string{"host-0=Failed"}, wantEvent: ReasonHostBackupFailed, wantErrorSub: "no usable report from the data step: parse ",
		},
		"any failed host fails the target, even if the last one succeeded": {
			totalHosts: 2,
			outputs: []string{`{"hostBackupStats":[{"hostname":"host-0","phase":"Failed","error":"boom"}]}`,
				`{"hostBackupStats":[{"hostname":"host-1","phase":"Succeeded"}],"repository":{"integrity":true,"size":"1 KiB","snapshotCount":1}}`},
			wantPhase: "Failed", wantHosts: []string{"host-0=Failed", "host-1=Succeeded"}, wantRepo: true, wantEvent: ReasonHostBackupFailed,
		},
		"waiting for the second host": {
			totalHosts: 2, outputs: []string{`{"hostBackupStats":[{"hostname":"host-0","phase":"Succeeded"}]}`},
			wantPhase: "Running", wantHosts: []string{"host-0=Succeeded"}, wantEvent: ReasonHostBackupSucceeded,
		},
	}
	c := newClient(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns := fixture(t, c, tc.totalHosts)
			var log strings.Builder
			for _, output := range tc.outputs {
				dir := t.TempDir()
				if output != "" {
					writeFile(t, dir, output)
				}
				err := Run(context.Background(), c, Options{Namespace: ns, BackupSession: "bs", Repository: "repo",
					TargetKind: pvc.Kind, TargetName: pvc.Name, OutputDir: dir, Now: func() time.Time { return fixedNow }, Log: &log})
				if err != nil {
					t.Fatal(err)
				}
			}
			// The Job's log says what was written, host by host.
			for _, h := range tc.wantHosts {
				name, phase, _ := strings.Cut(h, "=")
				if want := "recorded host " + name + " " + phase + " in BackupSession " + ns + "/bs\n"; !strings.Contains(log.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, log.String())
				}
			}
			if logged := strings.Contains(log.String(), "recorded the repository's figures in Repository "+ns+"/repo\n"); logged != tc.wantRepo {
				t.Errorf("log names the Repository = %v, want %v:\n%s", logged, tc.wantRepo, log.String())
			}
			var bs stashv1beta1.BackupSession
			if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "bs"}, &bs); err != nil {
				t.Fatal(err)
			}
			target := bs.Status.Targets[0]
			if target.Phase != tc.wantPhase {
				t.Errorf("target phase = %s, want %s", target.Phase, tc.wantPhase)
			}
			var hosts []string
			errorsSeen := ""
			for _, h := range target.Stats {
				hosts = append(hosts, h.Hostname+"="+string(h.Phase))
				errorsSeen += h.Error
			}
			if strings.Join(hosts, ",") != strings.Join(tc.wantHosts, ",") {
				t.Errorf("hosts = %v, want %v", hosts, tc.wantHosts)
			}
			if !strings.Contains(errorsSeen, tc.wantErrorSub) {
				t.Errorf("host errors %q lack %q", errorsSeen, tc.wantErrorSub)
			}
			var repo stashv1alpha1.Repository
			if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "repo"}, &repo); err != nil {
				t.Fatal(err)
			}
			if written := repo.Status.LastBackupTime != nil; written != tc.wantRepo {
				t.Fatalf("repository status written = %v, want %v (%+v)", written, tc.wantRepo, repo.Status)
			}
			if tc.wantRepo && (repo.Status.Integrity == nil || !*repo.Status.Integrity || repo.Status.TotalSize == "" ||
				!repo.Status.LastBackupTime.Time.Equal(fixedNow) || !repo.Status.FirstBackupTime.Time.Equal(fixedNow)) {
				t.Errorf("repository status = %+v", repo.Status)
			}
			found := false
			for _, e := range events(t, c, ns) {
				if e.Reason == tc.wantEvent && e.InvolvedObject.Name == "bs" && e.InvolvedObject.Kind == "BackupSession" {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s event on the BackupSession", tc.wantEvent)
			}
		})
	}
}

func TestSnapshotStatsAreRecordedAsReported(t *testing.T) {
	c := newClient(t)
	ns := fixture(t, c, 1)
	dir := t.TempDir()
	writeFile(t, dir, `{"hostBackupStats":[{"hostname":"host-0","phase":"Succeeded","duration":"3s",
		"snapshots":[{"name":"abcd1234","path":"/data","totalSize":"1.0 MiB","uploaded":"512 KiB","processingTime":"0h0m3s",
		"fileStats":{"totalFiles":3,"newFiles":1,"modifiedFiles":1,"unmodifiedFiles":1}}]}]}`)
	if err := Run(context.Background(), c, Options{Namespace: ns, BackupSession: "bs", TargetKind: pvc.Kind, TargetName: pvc.Name, OutputDir: dir}); err != nil {
		t.Fatal(err)
	}
	var bs stashv1beta1.BackupSession
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "bs"}, &bs); err != nil {
		t.Fatal(err)
	}
	s := bs.Status.Targets[0].Stats[0].Snapshots[0]
	if s.Name != "abcd1234" || s.Uploaded != "512 KiB" || *s.FileStats.TotalFiles != 3 || *s.FileStats.UnmodifiedFiles != 1 {
		t.Fatalf("snapshot stats = %+v", s)
	}
}

func TestRestoreReports(t *testing.T) {
	c := newClient(t)
	tests := map[string]struct {
		output     string
		wantPhase  stashv1beta1.HostRestorePhase
		wantReason string
	}{
		"succeeded": {`{"hostRestoreStats":[{"hostname":"host-0","phase":"Succeeded","duration":"2s"}]}`, "Succeeded", ReasonHostRestoreSucceeded},
		"failed":    {`{"hostRestoreStats":[{"hostname":"host-0","phase":"Failed","error":"no snapshot"}]}`, "Failed", ReasonHostRestoreFailed},
		"missing":   {"", "Failed", ReasonHostRestoreFailed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns := fixture(t, c, 1)
			dir := t.TempDir()
			if tc.output != "" {
				writeFile(t, dir, tc.output)
			}
			if err := Run(context.Background(), c, Options{Namespace: ns, RestoreSession: "rs", OutputDir: dir}); err != nil {
				t.Fatal(err)
			}
			var rs stashv1beta1.RestoreSession
			if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "rs"}, &rs); err != nil {
				t.Fatal(err)
			}
			if len(rs.Status.Stats) != 1 || rs.Status.Stats[0].Phase != tc.wantPhase {
				t.Fatalf("stats = %+v", rs.Status.Stats)
			}
			found := false
			for _, e := range events(t, c, ns) {
				found = found || (e.Reason == tc.wantReason && e.InvolvedObject.Kind == "RestoreSession")
			}
			if !found {
				t.Errorf("no %s event", tc.wantReason)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := map[string]Options{
		"no namespace":  {OutputDir: "/tmp", BackupSession: "a"},
		"no output dir": {Namespace: "n", BackupSession: "a"},
		"both sessions": {Namespace: "n", OutputDir: "/tmp", BackupSession: "a", RestoreSession: "b"},
		"no session":    {Namespace: "n", OutputDir: "/tmp"},
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			if err := Run(context.Background(), nil, o); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestMissingSessionIsAnError(t *testing.T) {
	c := newClient(t)
	ns := fixture(t, c, 1)
	dir := t.TempDir()
	writeFile(t, dir, `{"hostBackupStats":[{"hostname":"host-0","phase":"Succeeded"}]}`)
	err := Run(context.Background(), c, Options{Namespace: ns, BackupSession: "nope", OutputDir: dir})
	if err == nil || !strings.Contains(err.Error(), "BackupSession "+ns+"/nope") {
		t.Fatalf("err = %v", err)
	}
}
