package backupsession

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

// start runs the controller with the default catalog and testdata/file.
func start(t *testing.T, file string) *testenv.Env {
	return testenv.Start(t, func(mgr ctrl.Manager, clk clock.PassiveClock) error {
		return (&Reconciler{Runner: lifecycle.Runner{Deps: deps.Deps{Clock: clk}, ResolveOptions: testenv.ResolveOptions}}).SetupWithManager(mgr)
	}, "testdata/"+file)
}

// newSession creates a session of the configuration bc, as `stash trigger` does.
func newSession(e *testenv.Env, bc, name string) *stashv1beta1.BackupSession {
	e.T.Helper()
	var config stashv1beta1.BackupConfiguration
	if err := e.Get(bc, &config); err != nil {
		e.T.Fatal(err)
	}
	bs := resolve.NewBackupSession(&config, name)
	e.Create(bs)
	return bs
}

// waitFor waits until the session is in phase with the Succeeded
// condition's reason, and returns it and the condition.
func waitFor(e *testenv.Env, name string, phase stashv1beta1.SessionPhase, reason stashv1beta1.SessionReason) (*stashv1beta1.BackupSession, *metav1.Condition) {
	bs := &stashv1beta1.BackupSession{ObjectMeta: metav1.ObjectMeta{Name: name}}
	return bs, e.WaitForPhase(bs, phase, reason)
}

// resolved is what the resolver makes of the session's objects as they are
// in the cluster.
func resolved(e *testenv.Env, name string) (*resolve.Result, error) {
	var bs stashv1beta1.BackupSession
	var bc stashv1beta1.BackupConfiguration
	if err := e.Get(name, &bs); err != nil {
		return nil, err
	}
	if err := e.Get(bs.Spec.Invoker.Name, &bc); err != nil {
		return nil, err
	}
	cat, err := inputs.Catalog(e.Ctx, e.Client)
	if err != nil {
		return nil, err
	}
	repo, err := inputs.Repository(e.Ctx, e.Client, e.Namespace, bc.Spec.Repository.Name)
	if err != nil {
		return nil, err
	}
	return resolve.Backup(cat, &bc, &bs, repo, resolve.SingleHost, testenv.ResolveOptions)
}

// report writes host results of the claim app-data as update-status does.
func report(e *testenv.Env, name string, hosts ...stashv1beta1.HostBackupStats) {
	e.T.Helper()
	reportTarget(e, name, stashv1beta1.TargetRef{Kind: "PersistentVolumeClaim", Name: "app-data"}, hosts...)
}

// reportTarget writes host results of the target ref.
func reportTarget(e *testenv.Env, name string, ref stashv1beta1.TargetRef, hosts ...stashv1beta1.HostBackupStats) {
	e.T.Helper()
	bs := &stashv1beta1.BackupSession{ObjectMeta: metav1.ObjectMeta{Name: name}}
	e.UpdateStatus(bs, func() { status.UpsertBackupHosts(&bs.Status, ref, hosts) })
}

