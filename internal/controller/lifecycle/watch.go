package lifecycle

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/session"
)

// register registers a session controller named name: it reconciles the
// sessions of kind, the Jobs they control, and the pods of those Jobs,
// which carry the kind's invoker-kind label. A pod's status (a step that
// ends, an image that cannot be pulled) changes long before its Job's does.
func register(mgr ctrl.Manager, name string, kind Kind, r reconcile.Reconciler, wake handler.MapFunc) error {
	session := kind.New()
	gvk, err := apiutil.GVKForObject(session, mgr.GetScheme())
	if err != nil {
		return fmt.Errorf("set up controller %s: %w", name, err)
	}
	jobPods := predicate.NewPredicateFuncs(func(obj client.Object) bool {
		l := obj.GetLabels()
		return l[naming.InvokerKindLabel] == kind.InvokerKind && l[batchv1.JobNameLabel] != ""
	})
	b := ctrl.NewControllerManagedBy(mgr).
		Named(name).
		For(session).
		Owns(&batchv1.Job{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podToSession(mgr.GetClient(), gvk.GroupKind())),
			builder.WithPredicates(jobPods))
	if wake != nil {
		kindJobs := predicate.NewPredicateFuncs(func(obj client.Object) bool {
			return obj.GetLabels()[naming.ComponentLabel] == kind.Naming.Component
		})
		b = b.Watches(&batchv1.Job{}, handler.EnqueueRequestsFromMapFunc(wake), builder.WithPredicates(kindJobs, slotFreed))
	}
	err = b.Complete(r)
	if err != nil {
		return fmt.Errorf("set up controller %s: %w", name, err)
	}
	return nil
}

// podToSession maps a Job's pod to the session that controls the Job.
func podToSession(c client.Reader, session schema.GroupKind) handler.MapFunc {
	return func(ctx context.Context, pod client.Object) []reconcile.Request {
		ref := metav1.GetControllerOf(pod)
		if ref == nil || ref.Kind != "Job" {
			return nil
		}
		var job batchv1.Job
		if err := c.Get(ctx, client.ObjectKey{Namespace: pod.GetNamespace(), Name: ref.Name}, &job); err != nil || job.UID != ref.UID {
			return nil // the Job's own event reconciles the session once the cache has it
		}
		owner := metav1.GetControllerOf(&job)
		if owner == nil || schema.FromAPIVersionAndKind(owner.APIVersion, owner.Kind).GroupKind() != session {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: job.Namespace, Name: owner.Name}}}
	}
}

// slotFreed passes the Job events that free a slot under MaxRunningJobs:
// a Job that stops running (it ended, or was suspended) or is deleted.
// A Job's other events (its creation, its pod's progress) free nothing,
// and waking the waiting sessions on each of them cost the API server a
// read of each woken session, several times per Job.
var slotFreed = predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, oldOK := e.ObjectOld.(*batchv1.Job)
		cur, curOK := e.ObjectNew.(*batchv1.Job)
		return oldOK && curOK && jobRuns(old) && !jobRuns(cur)
	},
	DeleteFunc:  func(event.DeleteEvent) bool { return true },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// wakeWaiting maps a Job event that freed a slot to the sessions next in
// line under MaxRunningJobs, as many as the free slots serve; a session
// woken that finds no slot after all waits for the next, or for its own
// retry (session.ThrottledRetry).
func (r *Runner) wakeWaiting(ctx context.Context, _ client.Object) []reconcile.Request {
	running, waiting, err := r.queue(ctx)
	if err != nil {
		return nil // their own retry looks again
	}
	next := session.Next(waiting, r.MaxRunningJobs-running)
	requests := make([]reconcile.Request, len(next))
	for i, w := range next {
		requests[i] = reconcile.Request{NamespacedName: client.ObjectKey{Namespace: w.Namespace, Name: w.Name}}
	}
	return requests
}
