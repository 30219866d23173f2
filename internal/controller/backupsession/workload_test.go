package backupsession

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/lifecycle"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/testenv"
)

// startAsOperator runs the controller under the operator's generated
// ClusterRole only, with testdata/workloads.yaml: a permission the
// workload planning uses but the role lacks fails these tests.
func startAsOperator(t *testing.T) *testenv.Env {
	t.Helper()
	return startAsOperatorWith(t, "testdata/workloads.yaml")
}

// startAsOperatorWith is startAsOperator with the objects of file.
func startAsOperatorWith(t *testing.T, file string) *testenv.Env {
	t.Helper()
	e := testenv.NewEnv(t, time.Now())
	e.StartManager(testenv.ManagerOptions{AsOperator: true}, func(mgr ctrl.Manager, clk clock.PassiveClock) error {
		return (&Reconciler{Runner: lifecycle.Runner{Deps: deps.Deps{Clock: clk}, ResolveOptions: testenv.ResolveOptions}}).SetupWithManager(mgr)
	})
	e.InstallCatalog()
	e.Apply(file)
	return e
}

// hostsWithJobs waits until n of the session's hosts have a Job, and
// returns the session.
func hostsWithJobs(e *testenv.Env, name string, n int) *stashv1beta1.BackupSession {
	e.T.Helper()
	var bs stashv1beta1.BackupSession
	e.Eventually(fmt.Sprintf("%d hosts of %s have a Job", n, name), func() error {
		if err := e.Get(name, &bs); err != nil {
			return err
		}
		have := 0
		for _, h := range bs.Status.Hosts {
			if h.Job != "" {
				have++
			}
		}
		if have != n {
			return fmt.Errorf("hosts %+v", bs.Status.Hosts)
		}
		return nil
	})
	return &bs
}

// repositoryWritten records, as update-status does, that a backup has
// written the Repository: its hosts need not wait for a first one alone.
func repositoryWritten(e *testenv.Env) {
	e.T.Helper()
	repo := &stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "s3-repo"}}
	e.UpdateStatus(repo, func() {
		now := metav1.Now()
		repo.Status.FirstBackupTime, repo.Status.LastBackupTime, repo.Status.SnapshotCount = &now, &now, 1
	})
}

var statefulSet = stashv1beta1.TargetRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"}

func succeeded(host string) stashv1beta1.HostBackupStats {
	return stashv1beta1.HostBackupStats{Hostname: host, Phase: stashv1beta1.HostBackupSucceeded, Duration: "5s"}
}

// mounts reports where the last container of job mounts the claim claim.
func mountOf(job *batchv1.Job, claim string) (corev1.VolumeMount, bool) {
	spec := job.Spec.Template.Spec
	for _, v := range spec.Volumes {
		if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claim {
			continue
		}
		for _, m := range spec.Containers[len(spec.Containers)-1].VolumeMounts {
			if m.Name == v.Name {
				return m, true
			}
		}
	}
	return corev1.VolumeMount{}, false
}

