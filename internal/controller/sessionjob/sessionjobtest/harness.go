// Package sessionjobtest runs the session controllers against the envtest
// control plane, with what envtest lacks played by the test: there is no
// kube-controller-manager and no kubelet, so the test creates the Job's pod
// and writes the pod's and the Job's status itself, as they would.
package sessionjobtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/config"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/catalog"
	"github.com/stash-operator/stash/internal/controller/sessionjob"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/manifest"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/testenv"
)

// Image is the image of the default catalog's Functions in these tests.
const Image = "stash:test"

// Options are the resolver options of the controllers under test.
var Options = resolve.Options{Image: Image}

// Timeout bounds every wait for the controller.
const Timeout = 20 * time.Second

// Env is one test's world: its own namespace, a client that reads the API
// server directly, a manager running the controller under test, and the
// fake clock the controller reads.
type Env struct {
	T         *testing.T
	Ctx       context.Context
	Client    client.Client
	Namespace string
	Clock     *clocktesting.FakeClock
}

// Start makes a namespace and runs a manager whose cache sees only it, with
// the controllers setup registers (given the fake clock). The manager stops
// when the test ends.
func Start(t *testing.T, setup func(mgr ctrl.Manager, clk clock.PassiveClock) error) *Env {
	t.Helper()
	cp := testenv.Shared(t)
	c, err := client.New(cp.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := &testLog{t: t}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "session-"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, Ctx: ctx, Client: c, Namespace: ns.Name, Clock: clocktesting.NewFakeClock(time.Now())}

	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{
		Scheme:                 kube.Scheme,
		Logger:                 log.logger(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns.Name: {}}},
		// Every test registers the same controller names in its own manager.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := setup(mgr, e.Clock); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
		log.close()
	})
	return e
}

// testLog shows the manager's log with the test's output until the test
// ends; what the manager's goroutines log afterwards is dropped (t.Log
// would panic).
type testLog struct {
	mu     sync.Mutex
	t      *testing.T
	closed bool
}

func (l *testLog) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if !l.closed {
			l.t.Log(prefix, args)
		}
	}, funcr.Options{})
}

func (l *testLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
}

// With is e for the subtest t, so that its failures stop t, not its parent.
func (e *Env) With(t *testing.T) *Env {
	sub := *e
	sub.T = t
	return &sub
}

// StartController is Start for a session controller: setup registers it
// with a Runner that has the fake clock and Options. The default catalog
// and the objects of the YAML files are installed.
func StartController(t *testing.T, setup func(ctrl.Manager, sessionjob.Runner) error, files ...string) *Env {
	t.Helper()
	e := Start(t, func(mgr ctrl.Manager, clk clock.PassiveClock) error {
		return setup(mgr, sessionjob.Runner{Clock: clk, ResolveOptions: Options})
	})
	e.InstallCatalog()
	for _, f := range files {
		e.Apply(f)
	}
	return e
}

// UpdateStatus writes the status of obj, read again by its name, after
// mutate changed it; a conflict (the controller wrote meanwhile) is retried.
func (e *Env) UpdateStatus(obj client.Object, mutate func()) {
	e.T.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.Get(obj.GetName(), obj); err != nil {
			return err
		}
		mutate()
		return e.Client.Status().Update(e.Ctx, obj)
	})
	if err != nil {
		e.T.Fatalf("write the status of %T %s: %v", obj, obj.GetName(), err)
	}
}

// InstallCatalog creates the default Functions and Tasks; they are
// cluster-scoped, so a test that finds them from an earlier one keeps them.
func (e *Env) InstallCatalog() {
	e.T.Helper()
	fns, tasks, err := catalog.Load(Image)
	if err != nil {
		e.T.Fatal(err)
	}
	for _, fn := range fns {
		e.CreateIfMissing(fn)
	}
	for _, task := range tasks {
		e.CreateIfMissing(task)
	}
}

