package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/inputs"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/session"
)

// Readers are the two ways to read the cluster. Cached is the manager's
// informer cache: cheap, but it may not yet hold an object created a moment
// ago. Direct reads the API server. Verdicts that cannot be taken back
// (InvokerNotFound, JobCreationFailed, JobDeleted) are confirmed with Direct
// before they are given, so that a lagging cache never fails a session.
type Readers struct {
	Cached client.Reader
	Direct client.Reader
}

// GetConfirmed gets key into obj, and reports whether it exists.
func (r Readers) GetConfirmed(ctx context.Context, key client.ObjectKey, obj client.Object) (bool, error) {
	err := r.Cached.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) {
		err = r.Direct.Get(ctx, key, obj)
	}
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %T %s: %w", obj, key, err)
	}
	return true, nil
}

// Observe returns the session's Job, named job, and the newest of its pods.
// The Job is nil when it does not exist, or when the Job of that name is
// not the session's (one left by an earlier session of the same name that
// the garbage collector has not removed yet); the pod is nil before it
// exists.
func (r Readers) Observe(ctx context.Context, namespace, job string, session types.UID) (*batchv1.Job, *corev1.Pod, error) {
	var j batchv1.Job
	found, err := r.GetConfirmed(ctx, client.ObjectKey{Namespace: namespace, Name: job}, &j)
	if err != nil || !found || !controlledBy(&j, session) {
		return nil, nil, err
	}
	var pods corev1.PodList
	if err := r.Cached.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{batchv1.JobNameLabel: job}); err != nil {
		return nil, nil, fmt.Errorf("list pods of Job %s/%s: %w", namespace, job, err)
	}
	var newest *corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if !controlledBy(p, j.UID) {
			continue
		}
		if newest == nil || newest.CreationTimestamp.Before(&p.CreationTimestamp) ||
			(newest.CreationTimestamp.Equal(&p.CreationTimestamp) && newest.Name < p.Name) {
			newest = p
		}
	}
	return &j, newest, nil
}

func controlledBy(obj metav1.Object, owner types.UID) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == owner
}

// +kubebuilder:rbac:groups="",resources=secrets;configmaps;persistentvolumeclaims,verbs=get

// MissingSources names the volume sources of a pod that do not exist in
// namespace: the Secrets, ConfigMaps (both unless optional) and claims its
// volumes name, as `Secret "x" (volume "y")`. Only their metadata is read,
// from the API server (the operator caches none of them).
func (r Readers) MissingSources(ctx context.Context, pod *corev1.PodSpec, namespace string) ([]string, error) {
	var missing []string
	for _, v := range pod.Volumes {
		var kind, name string
		switch {
		case v.Secret != nil && !ptr.Deref(v.Secret.Optional, false):
			kind, name = "Secret", v.Secret.SecretName
		case v.ConfigMap != nil && !ptr.Deref(v.ConfigMap.Optional, false):
			kind, name = "ConfigMap", v.ConfigMap.Name
		case v.PersistentVolumeClaim != nil:
			kind, name = "PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName
		default:
			continue
		}
		meta := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: kind}}
		err := r.Direct.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, meta)
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, fmt.Sprintf("%s %q (volume %q)", kind, name, v.Name))
		case err != nil:
			return nil, fmt.Errorf("look for %s %s/%s of volume %q: %w", kind, namespace, name, v.Name, err)
		}
	}
	return missing, nil
}

// Credentials are the Secrets the Jobs of a database target read (its
// AppBinding's, inputs.Credentials), and why each that does not allow the
// AppBinding is refused. A Secret that does not exist is among the names:
// its Function then says it is not found.
func (r Readers) Credentials(ctx context.Context, namespace string, ref stashv1beta1.TargetRef) (names, refused []string, err error) {
	if ref.Kind != "AppBinding" {
		return nil, nil, nil
	}
	var ab appcatalogv1alpha1.AppBinding
	if err := r.Direct.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &ab); err != nil {
		return nil, nil, client.IgnoreNotFound(fmt.Errorf("get AppBinding %s/%s: %w", namespace, ref.Name, err))
	}
	creds, err := inputs.Credentials(ctx, r.Direct, &ab)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range creds {
		names = append(names, c.Secret)
		if c.Refused != nil {
			refused = append(refused, c.Refused.Error())
		}
	}
	return names, refused, nil
}

// JobRefused is the verdict on a session whose Job the API server refused
// for good: invalid, or forbidden by an admission policy. Retrying cannot
// help, and a session left without a phase would, under concurrencyPolicy
// Forbid, make every later tick skip. A quota that is exceeded for now is
// not final: it is retried.
func JobRefused(err error) (session.Verdict, bool) {
	final := apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) ||
		(apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "exceeded quota"))
	if !final {
		return session.Verdict{}, false
	}
	return session.Failed(stashv1beta1.ReasonJobCreationFailed, "the API server refused the Job: "+err.Error()), true
}