// The Job is exactly what the resolver makes of the session's objects, it
// runs under an account created once with the least privilege, and neither
// another reconcile nor a start interrupted before its status was written
// creates anything twice.
func TestJobIsTheResolvedJob(t *testing.T) {
	e := start(t, "pvc-backup.yaml")
	bs := newSession(e, "data-backup", "data-backup-1767225600")
	running, _ := waitFor(e, bs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
	want, err := resolved(e, bs.Name)
	if err != nil {
		t.Fatal(err)
	}
	job := e.CheckJob(want.Job)

	wantTargets := []stashv1beta1.BackupTargetStatus{{
		Ref:        stashv1beta1.TargetRef{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: "app-data"},
		TotalHosts: ptr.To[int32](1), Phase: stashv1beta1.TargetBackupRunning,
	}}
	if diff := cmp.Diff(wantTargets, running.Status.Targets); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	wantSteps := []stashv1beta1.StepStatus{
		{Name: "pvc-backup-0", Host: "host-0", Function: "pvc-backup", Phase: stashv1beta1.StepPending},
		{Name: "update-status-1", Host: "host-0", Function: "update-status", Phase: stashv1beta1.StepPending},
	}
	if diff := cmp.Diff(wantSteps, running.Status.Steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	// A PVC is backed up by one host; its Job is recorded before it is created.
	wantHosts := []stashv1beta1.HostStatus{{Name: "host-0", Job: job.Name}}
	if diff := cmp.Diff(wantHosts, running.Status.Hosts); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	e.WaitForEvent(bs.Name, "Normal Running: Running: Job "+job.Name+" is running")

	// The account, owned by the BackupConfiguration, with exactly these
	// rules: its own Repository by name, and no Secret (a claim's backup
	// names no credentials).
	account := "stash-backup-data-backup"
	if job.Spec.Template.Spec.ServiceAccountName != account {
		t.Errorf("the Job runs as %q, want %q", job.Spec.Template.Spec.ServiceAccountName, account)
	}
	var bc stashv1beta1.BackupConfiguration
	if err := e.Get("data-backup", &bc); err != nil {
		t.Fatal(err)
	}
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{"stash.appscode.com"}, Resources: []string{"backupsessions"}, Verbs: []string{"get"}},
		{APIGroups: []string{"stash.appscode.com"}, Resources: []string{"backupsessions/status"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{"stash.appscode.com"}, Resources: []string{"repositories"}, ResourceNames: []string{bc.Spec.Repository.Name}, Verbs: []string{"get"}},
		{APIGroups: []string{"stash.appscode.com"}, Resources: []string{"repositories/status"}, ResourceNames: []string{bc.Spec.Repository.Name}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get"}},
		{APIGroups: []string{"appcatalog.appscode.com"}, Resources: []string{"appbindings"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
	versions := e.CheckAccount(account, &bc, rules)

	// The operator restarts after creating the Job but before recording
	// it: the session is new again. It starts once more and finds what it made.
	fresh := &stashv1beta1.BackupSession{ObjectMeta: metav1.ObjectMeta{Name: bs.Name}}
	e.UpdateStatus(fresh, func() { fresh.Status = stashv1beta1.BackupSessionStatus{} })
	waitFor(e, bs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
	e.Poke(fresh)
	e.Consistently("one Job, the first", time.Second, func() error {
		if got := e.Jobs(); len(got) != 1 || got[0].UID != job.UID {
			return fmt.Errorf("%d Jobs (want the first, %s)", len(got), job.UID)
		}
		return nil
	})
	if diff := cmp.Diff(versions, e.CheckAccount(account, &bc, rules)); diff != "" {
		t.Errorf("the account was written again (-resourceVersions before +after):\n%s", diff)
	}
}

// A step that exits non-zero fails the session with the step's name, exit
// code and log tail, and status.steps shows every step.
func TestStepFailureFailsTheSession(t *testing.T) {
	e := start(t, "pvc-backup.yaml")
	bs := newSession(e, "data-backup", "data-backup-1767229200")
	job := e.WaitForJob(naming.Backup.JobName(bs.Name, 0))
	pod := e.StartPod(job)
	e.SetPodStatus(pod, corev1.PodStatus{
		Phase:                 corev1.PodFailed,
		InitContainerStatuses: []corev1.ContainerStatus{testenv.Terminated("pvc-backup-0", 3, "Error", "Fatal: unable to open config file: Stat: The specified bucket does not exist.\n")},
		ContainerStatuses:     []corev1.ContainerStatus{testenv.Waiting("update-status-1", "PodInitializing")},
	})
	e.FailJob(job, batchv1.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit")

	failed, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonStepFailed)
	if err := testenv.ContainsAll(c.Message, `step "pvc-backup-0"`, `function "pvc-backup"`, "exit code 3", "The specified bucket does not exist."); err != nil {
		t.Error(err)
	}
	if c.Status != metav1.ConditionFalse {
		t.Errorf("condition status %s, want False", c.Status)
	}
	steps := failed.Status.Steps
	if len(steps) != 2 || steps[0].Phase != stashv1beta1.StepFailed || ptr.Deref(steps[0].ExitCode, 0) != 3 ||
		steps[0].Message == "" || steps[1].Phase != stashv1beta1.StepPending || steps[1].Function != "update-status" {
		t.Errorf("steps: %+v", steps)
	}
	if failed.Status.Targets[0].Phase != stashv1beta1.TargetBackupFailed || failed.Status.SessionDuration == "" {
		t.Errorf("target %s, duration %q: want the target Failed and a duration", failed.Status.Targets[0].Phase, failed.Status.SessionDuration)
	}
	e.WaitForEvent(bs.Name, "Warning StepFailed: Failed: step \"pvc-backup-0\"")
	if n := testenv.Metric(t, "stash_backup_session_total", map[string]string{"namespace": e.Namespace, "phase": "Failed"}); n != 1 {
		t.Errorf("stash_backup_session_total{phase=Failed} = %v, want 1", n)
	}
}

// timeOut fails a session with reason Timeout: when the Job's deadline
// fires, and on the session's own clock when nothing enforces it.
func TestTimeout(t *testing.T) {
	e := start(t, "pvc-backup.yaml")

	t.Run("Job deadline", func(t *testing.T) {
		e := e.With(t)
		bs := newSession(e, "timed-backup", "timed-backup-1")
		job := e.WaitForJob(naming.Backup.JobName(bs.Name, 0))
		if got := ptr.Deref(job.Spec.ActiveDeadlineSeconds, 0); got != 600 {
			t.Errorf("activeDeadlineSeconds %d, want 600", got)
		}
		e.FailJob(job, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline")
		_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonTimeout)
		if err := testenv.ContainsAll(c.Message, "activeDeadlineSeconds (600s"); err != nil {
			t.Error(err)
		}
		// The Job ended by itself: it is left as it is, for inspection.
		e.Consistently("the failed Job not suspended", 2*time.Second, func() error {
			if err := e.Get(job.Name, job); err != nil {
				return err
			}
			if ptr.Deref(job.Spec.Suspend, false) {
				return errors.New("suspended")
			}
			return nil
		})
	})
	t.Run("session clock", func(t *testing.T) {
		e := e.With(t)
		bs := newSession(e, "timed-backup", "timed-backup-2")
		waitFor(e, bs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
		e.Clock.Step(11 * time.Minute)
		e.Poke(bs)
		_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonTimeout)
		if err := testenv.ContainsAll(c.Message, "longer than its timeOut 10m0s"); err != nil {
			t.Error(err)
		}
		waitSuspended(e, naming.Backup.JobName(bs.Name, 0))
	})
}

// A step whose image cannot be pulled fails the session once the grace
// period is over, and its Job is stopped so that the pod does not stay
// behind, retrying.
func TestImagePullFailureStopsTheJob(t *testing.T) {
	e := start(t, "pvc-backup.yaml")
	bs := newSession(e, "data-backup", "data-backup-pull")
	job := e.WaitForJob(naming.Backup.JobName(bs.Name, 0))
	pod := e.StartPod(job)
	e.SetPodStatus(pod, corev1.PodStatus{Phase: corev1.PodPending, StartTime: ptr.To(metav1.NewTime(e.Clock.Now())),
		InitContainerStatuses: []corev1.ContainerStatus{testenv.Waiting("pvc-backup-0", "ImagePullBackOff")}})
	waitFor(e, bs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
	e.Clock.Step(3 * time.Minute)
	e.Poke(bs)
	_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonImagePullFailed)
	if err := testenv.ContainsAll(c.Message, `step "pvc-backup-0"`, "cannot get its image"); err != nil {
		t.Error(err)
	}
	waitSuspended(e, job.Name)
}

// A Job whose pod never starts (here: never created) fails the session after
// the operator's pod start timeout instead of leaving it Running for good,
// and the Job is stopped.
func TestPodThatNeverStartsFailsTheSession(t *testing.T) {
	e := start(t, "pvc-backup.yaml")
	bs := newSession(e, "data-backup", "data-backup-stuck")
	job := e.WaitForJob(naming.Backup.JobName(bs.Name, 0))
	waitFor(e, bs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
	e.Clock.Step(lifecycle.DefaultPodStartTimeout + time.Minute)
	e.Poke(bs)
	_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonPodNotStarted)
	if err := testenv.ContainsAll(c.Message, "Job "+job.Name+" created no pod", "--pod-start-timeout 10m0s"); err != nil {
		t.Error(err)
	}
	waitSuspended(e, job.Name)
}

// waitSuspended waits until the Job is suspended: a session that failed while
// its pod could make no progress stops it, so the pod does not stay behind.
func waitSuspended(e *testenv.Env, name string) {
	e.T.Helper()
	e.Eventually("Job "+name+" suspended", func() error {
		var job batchv1.Job
		if err := e.Get(name, &job); err != nil {
			return err
		}
		if !ptr.Deref(job.Spec.Suspend, false) {
			return fmt.Errorf("spec.suspend is %v", ptr.Deref(job.Spec.Suspend, false))
		}
		return nil
	})
}

// A Task that does not resolve fails the session with every problem the
// resolver found, and no Job is created.
func TestTemplateErrorFailsWithEveryProblem(t *testing.T) {
	e := start(t, "broken-task.yaml")
	bs := newSession(e, "broken", "broken-1")
	_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonJobCreationFailed)

	_, err := resolved(e, bs.Name)
	var problems resolve.Errors
	if !errors.As(err, &problems) || len(problems) < 2 {
		t.Fatalf("the fixture should have at least two problems, the resolver says: %v", err)
	}
	msg := c.Message
	for _, p := range problems {
		if !strings.Contains(msg, p.Error()) {
			t.Errorf("condition message lacks %q:\n%s", p.Error(), msg)
		}
	}
	if err := testenv.ContainsAll(msg, `function "pvc-bakup"`, "${REPOSITORY_SECRET}"); err != nil {
		t.Error(err)
	}
	if got := e.Jobs(); len(got) != 0 {
		t.Errorf("%d Jobs, want none", len(got))
	}
	e.WaitForEvent(bs.Name, "Warning JobCreationFailed")
}

// The hosts' reports decide: any failed host fails the session, all
// succeeded make it Succeeded with its duration.
func TestHostReportsDecide(t *testing.T) {
	e := start(t, "pvc-backup.yaml")

	t.Run("a host failed", func(t *testing.T) {
		e := e.With(t)
		bs := newSession(e, "data-backup", "data-backup-1")
		waitFor(e, bs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
		report(e, bs.Name, stashv1beta1.HostBackupStats{Hostname: "host-0", Phase: stashv1beta1.HostBackupFailed, Error: "restic: wrong password or no key found"})
		_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonHostFailed)
		if err := testenv.ContainsAll(c.Message, "host-0", "wrong password"); err != nil {
			t.Error(err)
		}
	})
	t.Run("every host succeeded", func(t *testing.T) {
		e := e.With(t)
		bs := newSession(e, "data-backup", "data-backup-2")
		running, _ := waitFor(e, bs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
		e.Clock.SetTime(running.CreationTimestamp.Add(90 * time.Second))
		report(e, bs.Name, stashv1beta1.HostBackupStats{Hostname: "host-0", Phase: stashv1beta1.HostBackupSucceeded, Duration: "1m20s"})
		done, c := waitFor(e, bs.Name, stashv1beta1.SessionSucceeded, stashv1beta1.ReasonCompleted)
		if c.Status != metav1.ConditionTrue {
			t.Errorf("condition status %s, want True", c.Status)
		}
		if done.Status.SessionDuration != "1m30s" {
			t.Errorf("sessionDuration %q, want 1m30s", done.Status.SessionDuration)
		}
		e.WaitForEvent(bs.Name, "Normal Completed: Succeeded")
		labels := map[string]string{"namespace": e.Namespace, "invoker": "data-backup"}
		if n := testenv.Metric(t, "stash_backup_session_duration_seconds", labels); n != 2 {
			t.Errorf("stash_backup_session_duration_seconds has %v observations, want 2", n)
		}
		if ts := testenv.Metric(t, "stash_backup_last_success_timestamp_seconds", labels); ts != float64(e.Clock.Now().Unix()) {
			t.Errorf("stash_backup_last_success_timestamp_seconds %v, want %d", ts, e.Clock.Now().Unix())
		}
	})
}

// A Job deleted under a running session, and an invoker that does not
// exist, each end the session instead of leaving it waiting.
func TestMissingObjectsFailTheSession(t *testing.T) {
	e := start(t, "pvc-backup.yaml")

	t.Run("Job deleted", func(t *testing.T) {
		e := e.With(t)
		bs := newSession(e, "data-backup", "data-backup-3")
		job := e.WaitForJob(naming.Backup.JobName(bs.Name, 0))
		waitFor(e, bs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
		// Background, as kubectl deletes: the Job's own default (orphan)
		// would wait for the garbage collector, which envtest lacks.
		if err := e.Client.Delete(e.Ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
			t.Fatal(err)
		}
		waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonJobDeleted)
	})
	t.Run("invoker not found", func(t *testing.T) {
		e := e.With(t)
		bs := &stashv1beta1.BackupSession{
			ObjectMeta: metav1.ObjectMeta{Name: "ghost-1"},
			Spec:       stashv1beta1.BackupSessionSpec{Invoker: stashv1beta1.BackupInvokerRef{APIGroup: "stash.appscode.com", Kind: "BackupConfiguration", Name: "ghost"}},
		}
		e.Create(bs)
		_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonInvokerNotFound)
		if err := testenv.ContainsAll(c.Message, "ghost"); err != nil {
			t.Error(err)
		}
	})
}

// A tick skipped under concurrencyPolicy Forbid carries the skipped
// annotation until the BackupConfiguration controller records it: the
// session controller must never start it.
func TestSkippedSessionNeverStarts(t *testing.T) {
	e := start(t, "pvc-backup.yaml")
	var config stashv1beta1.BackupConfiguration
	if err := e.Get("data-backup", &config); err != nil {
		t.Fatal(err)
	}
	skipped := resolve.NewBackupSession(&config, "data-backup-1767225900")
	skipped.Annotations = map[string]string{stashv1beta1.AnnotationSkipped: "skipped: data-backup-1767225600 still running"}
	e.Create(skipped)
	// A normal session created after it is started: by then the skipped
	// one has been seen too.
	normal := newSession(e, "data-backup", "data-backup-1767226200")
	waitFor(e, normal.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
	e.Consistently("the skipped session stays unstarted", 2*time.Second, func() error {
		var bs stashv1beta1.BackupSession
		if err := e.Get(skipped.Name, &bs); err != nil {
			return err
		}
		if bs.Status.Phase != "" {
			return fmt.Errorf("phase %q", bs.Status.Phase)
		}
		for _, j := range e.Jobs() {
			if j.Name == naming.Backup.JobName(skipped.Name, 0) {
				return errors.New("a Job was created for the skipped session")
			}
		}
		return nil
	})
}

// update-status reports before its container exits, so the session finishes
// while its last step still runs: once the pod ends, the steps are settled
// without touching the phase.
func TestStepsSettleAfterTheSessionFinishes(t *testing.T) {
	e := start(t, "pvc-backup.yaml")
	bs := newSession(e, "data-backup", "data-backup-1767232800")
	job := e.WaitForJob(naming.Backup.JobName(bs.Name, 0))
	pod := e.StartPod(job)
	e.SetPodStatus(pod, corev1.PodStatus{
		Phase:                 corev1.PodRunning,
		InitContainerStatuses: []corev1.ContainerStatus{testenv.Terminated("pvc-backup-0", 0, "Completed", "")},
		ContainerStatuses:     []corev1.ContainerStatus{{Name: "update-status-1", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}},
	})
	waitFor(e, bs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
	report(e, bs.Name, stashv1beta1.HostBackupStats{Hostname: "host-0", Phase: stashv1beta1.HostBackupSucceeded})
	waitFor(e, bs.Name, stashv1beta1.SessionSucceeded, stashv1beta1.ReasonCompleted)

	e.SetPodStatus(pod, corev1.PodStatus{
		Phase:                 corev1.PodSucceeded,
		InitContainerStatuses: []corev1.ContainerStatus{testenv.Terminated("pvc-backup-0", 0, "Completed", "")},
		ContainerStatuses:     []corev1.ContainerStatus{testenv.Terminated("update-status-1", 0, "Completed", "")},
	})
	e.Eventually("the last step to settle", func() error {
		var got stashv1beta1.BackupSession
		if err := e.Get(bs.Name, &got); err != nil {
			return err
		}
		if got.Status.Phase != stashv1beta1.SessionSucceeded {
			return fmt.Errorf("phase changed to %s", got.Status.Phase)
		}
		for _, st := range got.Status.Steps {
			if st.Phase != stashv1beta1.StepSucceeded || ptr.Deref(st.ExitCode, -1) != 0 {
				return fmt.Errorf("step %s: %s", st.Name, st.Phase)
			}
		}
		return nil
	})
}

// A Job the API server refuses for good fails its session at once with the
// API server's message, instead of leaving it without a phase, retried
// forever (and every later tick Skipped behind it).
func TestRefusedJobFailsTheSession(t *testing.T) {
	e := start(t, "pvc-backup.yaml")
	e.Apply("testdata/refused.yaml")
	bs := newSession(e, "refused", "refused-1")
	_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonJobCreationFailed)
	if err := testenv.ContainsAll(c.Message, "the API server refused the Job", "containerPort", "must be between 1 and 65535"); err != nil {
		t.Error(err)
	}
	if jobs := e.Jobs(); len(jobs) != 0 {
		t.Errorf("%d Jobs exist", len(jobs))
	}
}

// A Job whose storage Secret does not exist fails its session about a
// minute after the Job was created, naming the Secret, instead of waiting
// out the pod start timeout; the Job is stopped.
func TestMissingSecretFailsTheSessionFast(t *testing.T) {
	e := start(t, "pvc-backup.yaml")
	e.Apply("testdata/refused.yaml")
	bs := newSession(e, "no-secret", "no-secret-1")
	job := e.WaitForJob(naming.Backup.JobName(bs.Name, 0))
	pod := e.StartPod(job)
	e.SetPodStatus(pod, corev1.PodStatus{Phase: corev1.PodPending,
		InitContainerStatuses: []corev1.ContainerStatus{testenv.Waiting("pvc-backup-0", "PodInitializing")}})
	waitFor(e, bs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
	// The grace runs from the Job's creation (the API server's clock, in
	// whole seconds), which may be seconds after the test's clock started.
	e.Clock.SetTime(job.CreationTimestamp.Add(lifecycle.DefaultMissingSourceGrace + 2*time.Second))
	e.Poke(bs)
	_, c := waitFor(e, bs.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonVolumeSourceNotFound)
	if err := testenv.ContainsAll(c.Message, "the pod of Job "+job.Name+" cannot start", `Secret "no-such-secret" (volume "secret-volume") does not exist`); err != nil {
		t.Error(err)
	}
	waitSuspended(e, job.Name)
}