// A StatefulSet has a host per replica, host-<ordinal>; each host's Job
// mounts that replica's claim, read-only. No more hosts run at once than
// the target's parallelism: the next Job is made when a host reports.
func TestStatefulSetHostsRunInParallelBatches(t *testing.T) {
	e := startAsOperator(t)
	repositoryWritten(e)
	bs := newSession(e, "db-backup", "db-backup-1")
	running := hostsWithJobs(e, bs.Name, 2)
	var names []string
	for _, h := range running.Status.Hosts {
		names = append(names, h.Name)
	}
	if want := []string{"host-0", "host-1", "host-2"}; !slices.Equal(names, want) || running.Status.Hosts[2].Job != "" {
		t.Fatalf("hosts %+v: want %v, the last without a Job (parallelism 2)", running.Status.Hosts, want)
	}
	if got := ptr.Deref(running.Status.Targets[0].TotalHosts, 0); got != 3 {
		t.Errorf("totalHosts %d, want 3", got)
	}
	third := naming.Backup.JobName(bs.Name, 2)
	if e.Exists(&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: third}}) {
		t.Fatalf("Job %s exists while two hosts run", third)
	}
	for i, h := range running.Status.Hosts[:2] {
		job := e.WaitForJob(h.Job)
		if job.Labels[naming.HostLabel] != h.Name {
			t.Errorf("Job %s has host label %q, want %q", job.Name, job.Labels[naming.HostLabel], h.Name)
		}
		claim := fmt.Sprintf("data-db-%d", i)
		if m, ok := mountOf(job, claim); !ok || m.MountPath != "/source/data" || !m.ReadOnly {
			t.Errorf("Job %s mounts claim %s as %+v (found %v); want it read-only at /source/data", job.Name, claim, m, ok)
		}
	}

	reportTarget(e, bs.Name, statefulSet, succeeded("host-0"))
	hostsWithJobs(e, bs.Name, 3)
	e.WaitForJob(third)

	reportTarget(e, bs.Name, statefulSet, succeeded("host-1"), succeeded("host-2"))
	done, _ := waitFor(e, bs.Name, stashv1beta1.SessionSucceeded, stashv1beta1.ReasonCompleted)
	if t0 := done.Status.Targets[0]; t0.Phase != stashv1beta1.TargetBackupSucceeded || len(t0.Stats) != 3 {
		t.Errorf("target %+v: want Succeeded with the stats of 3 hosts", t0)
	}
}

// Into a repository no backup has written yet, one host runs alone: its
// Job creates the repository, and two creating it at once would leave it
// unusable. Once it succeeded the others run as the parallelism allows.
func TestFirstBackupIntoANewRepositoryRunsOneHostFirst(t *testing.T) {
	e := startAsOperator(t)
	bs := newSession(e, "db-backup", "db-backup-3")
	first := hostsWithJobs(e, bs.Name, 1)
	e.Consistently("one host runs alone", 2*time.Second, func() error {
		var cur stashv1beta1.BackupSession
		if err := e.Get(bs.Name, &cur); err != nil {
			return err
		}
		for _, h := range cur.Status.Hosts[1:] {
			if h.Job != "" {
				return fmt.Errorf("host %s has Job %s while host-0 makes the repository", h.Name, h.Job)
			}
		}
		return nil
	})
	if first.Status.Hosts[0].Job == "" {
		t.Fatalf("hosts %+v: want host-0 to run first", first.Status.Hosts)
	}
	reportTarget(e, bs.Name, statefulSet, succeeded("host-0"))
	hostsWithJobs(e, bs.Name, 3)
}

// One failed host fails the session, naming the host, once the others have
// finished: their backups are not cut short.
func TestAFailedHostFailsTheSession(t *testing.T) {
	e := startAsOperator(t)
	repositoryWritten(e)
	bs := newSession(e, "db-backup", "db-backup-2")
	hostsWithJobs(e, bs.Name, 2)
	reportTarget(e, bs.Name, statefulSet, succeeded("host-0"), stashv1beta1.HostBackupStats{Hostname: "host-1", Phase: stashv1beta1.HostBackupFailed,
		Error: "backup /source/data: no such file or directory"})
	hostsWithJobs(e, bs.Name, 3)
	e.Consistently("host-2 runs, and so does the session", 2*time.Second, func() error {
		var cur stashv1beta1.BackupSession
		if err := e.Get(bs.Name, &cur); err != nil {
			return err
		}
		if cur.Status.Phase != stashv1beta1.SessionRunning {
			return fmt.Errorf("phase %q while host-2 runs", cur.Status.Phase)
		}
		return nil
	})
	reportTarget(e, bs.Name, statefulSet, succeeded("host-2"))
	_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonHostFailed)
	if err := testenv.ContainsAll(c.Message, "host-1", "no such file or directory"); err != nil {
		t.Errorf("condition message: %v", err)
	}
	if strings.Contains(c.Message, "host-0") {
		t.Errorf("condition message names host-0, which succeeded: %s", c.Message)
	}
}

