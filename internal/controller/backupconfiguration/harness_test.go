package backupconfiguration_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/backupconfiguration"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/testenv"
)

// How the envtest suite drives time
//
// Every test has its own namespace, its own fake clock and its own manager,
// whose cache sees only that namespace (Tasks and Functions, cluster-scoped,
// get names unique to the test). Tests therefore run in parallel without
// seeing each other's clocks.
//
// The controller asks to be woken at the next tick with RequeueAfter, which
// runs on the real clock; the tests do not wait for it. After advancing the
// fake clock a test "touches" the BackupConfiguration: it changes a field
// that means nothing (spec.retentionPolicy.name), which bumps the generation,
// and waits until status.observedGeneration reaches it. The controller writes
// the status after creating, skipping and replacing sessions, so once
// observedGeneration has caught up, that reconcile, run at the new fake time,
// has done its scheduling, and "nothing was created" can be asserted without
// sleeping. (History is pruned after the status write; the history test
// waits for the deletions themselves.)

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard()) // each manager logs to its test instead
	os.Exit(testenv.RunWithControlPlane(m))
}

// year is a year in the future: the fake clock must be later than the real
// creation time of the objects (ticks before a configuration's creation were
// never due), and January is winter in New York.
var year = time.Now().Year() + 1

// at is a time on January 10 of year, in UTC.
func at(hour, minute, second int) time.Time {
	return time.Date(year, time.January, 10, hour, minute, second, 0, time.UTC)
}

type harness struct {
	*testenv.Env
	t     *testing.T
	ns    string
	c     client.Client // uncached: what the test reads is what the API server has
	clock *clocktesting.FakeClock
	stop  func()
}

func newHarness(t *testing.T, now time.Time) *harness {
	t.Helper()
	testenv.Shared(t)
	t.Parallel()
	e := testenv.NewEnv(t, now)
	return &harness{Env: e, t: t, ns: e.Namespace, c: e.Client, clock: e.Clock}
}

// startManager runs a manager with the controller, as the operator's
// generated ClusterRole allows it only (a missing RBAC marker fails the
// tests), until stopManager or the end of the test.
func (h *harness) startManager() {
	h.t.Helper()
	h.stop = h.StartManager(testenv.ManagerOptions{AsOperator: true}, func(mgr manager.Manager, clk clock.PassiveClock) error {
		r := &backupconfiguration.Reconciler{Deps: deps.Deps{Clock: clk}}
		return r.SetupWithManager(mgr)
	})
}

func (h *harness) stopManager() { h.stop() }

func (h *harness) bc(name string) *stashv1beta1.BackupConfiguration {
	h.t.Helper()
	var bc stashv1beta1.BackupConfiguration
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: name}, &bc); err != nil {
		h.t.Fatal(err)
	}
	return &bc
}

// reconciled waits until the controller has reconciled the current spec of
// configuration name, and returns it.
func (h *harness) reconciled(name string) *stashv1beta1.BackupConfiguration {
	h.t.Helper()
	var bc *stashv1beta1.BackupConfiguration
	h.Eventually("reconcile of "+name, func() error {
		bc = h.bc(name)
		if bc.Status.ObservedGeneration != bc.Generation {
			return fmt.Errorf("observedGeneration %d, generation %d", bc.Status.ObservedGeneration, bc.Generation)
		}
		return nil
	})
	return bc
}

// touch makes the controller reconcile configuration name at the fake
// clock's current time, and waits for it.
func (h *harness) touch(name string) *stashv1beta1.BackupConfiguration {
	h.t.Helper()
	bc := &stashv1beta1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: name}}
	h.Update(bc, func() { bc.Spec.RetentionPolicy.Name = fmt.Sprintf("touched-%d", bc.Generation) })
	return h.reconciled(name)
}

// advance sets the fake clock and touches the configurations.
func (h *harness) advance(to time.Time, configurations ...string) {
	h.t.Helper()
	h.clock.SetTime(to)
	for _, name := range configurations {
		h.touch(name)
	}
}

// sessions returns the sessions of configuration name, by name.
func (h *harness) sessions(name string) map[string]stashv1beta1.BackupSession {
	h.t.Helper()
	var list stashv1beta1.BackupSessionList
	if err := h.c.List(context.Background(), &list, client.InNamespace(h.ns)); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]stashv1beta1.BackupSession{}
	for _, bs := range list.Items {
		if bs.Spec.Invoker.Kind == "BackupConfiguration" && bs.Spec.Invoker.Name == name {
			out[bs.Name] = bs
		}
	}
	return out
}

func (h *harness) sessionNames(name string) []string {
	h.t.Helper()
	var names []string
	for n := range h.sessions(name) {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (h *harness) session(name string) (*stashv1beta1.BackupSession, error) {
	var bs stashv1beta1.BackupSession
	err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: name}, &bs)
	return &bs, err
}