// CreateIfMissing creates obj unless one of its name exists.
func (e *Env) CreateIfMissing(obj client.Object) {
	e.T.Helper()
	if err := e.Client.Create(e.Ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
		e.T.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// Create creates namespaced objects in the test's namespace.
func (e *Env) Create(objs ...client.Object) {
	e.T.Helper()
	for _, obj := range objs {
		obj.SetNamespace(e.Namespace)
		if err := e.Client.Create(e.Ctx, obj); err != nil {
			e.T.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

// Apply creates the objects of the YAML file path: namespaced ones in the
// test's namespace, cluster-scoped ones (Tasks, Functions) if missing. It
// returns them by "Kind/name".
func (e *Env) Apply(path string) map[string]client.Object {
	e.T.Helper()
	objs := e.Load(path)
	for _, obj := range objs {
		switch obj.(type) {
		case *stashv1beta1.Task, *stashv1beta1.Function:
			e.CreateIfMissing(obj)
		default:
			e.Create(obj)
		}
	}
	return objs
}

// Load reads the objects of the YAML file path, by "Kind/name".
func (e *Env) Load(path string) map[string]client.Object {
	e.T.Helper()
	f, err := os.Open(path)
	if err != nil {
		e.T.Fatal(err)
	}
	defer f.Close()
	docs, err := manifest.Split(f)
	if err != nil {
		e.T.Fatalf("%s: %v", path, err)
	}
	objs := map[string]client.Object{}
	for _, doc := range docs {
		decoded, err := manifest.Decode(doc.JSON)
		if err != nil {
			e.T.Fatalf("%s document %d: %v", path, doc.Index, err)
		}
		obj := decoded.(client.Object)
		objs[obj.GetObjectKind().GroupVersionKind().Kind+"/"+obj.GetName()] = obj
	}
	return objs
}

// Get reads name in the test's namespace into obj.
func (e *Env) Get(name string, obj client.Object) error {
	return e.Client.Get(e.Ctx, client.ObjectKey{Namespace: e.Namespace, Name: name}, obj)
}

// Eventually retries check until it returns nil, and fails the test with
// its last error after Timeout.
func (e *Env) Eventually(what string, check func() error) {
	e.T.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.T.Fatalf("%s: still not so after %s: %v", what, Timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Consistently fails the test if check returns an error within d.
func (e *Env) Consistently(what string, d time.Duration, check func() error) {
	e.T.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if err := check(); err != nil {
			e.T.Fatalf("%s: %v", what, err)
		}
	}
}

// WaitForPhase waits until session, read again by its name, is in phase
// with the Succeeded condition's reason, and returns that condition.
// session is a BackupSession or RestoreSession: their statuses share phase
// and conditions.
func (e *Env) WaitForPhase(session client.Object, phase, reason string) *metav1.Condition {
	e.T.Helper()
	var cond *metav1.Condition
	e.Eventually(fmt.Sprintf("%s is %s (%s)", session.GetName(), phase, reason), func() error {
		if err := e.Get(session.GetName(), session); err != nil {
			return err
		}
		var st struct {
			Status struct {
				Phase      string             `json:"phase"`
				Conditions []metav1.Condition `json:"conditions"`
			} `json:"status"`
		}
		js, err := json.Marshal(session)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(js, &st); err != nil {
			return err
		}
		cond = apimeta.FindStatusCondition(st.Status.Conditions, stashv1beta1.ConditionSucceeded)
		if st.Status.Phase != phase || cond == nil || cond.Reason != reason {
			return fmt.Errorf("phase %q, condition %+v", st.Status.Phase, cond)
		}
		return nil
	})
	return cond
}

// Jobs lists the Jobs of the test's namespace.
func (e *Env) Jobs() []batchv1.Job {
	e.T.Helper()
	var list batchv1.JobList
	if err := e.Client.List(e.Ctx, &list, client.InNamespace(e.Namespace)); err != nil {
		e.T.Fatal(err)
	}
	return list.Items
}

// CheckJob checks that the namespace has one Job, want as the API server
// stored it (with defaults added, nothing changed), and returns it.
func (e *Env) CheckJob(want *batchv1.Job) *batchv1.Job {
	e.T.Helper()
	jobs := e.Jobs()
	if len(jobs) != 1 {
		e.T.Fatalf("%d Jobs, want 1", len(jobs))
	}
	got := &jobs[0]
	wantSpec, gotSpec, err := SetFields(want.Spec, got.Spec)
	if err != nil {
		e.T.Fatal(err)
	}
	if diff := cmp.Diff(wantSpec, gotSpec); diff != "" {
		e.T.Errorf("Job spec (-resolved +created):\n%s", diff)
	}
	if diff := cmp.Diff(want.ObjectMeta, got.ObjectMeta, cmpopts.IgnoreFields(metav1.ObjectMeta{},
		"UID", "ResourceVersion", "Generation", "CreationTimestamp", "ManagedFields")); diff != "" {
		e.T.Errorf("Job metadata (-resolved +created):\n%s", diff)
	}
	return got
}

// CheckAccount checks the ServiceAccount, Role and RoleBinding named
// account: owned by owner, the Role with exactly rules, bound to the
// account. It returns their resourceVersions by kind.
func (e *Env) CheckAccount(account string, owner client.Object, rules []rbacv1.PolicyRule) map[string]string {
	e.T.Helper()
	gvk, err := apiutil.GVKForObject(owner, kube.Scheme)
	if err != nil {
		e.T.Fatal(err)
	}
	wantOwner := []metav1.OwnerReference{{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: owner.GetName(), UID: owner.GetUID()}}
	objs := map[string]client.Object{"ServiceAccount": &corev1.ServiceAccount{}, "Role": &rbacv1.Role{}, "RoleBinding": &rbacv1.RoleBinding{}}
	versions := map[string]string{}
	for kind, obj := range objs {
		if err := e.Get(account, obj); err != nil {
			e.T.Fatalf("%s %s: %v", kind, account, err)
		}
		if diff := cmp.Diff(wantOwner, obj.GetOwnerReferences()); diff != "" {
			e.T.Errorf("%s owner (-want +got):\n%s", kind, diff)
		}
		versions[kind] = obj.GetResourceVersion()
	}
	if diff := cmp.Diff(rules, objs["Role"].(*rbacv1.Role).Rules); diff != "" {
		e.T.Errorf("Role rules (-want +got):\n%s", diff)
	}
	binding := objs["RoleBinding"].(*rbacv1.RoleBinding)
	wantRef := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: account}
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: account, Namespace: e.Namespace}}
	if diff := cmp.Diff(wantRef, binding.RoleRef); diff != "" {
		e.T.Errorf("roleRef (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantSubjects, binding.Subjects); diff != "" {
		e.T.Errorf("subjects (-want +got):\n%s", diff)
	}
	return versions
}

// WaitForJob waits until the Job name exists and returns it.
func (e *Env) WaitForJob(name string) *batchv1.Job {
	e.T.Helper()
	var job batchv1.Job
	e.Eventually("Job "+name+" exists", func() error { return e.Get(name, &job) })
	return &job
}

// Poke changes an annotation of obj so that its controller reconciles it
// now: after the fake clock moved, for example, nothing else would.
func (e *Env) Poke(obj client.Object) {
	e.T.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.Get(obj.GetName(), obj); err != nil {
			return err
		}
		obj.SetAnnotations(map[string]string{"test.stash.appscode.com/poke": time.Now().Format(time.RFC3339Nano)})
		return e.Client.Update(e.Ctx, obj)
	})
	if err != nil {
		e.T.Fatal(err)
	}
}

// StartPod creates the pod of job as the Job controller would: the
// template's labels plus the job-name labels, controlled by the Job.
func (e *Env) StartPod(job *batchv1.Job) *corev1.Pod {
	e.T.Helper()
	labels := map[string]string{batchv1.JobNameLabel: job.Name, "job-name": job.Name}
	for k, v := range job.Spec.Template.Labels {
		labels[k] = v
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: job.Name + "-", Namespace: job.Namespace, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	if err := e.Client.Create(e.Ctx, pod); err != nil {
		e.T.Fatalf("create the pod of Job %s: %v", job.Name, err)
	}
	return pod
}

// SetPodStatus writes the pod's status as the kubelet would.
func (e *Env) SetPodStatus(pod *corev1.Pod, status corev1.PodStatus) {
	e.T.Helper()
	e.UpdateStatus(pod, func() { pod.Status = status })
}

// FailJob writes the Job's status as the Job controller does when a Job
// fails for reason: FailureTarget first, then Failed.
func (e *Env) FailJob(job *batchv1.Job, reason, message string) {
	e.T.Helper()
	e.UpdateStatus(job, func() {
		now := metav1.Now()
		if job.Status.StartTime == nil {
			job.Status.StartTime = &now
		}
		job.Status.Failed = 1
		job.Status.Conditions = append(job.Status.Conditions,
			batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: reason, Message: message, LastTransitionTime: now, LastProbeTime: now},
			batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: message, LastTransitionTime: now, LastProbeTime: now})
	})
}

// Terminated is a container status of a container that ended with code.
func Terminated(name string, code int32, reason, message string) corev1.ContainerStatus {
	now := metav1.Now()
	return corev1.ContainerStatus{Name: name, Image: Image, ImageID: "docker.io/library/stash@sha256:0", ContainerID: "containerd://" + name,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: reason, Message: message, StartedAt: now, FinishedAt: now, ContainerID: "containerd://" + name}}}
}