// createOwned creates an object of the session's host (its Job, its interim
// claim). Its name is the session's, so a second create (a retry, a
// restarted operator) finds the first and is a success; an object of that
// name that another object controls is an error until it is gone.
func createOwned(ctx context.Context, c client.Client, direct client.Reader, obj client.Object) error {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	owner := metav1.GetControllerOf(obj)
	switch err := c.Create(ctx, obj.DeepCopyObject().(client.Object)); {
	case err == nil:
		return nil
	case !apierrors.IsAlreadyExists(err):
		return fmt.Errorf("create %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
	}
	existing := obj.DeepCopyObject().(client.Object)
	if err := direct.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
		return fmt.Errorf("get existing %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
	}
	if owner == nil || !controlledBy(existing, owner.UID) {
		return fmt.Errorf("a %s %s/%s already exists and belongs to another object; waiting for it to be deleted", kind, obj.GetNamespace(), obj.GetName())
	}
	return nil
}

// Resolved is a Job ready to create, with what the session's status and
// RBAC need from the resolution.
type Resolved struct {
	*resolve.Result
	// Steps are the Job's steps before it runs, with their Functions.
	Steps []stashv1beta1.StepStatus
	// Repository is the name of the Repository the Job writes to.
	Repository string
}

// Resolve reads the Tasks, Functions and the Repository that invoker names
// and resolves the Job of host of session s. Problems the user must fix
// come back as resolve.Errors; they are confirmed against the API server
// first.
func (r Readers) Resolve(ctx context.Context, invoker client.Object, s Session, host resolve.Host, opts resolve.Options) (*Resolved, error) {
	res, err := resolveWith(ctx, r.Cached, invoker, s, host, opts)
	var problems resolve.Errors
	if errors.As(err, &problems) {
		res, err = resolveWith(ctx, r.Direct, invoker, s, host, opts)
	}
	return res, err
}

func resolveWith(ctx context.Context, c client.Reader, invoker client.Object, s Session, host resolve.Host, opts resolve.Options) (*Resolved, error) {
	refs := resolve.RefsOf(invoker)
	cat, err := inputs.Catalog(ctx, c)
	if err != nil {
		return nil, err
	}
	repo, err := inputs.Repository(ctx, c, s.GetNamespace(), refs.Repository)
	if err != nil {
		return nil, err
	}
	res, err := resolve.Session(cat, invoker, s, repo, host, opts)
	if err != nil {
		return nil, err
	}
	var stepNames []string
	if t := cat.Tasks[res.Task]; t != nil {
		for _, s := range t.Spec.Steps {
			stepNames = append(stepNames, s.Name)
		}
	}
	spec := res.Job.Spec.Template.Spec
	return &Resolved{Result: res, Steps: session.Steps(spec, session.StepFunctions(spec, stepNames), nil),
		Repository: repo.Name}, nil
}

// ResolveFailure is the verdict on a resolution that found problems the
// user must fix: the session fails with every problem, one per line. Other
// errors (the API server did not answer) are not verdicts: retry them.
func ResolveFailure(err error) (session.Verdict, bool) {
	var problems resolve.Errors
	if !errors.As(err, &problems) {
		return session.Verdict{}, false
	}
	return session.Failed(stashv1beta1.ReasonJobCreationFailed, "the Job cannot be created:\n"+err.Error()), true
}

// limited: the Runner holds the kind's Jobs to MaxRunningJobs.
func (r *Runner) limited() bool { return r.MaxRunningJobs > 0 && r.kind.Waiting != nil }

// slots is how many Jobs s may create now under MaxRunningJobs (package
// session, Slots), from the cache: the kind's Jobs that run and its
// sessions that wait.
func (r *Runner) slots(ctx context.Context, s Session) (int, string, error) {
	running, waiting, err := r.queue(ctx)
	if err != nil {
		return 0, "", err
	}
	self := session.Waiter{Created: s.GetCreationTimestamp().Time, Namespace: s.GetNamespace(), Name: s.GetName()}
	slots, why := session.Slots(r.MaxRunningJobs, running, waiting, self)
	return slots, why, nil
}

// queue is, from the cache, how many of the kind's Jobs run and which of
// its sessions wait for one.
func (r *Runner) queue(ctx context.Context) (int, []session.Waiter, error) {
	var jobs batchv1.JobList
	if err := r.Client.List(ctx, &jobs, client.MatchingLabels{naming.ComponentLabel: r.kind.Naming.Component}, client.UnsafeDisableDeepCopy); err != nil {
		return 0, nil, fmt.Errorf("list the running %s Jobs: %w", r.kind.Naming.Component, err)
	}
	running := 0
	for i := range jobs.Items {
		if jobRuns(&jobs.Items[i]) {
			running++
		}
	}
	waiting, err := r.kind.Waiting(ctx, r.Client)
	return running, waiting, err
}

// jobRuns: the Job neither ended nor is suspended.
func jobRuns(job *batchv1.Job) bool {
	if ptr.Deref(job.Spec.Suspend, false) {
		return false
	}
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return false
		}
	}
	return true
}

// QueuedHosts is how many of hosts wait for a Job; a session not planned
// yet (no hosts) counts as one.
func QueuedHosts(hosts []stashv1beta1.HostStatus) int {
	if len(hosts) == 0 {
		return 1
	}
	return queuedCount(hosts)
}