// A DaemonSet has a host per node its pods run on, named after the node,
// and each host's Job runs on that node.
func TestDaemonSetHostsAreItsNodes(t *testing.T) {
	e := startAsOperator(t)
	repositoryWritten(e)
	e.RunPod("agent-x", "agent", "node-b")
	e.RunPod("agent-y", "agent", "node-a")
	bs := newSession(e, "agent-backup", "agent-backup-1")
	running := hostsWithJobs(e, bs.Name, 2)
	want := []stashv1beta1.HostStatus{
		{Name: "node-a", Job: naming.Backup.JobName(bs.Name, 0), Pod: "agent-y", Node: "node-a"},
		{Name: "node-b", Job: naming.Backup.JobName(bs.Name, 1), Pod: "agent-x", Node: "node-b"},
	}
	if diff := cmp.Diff(want, running.Status.Hosts); diff != "" {
		t.Fatalf("hosts (-want +got):\n%s", diff)
	}
	for _, h := range want {
		job := e.WaitForJob(h.Job)
		terms := job.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		wantTerms := []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{h.Node}}}}}
		if diff := cmp.Diff(wantTerms, terms); diff != "" {
			t.Errorf("Job %s node affinity (-want +got):\n%s", job.Name, diff)
		}
	}
}

// The claim of an interimVolumeTemplate is made with the host's Job,
// owned by the session, and deleted when the session ends.
func TestInterimClaimLivesWithTheSession(t *testing.T) {
	e := startAsOperator(t)
	bs := newSession(e, "web-backup", "web-backup-1")
	running := hostsWithJobs(e, bs.Name, 1)
	job := e.WaitForJob(running.Status.Hosts[0].Job)
	name := naming.InterimClaimName("stage", job.Name)
	var claim corev1.PersistentVolumeClaim
	if err := e.Get(name, &claim); err != nil {
		t.Fatalf("interim claim: %v", err)
	}
	if owner := metav1.GetControllerOf(&claim); owner == nil || owner.UID != running.UID || claim.Labels["team"] != "web" {
		t.Errorf("interim claim: owner %+v, labels %v; want the session's, with the template's label team=web", owner, claim.Labels)
	}
	if _, ok := mountOf(job, name); !ok {
		t.Errorf("Job %s does not mount the interim claim %s", job.Name, name)
	}
	// No pod of web runs: the Job may run anywhere, and the session says
	// where it did.
	if node := running.Status.Hosts[0].Node; node != "" {
		t.Fatalf("host-0 is on node %q before its Job's pod is scheduled", node)
	}
	e.Schedule(e.StartPod(job), "node-z")
	e.Eventually("host-0 records the node its Job's pod runs on", func() error {
		var cur stashv1beta1.BackupSession
		if err := e.Get(bs.Name, &cur); err != nil {
			return err
		}
		if node := cur.Status.Hosts[0].Node; node != "node-z" {
			return fmt.Errorf("node %q", node)
		}
		return nil
	})

	reportTarget(e, bs.Name, stashv1beta1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}, succeeded("host-0"))
	waitFor(e, bs.Name, stashv1beta1.SessionSucceeded, stashv1beta1.ReasonCompleted)
	e.Eventually("the interim claim is deleted", func() error {
		var c corev1.PersistentVolumeClaim
		if err := e.Get(name, &c); err != nil {
			return nil // gone
		}
		if c.DeletionTimestamp.IsZero() {
			return fmt.Errorf("claim %s is not being deleted", name)
		}
		return nil // held only by the kubernetes.io/pvc-protection finalizer, which no controller lifts here
	})
}

// A host whose claim only its running pod may mount (ReadWriteOncePod)
// gets no Job: the session fails naming the host and the claim.
func TestReadWriteOncePodHostFails(t *testing.T) {
	e := startAsOperator(t)
	e.RunPod("solo-1", "solo", "node-a")
	bs := newSession(e, "solo-backup", "solo-backup-1")
	_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonHostUnavailable)
	if err := testenv.ContainsAll(c.Message, `"solo-data"`, "ReadWriteOncePod", "solo-1"); err != nil {
		t.Errorf("condition message: %v", err)
	}
	if jobs := e.Jobs(); len(jobs) != 0 {
		t.Errorf("%d Jobs made for a host that cannot run", len(jobs))
	}
}
