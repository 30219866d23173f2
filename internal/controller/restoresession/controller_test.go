package restoresession

import (
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/inputs"
	"github.com/stash-operator/stash/internal/controller/lifecycle"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/status"
	"github.com/stash-operator/stash/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithControlPlane(m)) }

// start runs the controller with the default catalog and the Repository.
func start(t *testing.T) *testenv.Env {
	return testenv.Start(t, func(mgr ctrl.Manager, clk clock.PassiveClock) error {
		return (&Reconciler{Runner: lifecycle.Runner{Deps: deps.Deps{Clock: clk}, ResolveOptions: testenv.ResolveOptions}}).SetupWithManager(mgr)
	}, "testdata/pvc-restore.yaml")
}

// newRestore creates a copy of testdata/restoresession.yaml named name.
func newRestore(e *testenv.Env, name string) *stashv1beta1.RestoreSession {
	e.T.Helper()
	rs := e.Load("testdata/restoresession.yaml")["RestoreSession/data-restore"].(*stashv1beta1.RestoreSession)
	rs.Name = name
	e.Create(rs)
	return rs
}

func waitFor(e *testenv.Env, name string, phase stashv1beta1.SessionPhase, reason stashv1beta1.SessionReason) (*stashv1beta1.RestoreSession, *metav1.Condition) {
	rs := &stashv1beta1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: name}}
	return rs, e.WaitForPhase(rs, phase, reason)
}

// report writes host results as update-status does.
func report(e *testenv.Env, name string, hosts ...stashv1beta1.HostRestoreStats) {
	e.T.Helper()
	rs := &stashv1beta1.RestoreSession{ObjectMeta: metav1.ObjectMeta{Name: name}}
	e.UpdateStatus(rs, func() { status.UpsertRestoreHosts(&rs.Status, hosts) })
}

// A restore runs the resolved Job under its own least-privilege account
// and succeeds when its host reports success.
func TestRestoreSucceeds(t *testing.T) {
	e := start(t)
	rs := newRestore(e, "data-restore")
	running, _ := waitFor(e, rs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
	if ptr.Deref(running.Status.TotalHosts, 0) != 1 || len(running.Status.Steps) != 2 || running.Status.Steps[0].Function != "pvc-restore" {
		t.Errorf("running: totalHosts %v, steps %+v", running.Status.TotalHosts, running.Status.Steps)
	}

	cat, err := inputs.Catalog(e.Ctx, e.Client)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := inputs.Repository(e.Ctx, e.Client, e.Namespace, "local-repo")
	if err != nil {
		t.Fatal(err)
	}
	want, err := resolve.Restore(cat, running, repo, resolve.SingleHost, testenv.ResolveOptions)
	if err != nil {
		t.Fatal(err)
	}
	job := e.CheckJob(want.Job)
	account := "stash-restore-data-restore"
	if job.Spec.Template.Spec.ServiceAccountName != account {
		t.Errorf("the Job runs as %q, want %q", job.Spec.Template.Spec.ServiceAccountName, account)
	}
	// A restore names its own session and does not write the Repository;
	// a claim's restore names no credentials, so it may read no Secret.
	e.CheckAccount(account, running, []rbacv1.PolicyRule{
		{APIGroups: []string{"stash.appscode.com"}, Resources: []string{"restoresessions"}, ResourceNames: []string{rs.Name}, Verbs: []string{"get"}},
		{APIGroups: []string{"stash.appscode.com"}, Resources: []string{"restoresessions/status"}, ResourceNames: []string{rs.Name}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get"}},
		{APIGroups: []string{"appcatalog.appscode.com"}, Resources: []string{"appbindings"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	})

	e.Clock.SetTime(running.CreationTimestamp.Add(45 * time.Second))
	report(e, rs.Name, stashv1beta1.HostRestoreStats{Hostname: "host-0", Phase: stashv1beta1.HostRestoreSucceeded, Duration: "40s"})
	done, c := waitFor(e, rs.Name, stashv1beta1.SessionSucceeded, stashv1beta1.ReasonCompleted)
	if c.Status != metav1.ConditionTrue || done.Status.SessionDuration != "45s" {
		t.Errorf("condition %s, sessionDuration %q: want True and 45s", c.Status, done.Status.SessionDuration)
	}
	e.WaitForEvent(rs.Name, "Normal Completed: Succeeded")
	if n := testenv.Metric(t, "stash_restore_session_total", map[string]string{"namespace": e.Namespace, "phase": "Succeeded"}); n != 1 {
		t.Errorf("stash_restore_session_total{phase=Succeeded} = %v, want 1", n)
	}
}

// A restore whose image cannot be pulled fails once the grace period is
// over; one whose host fails, or cannot tell, says so.
func TestRestoreFailures(t *testing.T) {
	e := start(t)

	t.Run("image cannot be pulled", func(t *testing.T) {
		e := e.With(t)
		rs := newRestore(e, "typo-restore")
		job := e.WaitForJob(naming.Restore.JobName(rs.Name, 0))
		pod := e.StartPod(job)
		e.SetPodStatus(pod, corev1.PodStatus{
			Phase: corev1.PodPending, StartTime: ptr.To(metav1.NewTime(e.Clock.Now())),
			InitContainerStatuses: []corev1.ContainerStatus{testenv.Waiting("pvc-restore-0", "ImagePullBackOff")},
			ContainerStatuses:     []corev1.ContainerStatus{testenv.Waiting("update-status-1", "PodInitializing")},
		})
		// Within the grace period the session waits, showing why.
		e.Eventually("the step shows the back-off", func() error {
			running, _ := waitFor(e, rs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
			return testenv.ContainsAll(running.Status.Steps[0].Reason, "ImagePullBackOff")
		})
		e.Clock.Step(lifecycle.DefaultImagePullGracePeriod + time.Second)
		e.Poke(rs)
		failed, c := waitFor(e, rs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonImagePullFailed)
		if err := testenv.ContainsAll(c.Message, `step "pvc-restore-0"`, "ImagePullBackOff"); err != nil {
			t.Error(err)
		}
		if failed.Status.SessionDuration == "" {
			t.Error("no sessionDuration")
		}
		e.WaitForEvent(rs.Name, "Warning ImagePullFailed")
	})
	t.Run("host failed", func(t *testing.T) {
		e := e.With(t)
		rs := newRestore(e, "failing-restore")
		waitFor(e, rs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
		report(e, rs.Name, stashv1beta1.HostRestoreStats{Hostname: "host-0", Phase: stashv1beta1.HostRestoreFailed, Error: "restic: no matching snapshot"})
		_, c := waitFor(e, rs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonHostFailed)
		if err := testenv.ContainsAll(c.Message, "host-0", "no matching snapshot"); err != nil {
			t.Error(err)
		}
	})
	t.Run("host unknown", func(t *testing.T) {
		e := e.With(t)
		rs := newRestore(e, "unsure-restore")
		waitFor(e, rs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
		report(e, rs.Name, stashv1beta1.HostRestoreStats{Hostname: "host-0", Phase: stashv1beta1.HostRestoreUnknown})
		_, c := waitFor(e, rs.Name, stashv1beta1.SessionUnknown, stashv1beta1.ReasonHostPhaseUnknown)
		if c.Status != metav1.ConditionUnknown {
			t.Errorf("condition status %s, want Unknown", c.Status)
		}
	})
	if n := testenv.Metric(t, "stash_restore_session_total", map[string]string{"namespace": e.Namespace, "phase": "Failed"}); n != 2 {
		t.Errorf("stash_restore_session_total{phase=Failed} = %v, want 2", n)
	}
}
