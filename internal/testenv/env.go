package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/defaultcatalog"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/manifest"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
)

// The one harness of the controller tests. envtest has no
// kube-controller-manager and no kubelet, so a test plays them: it creates
// a Job's pod and writes the pod's and the Job's status itself, as they
// would (StartPod, SetPodStatus, FailJob).

// Image is the image of the default catalog's Functions in these tests.
const Image = "stash:test"

// ResolveOptions are the resolver options of the controllers under test.
var ResolveOptions = resolve.Options{Image: Image}

// Timeout bounds every wait for a controller.
const Timeout = 30 * time.Second

// Env is one test's world in the package's control plane: a namespace of
// its own, a client that reads the API server directly (what the test reads
// is what the API server has), and the fake clock its controllers read.
type Env struct {
	T         *testing.T
	Ctx       context.Context
	Client    client.Client
	Namespace string
	Clock     *clocktesting.FakeClock
}

// NewEnv makes t's namespace, named after the test, and a fake clock at now.
func NewEnv(t *testing.T, now time.Time) *Env {
	t.Helper()
	c, err := client.New(Shared(t).Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaceName(t)}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	return &Env{T: t, Ctx: context.Background(), Client: c, Namespace: ns.Name, Clock: clocktesting.NewFakeClock(now)}
}

// namespaceName is a namespace name unique to the test and readable.
func namespaceName(t *testing.T) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	return naming.Join(name[:min(len(name), 40)], hex.EncodeToString(b))
}

// StartManager runs a manager whose cache sees only the test's namespace,
// with what setup registers (given the fake clock), as o says, until the
// test ends or stop is called.
func (e *Env) StartManager(o ManagerOptions, setup func(mgr manager.Manager, clk clock.PassiveClock) error) (stop func()) {
	e.T.Helper()
	o.Namespace = e.Namespace
	return StartManager(e.T, o, func(mgr manager.Manager) error { return setup(mgr, e.Clock) })
}

// Start is what a controller test begins with: its namespace, a manager
// running what setup registers, the default catalog and the objects of the
// YAML files.
func Start(t *testing.T, setup func(mgr manager.Manager, clk clock.PassiveClock) error, files ...string) *Env {
	t.Helper()
	e := NewEnv(t, time.Now())
	e.StartManager(ManagerOptions{}, setup)
	e.InstallCatalog()
	for _, f := range files {
		e.Apply(f)
	}
	return e
}

// With is e for the subtest t, so that its failures stop t, not its parent.
func (e *Env) With(t *testing.T) *Env {
	sub := *e
	sub.T = t
	return &sub
}

// UpdateStatus writes the status of obj, read again by its name, after
// mutate changed it; a conflict (the controller wrote meanwhile) is retried.
func (e *Env) UpdateStatus(obj client.Object, mutate func()) {
	e.T.Helper()
	e.write(obj, mutate, func(o client.Object) error { return e.Client.Status().Update(e.Ctx, o) })
}

// write applies change to the current version of obj, read again by its
// name, and writes it with put; a conflict is retried.
func (e *Env) write(obj client.Object, change func(), put func(client.Object) error) {
	e.T.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := e.Get(obj.GetName(), obj); err != nil {
			return err
		}
		change()
		return put(obj)
	})
	if err != nil {
		e.T.Fatalf("write %T %s: %v", obj, obj.GetName(), err)
	}
}

// InstallCatalog creates the default Functions and Tasks; they are
// cluster-scoped, so a test that finds them from an earlier one keeps them.
func (e *Env) InstallCatalog() {
	e.T.Helper()
	fns, tasks, err := defaultcatalog.Load(Image)
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

// Create creates objects, namespaced ones in the test's namespace.
func (e *Env) Create(objs ...client.Object) {
	e.T.Helper()
	for _, obj := range objs {
		if !clusterScoped(obj) {
			obj.SetNamespace(e.Namespace)
		}
		if err := e.Client.Create(e.Ctx, obj); err != nil {
			e.T.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

// clusterScoped: the kinds of ours that have no namespace.
func clusterScoped(obj client.Object) bool {
	switch obj.(type) {
	case *stashv1beta1.Task, *stashv1beta1.Function:
		return true
	}
	return false
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
		if errors.Is(err, manifest.ErrUnknownKind) {
			// A built-in kind (a Secret, a claim the Job mounts).
			decoded, _, err = coreDecoder.Decode(doc.JSON, nil, nil)
		}
		if err != nil {
			e.T.Fatalf("%s document %d: %v", path, doc.Index, err)
		}
		obj := decoded.(client.Object)
		objs[obj.GetObjectKind().GroupVersionKind().Kind+"/"+obj.GetName()] = obj
	}
	return objs
}

// coreDecoder decodes the built-in kinds a test file may hold.
var coreDecoder = serializer.NewCodecFactory(kube.Scheme, serializer.EnableStrict).UniversalDeserializer()

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
func (e *Env) WaitForPhase(session interface {
	client.Object
	SessionStatus() *stashv1beta1.SessionStatus
}, phase stashv1beta1.SessionPhase, reason stashv1beta1.SessionReason) *metav1.Condition {
	e.T.Helper()
	var cond *metav1.Condition
	e.Eventually(fmt.Sprintf("%s is %s (%s)", session.GetName(), phase, reason), func() error {
		if err := e.Get(session.GetName(), session); err != nil {
			return err
		}
		st := session.SessionStatus()
		cond = apimeta.FindStatusCondition(st.Conditions, stashv1beta1.ConditionSucceeded)
		if st.Phase != phase || cond == nil || cond.Reason != string(reason) {
			return fmt.Errorf("phase %q, condition %+v", st.Phase, cond)
		}
		return nil
	})
	return cond
}

// Update applies change to the current version of obj, read again by its
// name, and writes it; a conflict is retried.
func (e *Env) Update(obj client.Object, change func()) {
	e.T.Helper()
	e.write(obj, change, func(o client.Object) error { return e.Client.Update(e.Ctx, o) })
}

// Exists reads obj by its name and reports whether it exists.
func (e *Env) Exists(obj client.Object) bool {
	e.T.Helper()
	err := e.Get(obj.GetName(), obj)
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		e.T.Fatal(err)
	}
	return true
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
	e.Update(obj, func() {
		obj.SetAnnotations(map[string]string{"test.stash.appscode.com/poke": time.Now().Format(time.RFC3339Nano)})
	})
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

// RunPod creates a running, ready pod labelled app=app on node, as a
// workload's controller and the kubelet would make it.
func (e *Env) RunPod(name, app, node string) *corev1.Pod {
	e.T.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: app, Image: "busybox"}}}}
	e.Create(pod)
	e.SetPodStatus(pod, corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}})
	return pod
}

// Schedule binds pod to node, as the scheduler does.
func (e *Env) Schedule(pod *corev1.Pod, node string) {
	e.T.Helper()
	binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		Target: corev1.ObjectReference{Kind: "Node", Name: node}}
	if err := e.Client.SubResource("binding").Create(e.Ctx, pod, binding); err != nil {
		e.T.Fatalf("bind pod %s to node %s: %v", pod.Name, node, err)
	}
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

// CompleteJob writes the Job's status as the Job controller does when its
// pod succeeded.
func (e *Env) CompleteJob(job *batchv1.Job) {
	e.T.Helper()
	e.UpdateStatus(job, func() {
		now := metav1.Now()
		if job.Status.StartTime == nil {
			job.Status.StartTime = &now
		}
		job.Status.CompletionTime, job.Status.Succeeded = &now, 1
		job.Status.Conditions = append(job.Status.Conditions,
			batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
			batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now})
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