// Waiting is a container status of a container that did not start.
func Waiting(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Image: Image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

// SetFields returns want and got as JSON trees, got reduced to the fields
// that want sets (list elements by index): what the API server added as
// defaults (a selector, dnsPolicy, terminationMessagePath...) falls away,
// and cmp.Diff of the two shows every field where the stored object is not
// what was created.
func SetFields(want, got any) (wantFields, gotFields any, err error) {
	tree := func(v any) (any, error) {
		js, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		var t any
		return t, json.Unmarshal(js, &t)
	}
	if wantFields, err = tree(want); err != nil {
		return nil, nil, err
	}
	if gotFields, err = tree(got); err != nil {
		return nil, nil, err
	}
	return wantFields, prune(wantFields, gotFields), nil
}

func prune(want, got any) any {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return got
		}
		out := map[string]any{}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				out[k] = prune(wv, gv)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return got
		}
		out := make([]any, len(g))
		for i := range g {
			out[i] = prune(w[i], g[i])
		}
		return out
	}
	return got
}

// Events lists the Events about the object name, oldest first, as
// "type reason: note".
func (e *Env) Events(name string) ([]string, error) {
	var list eventsv1.EventList
	if err := e.Client.List(e.Ctx, &list, client.InNamespace(e.Namespace)); err != nil {
		return nil, err
	}
	var out []string
	for _, ev := range list.Items {
		if ev.Regarding.Name == name {
			out = append(out, fmt.Sprintf("%s %s: %s", ev.Type, ev.Reason, ev.Note))
		}
	}
	return out, nil
}

// WaitForEvent waits for an Event about name whose text contains want.
func (e *Env) WaitForEvent(name, want string) {
	e.T.Helper()
	e.Eventually("an Event about "+name+" with "+want, func() error {
		events, err := e.Events(name)
		if err != nil {
			return err
		}
		for _, ev := range events {
			if strings.Contains(ev, want) {
				return nil
			}
		}
		return fmt.Errorf("events: %q", events)
	})
}

// Metric is the value of the operator's metric name with labels: a
// counter's or a gauge's value, a histogram's number of observations; 0
// when there is no such series.
func Metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// ContainsAll reports which of wants s lacks.
func ContainsAll(s string, wants ...string) error {
	var missing []error
	for _, w := range wants {
		if !strings.Contains(s, w) {
			missing = append(missing, fmt.Errorf("no %q", w))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%q: %w", s, errors.Join(missing...))
	}
	return nil
}