// tickNames are the session names of configuration name at the ticks, sorted.
func tickNames(name string, ticks ...time.Time) []string {
	var out []string
	for _, t := range ticks {
		out = append(out, naming.SessionName(name, t))
	}
	slices.Sort(out)
	return out
}

// catalog creates a Function and a one-step Task named after the test, and a
// Repository "repo"; it returns the Task's name.
func (h *harness) catalog() string {
	h.t.Helper()
	name := h.ns
	h.Create(&stashv1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: stashv1beta1.FunctionSpec{Image: "busybox", Args: []string{"echo", "${NAMESPACE}"}}})
	h.Create(&stashv1beta1.Task{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: stashv1beta1.TaskSpec{Steps: []stashv1beta1.FunctionRef{{Name: name}}}})
	h.t.Cleanup(func() {
		ctx := context.Background()
		_ = h.c.Delete(ctx, &stashv1beta1.Task{ObjectMeta: metav1.ObjectMeta{Name: name}})
		_ = h.c.Delete(ctx, &stashv1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
	h.Create(repository("repo"))
	h.Create(storageSecret("repo-secret"))
	return name
}

// storageSecret is a storage Secret with the repository password.
func storageSecret(name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"RESTIC_PASSWORD": "p"}}
}

func repository(name string) *stashv1alpha1.Repository {
	return &stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: stashv1alpha1.RepositorySpec{Backend: stashv1alpha1.Backend{
			StorageSecretName: "repo-secret", S3: &stashv1alpha1.S3Spec{Bucket: "backups"}}}}
}

// configuration is a BackupConfiguration of task into Repository "repo".
func configuration(name, task, schedule string, change func(*stashv1beta1.BackupConfigurationSpec)) *stashv1beta1.BackupConfiguration {
	bc := &stashv1beta1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
	bc.Spec.Task.Name = task
	bc.Spec.Schedule = schedule
	bc.Spec.Repository.Name = "repo"
	bc.Spec.RetentionPolicy = stashv1alpha1.RetentionPolicy{Name: "keep", KeepLast: 5}
	if change != nil {
		change(&bc.Spec)
	}
	return bc
}

// manualSession creates a session of configuration invoker by hand, as a
// user would (no labels, no owner), and gives it phase.
func (h *harness) manualSession(name, invoker string, phase stashv1beta1.SessionPhase, finished time.Time) *stashv1beta1.BackupSession {
	h.t.Helper()
	bs := &stashv1beta1.BackupSession{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: stashv1beta1.BackupSessionSpec{Invoker: stashv1beta1.BackupInvokerRef{
			APIGroup: "stash.appscode.com", Kind: "BackupConfiguration", Name: invoker}}}
	h.Create(bs)
	if phase != "" {
		h.setPhase(bs, phase, finished)
	}
	return bs
}

// setPhase writes a session's phase as the session controller would; a
// final phase gets a Succeeded condition that changed at finished, and a
// started session records its one host and that host's Job.
func (h *harness) setPhase(bs *stashv1beta1.BackupSession, phase stashv1beta1.SessionPhase, finished time.Time) {
	h.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(bs), bs); err != nil {
			return err
		}
		bs.Status.Phase = phase
		if len(bs.Status.Hosts) == 0 {
			bs.Status.Hosts = []stashv1beta1.HostStatus{{Name: "host-0", Job: naming.Backup.JobName(bs.Name, 0)}}
		}
		status, reason := metav1.ConditionUnknown, stashv1beta1.ReasonRunning
		switch phase {
		case stashv1beta1.SessionSucceeded:
			status, reason = metav1.ConditionTrue, stashv1beta1.ReasonCompleted
		case stashv1beta1.SessionFailed:
			status, reason = metav1.ConditionFalse, stashv1beta1.ReasonStepFailed
		case stashv1beta1.SessionSkipped:
			status, reason = metav1.ConditionFalse, stashv1beta1.ReasonConcurrentSessionRunning
		}
		bs.Status.Conditions = []metav1.Condition{{Type: stashv1beta1.ConditionSucceeded, Status: status, Reason: string(reason),
			Message: string(phase), LastTransitionTime: metav1.NewTime(finished)}}
		return h.c.Status().Update(context.Background(), bs)
	})
	if err != nil {
		h.t.Fatalf("set phase of %s: %v", bs.Name, err)
	}
}

// jobOf creates the Job that the session's status names for host 0,
// controlled by the session when controlled is true.
func (h *harness) jobOf(bs *stashv1beta1.BackupSession, controlled bool) *batchv1.Job {
	h.t.Helper()
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: bs.Status.Hosts[0].Job},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "backup", Image: "busybox"}}}}}}
	if controlled {
		job.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(bs, stashv1beta1.GroupVersion.WithKind("BackupSession"))}
	}
	h.Create(job)
	return job
}
