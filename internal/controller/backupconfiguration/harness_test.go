package backupconfiguration_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/backupconfiguration"
	"github.com/stash-operator/stash/internal/kube"
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
	t     *testing.T
	ns    string
	c     client.Client // uncached: what the test reads is what the API server has
	clock *clocktesting.FakeClock
	stop  func()
}

func newHarness(t *testing.T, now time.Time) *harness {
	t.Helper()
	cp := testenv.Shared(t)
	t.Parallel()
	c, err := client.New(cp.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, c: c, clock: clocktesting.NewFakeClock(now), ns: namespaceName(t)}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.ns}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	return h
}

func namespaceName(t *testing.T) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	return naming.Join(name[:min(len(name), 40)], hex.EncodeToString(b))
}

// startManager runs a manager with the controller until stopManager or the
// end of the test.
func (h *harness) startManager() {
	h.t.Helper()
	mgr, err := ctrl.NewManager(operatorConfig(h.t), ctrl.Options{
		Scheme:                 kube.Scheme,
		Logger:                 testr.New(h.t),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{h.ns: {}}},
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	r := &backupconfiguration.Reconciler{Client: mgr.GetClient(), Clock: h.clock, Recorder: mgr.GetEventRecorder("stash-test")}
	if err := r.SetupWithManager(mgr); err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	h.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("manager: %v", err)
		}
	}
	h.t.Cleanup(h.stop)
}

func (h *harness) stopManager() { h.stop() }

// eventually retries check until it returns nil, failing after 30 s with
// its last error.
func (h *harness) eventually(what string, check func() error) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *harness) create(obj client.Object) {
	h.t.Helper()
	if obj.GetNamespace() == "" && !clusterScoped(obj) {
		obj.SetNamespace(h.ns)
	}
	if err := h.c.Create(context.Background(), obj); err != nil {
		h.t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

func clusterScoped(obj client.Object) bool {
	switch obj.(type) {
	case *stashv1beta1.Task, *stashv1beta1.Function:
		return true
	}
	return false
}

// update applies change to the current version of obj, retrying on conflict.
func (h *harness) update(obj client.Object, change func()) {
	h.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		change()
		return h.c.Update(context.Background(), obj)
	})
	if err != nil {
		h.t.Fatalf("update %T %s: %v", obj, obj.GetName(), err)
	}
}

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
	h.eventually("reconcile of "+name, func() error {
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
	h.update(bc, func() { bc.Spec.RetentionPolicy.Name = fmt.Sprintf("touched-%d", bc.Generation) })
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

func (h *harness) exists(obj client.Object) bool {
	h.t.Helper()
	err := h.c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return true
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
	h.create(&stashv1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: stashv1beta1.FunctionSpec{Image: "busybox", Args: []string{"echo", "${NAMESPACE}"}}})
	h.create(&stashv1beta1.Task{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: stashv1beta1.TaskSpec{Steps: []stashv1beta1.FunctionRef{{Name: name}}}})
	h.t.Cleanup(func() {
		ctx := context.Background()
		_ = h.c.Delete(ctx, &stashv1beta1.Task{ObjectMeta: metav1.ObjectMeta{Name: name}})
		_ = h.c.Delete(ctx, &stashv1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
	h.create(repository("repo"))
	return name
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
func (h *harness) manualSession(name, invoker string, phase stashv1beta1.BackupSessionPhase, finished time.Time) *stashv1beta1.BackupSession {
	h.t.Helper()
	bs := &stashv1beta1.BackupSession{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: stashv1beta1.BackupSessionSpec{Invoker: stashv1beta1.BackupInvokerRef{
			APIGroup: "stash.appscode.com", Kind: "BackupConfiguration", Name: invoker}}}
	h.create(bs)
	if phase != "" {
		h.setPhase(bs, phase, finished)
	}
	return bs
}

// setPhase writes a session's phase as the session controller would; a
// final phase gets a Succeeded condition that changed at finished.
func (h *harness) setPhase(bs *stashv1beta1.BackupSession, phase stashv1beta1.BackupSessionPhase, finished time.Time) {
	h.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(bs), bs); err != nil {
			return err
		}
		bs.Status.Phase = phase
		status, reason := metav1.ConditionUnknown, stashv1beta1.ReasonRunning
		switch phase {
		case stashv1beta1.BackupSessionSucceeded:
			status, reason = metav1.ConditionTrue, stashv1beta1.ReasonCompleted
		case stashv1beta1.BackupSessionFailed:
			status, reason = metav1.ConditionFalse, stashv1beta1.ReasonStepFailed
		case stashv1beta1.BackupSessionSkipped:
			status, reason = metav1.ConditionFalse, stashv1beta1.ReasonSkipped
		}
		bs.Status.Conditions = []metav1.Condition{{Type: stashv1beta1.ConditionSucceeded, Status: status, Reason: reason,
			Message: string(phase), LastTransitionTime: metav1.NewTime(finished)}}
		return h.c.Status().Update(context.Background(), bs)
	})
	if err != nil {
		h.t.Fatalf("set phase of %s: %v", bs.Name, err)
	}
}

// The manager runs as a user that has exactly the permissions of the
// kubebuilder RBAC markers in reconciler.go: a missing marker fails the tests.
const operatorUser = "stash-backupconfiguration-test"

var (
	rbacOnce sync.Once
	rbacErr  error
)

// operatorConfig is the control plane's config, impersonating operatorUser,
// whose ClusterRole is built from the markers.
func operatorConfig(t *testing.T) *rest.Config {
	t.Helper()
	cp := testenv.Shared(t)
	rbacOnce.Do(func() { rbacErr = grantMarkers(cp.Config) })
	if rbacErr != nil {
		t.Fatal(rbacErr)
	}
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: operatorUser}
	return cfg
}

var rbacMarker = regexp.MustCompile(`(?m)^// \+kubebuilder:rbac:groups=([^,]*),resources=([^,]+),verbs=(\S+)$`)

func grantMarkers(cfg *rest.Config) error {
	src, err := os.ReadFile("reconciler.go")
	if err != nil {
		return err
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: operatorUser}}
	for _, m := range rbacMarker.FindAllStringSubmatch(string(src), -1) {
		role.Rules = append(role.Rules, rbacv1.PolicyRule{
			APIGroups: strings.Split(m[1], ";"), Resources: strings.Split(m[2], ";"), Verbs: strings.Split(m[3], ";")})
	}
	if len(role.Rules) == 0 {
		return fmt.Errorf("no kubebuilder:rbac markers found in reconciler.go")
	}
	c, err := client.New(cfg, client.Options{Scheme: kube.Scheme})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := c.Create(ctx, role); err != nil {
		return fmt.Errorf("create ClusterRole from the RBAC markers: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: operatorUser},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: operatorUser},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: operatorUser}}}
	if err := c.Create(ctx, binding); err != nil {
		return fmt.Errorf("bind the ClusterRole of the RBAC markers: %w", err)
	}
	return nil
}
