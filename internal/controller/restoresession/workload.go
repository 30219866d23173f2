package restoresession

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/controller/lifecycle"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/text"
	"github.com/stash-operator/stash/internal/workload"
)

// A workload is stopped while it is restored: restoring under a running
// application corrupts its data. The stop is recorded on the workload
// (internal/workload), and the RestoreSession holds a finalizer until the
// workload runs again, so that neither a restarted operator nor a deleted
// RestoreSession leaves it stopped.
//
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets;replicasets,verbs=get;update
// +kubebuilder:rbac:groups="",resources=replicationcontrollers,verbs=get;update
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups=stash.appscode.com,resources=restoresessions,verbs=update
// +kubebuilder:rbac:groups=stash.appscode.com,resources=restoresessions/finalizers,verbs=update

// Finalizer keeps a RestoreSession that stopped its workload until the
// workload runs again.
const Finalizer = "stash.appscode.com/start-workload"

// stopsWorkload: the restore's target is a workload to stop.
func stopsWorkload(rs *stashv1beta1.RestoreSession) bool {
	t := rs.Spec.Target
	return t != nil && resolve.IsWorkload(t.Ref) && !t.RestoreWhileRunning
}

func stopper(rs *stashv1beta1.RestoreSession) string {
	return rs.Namespace + "/" + rs.Name + "/" + string(rs.UID)
}

// prepare stops the target workload; it waits until none of its pods is
// left, saying which are.
func prepare(ctx context.Context, r *lifecycle.Runner, s lifecycle.Session, _ client.Object) (string, error) {
	rs := s.(*stashv1beta1.RestoreSession)
	if !stopsWorkload(rs) {
		return "", nil
	}
	ref := rs.Spec.Target.Ref
	if !controllerutil.ContainsFinalizer(rs, Finalizer) {
		// First the finalizer, then the stop: a stopped workload always has
		// a RestoreSession that will start it again.
		controllerutil.AddFinalizer(rs, Finalizer)
		if err := r.Client.Update(ctx, rs); err != nil {
			return "", client.IgnoreNotFound(fmt.Errorf("add finalizer %s to RestoreSession %s/%s: %w", Finalizer, rs.Namespace, rs.Name, err))
		}
		return fmt.Sprintf("%s %s to stop for the restore", ref.Kind, ref.Name), nil
	}
	obj, found, err := getWorkload(ctx, r, rs)
	if err != nil {
		return "", err
	}
	if !found {
		return fmt.Sprintf("%s %s (spec.target.ref), which does not exist, to stop for the restore", ref.Kind, ref.Name), nil
	}
	if _, err := toggle(ctx, r, rs, obj, stopped); err != nil {
		return "", err
	}
	left, err := podsLeft(ctx, r, rs, obj)
	if err != nil || len(left) == 0 {
		return "", err
	}
	return fmt.Sprintf("the pods of %s %s to end, stopped for the restore (%d left: %s)", ref.Kind, ref.Name, len(left), text.CutBack(strings.Join(left, ", "), 200)), nil
}

// podsLeft are the names of the workload's pods, running or terminating:
// only once there are none is nothing writing to its volumes.
func podsLeft(ctx context.Context, r *lifecycle.Runner, rs *stashv1beta1.RestoreSession, obj workload.Object) ([]string, error) {
	_, sel, err := workload.FromObject(obj)
	if err != nil {
		return nil, err
	}
	var pods corev1.PodList
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(rs.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("list the pods of %s %s/%s: %w", rs.Spec.Target.Ref.Kind, rs.Namespace, obj.GetName(), err)
	}
	names := make([]string, len(pods.Items))
	for i, p := range pods.Items {
		names[i] = p.Name
	}
	return names, nil
}

// finish starts the workload the restore stopped, as it ran before, and
// then lets the RestoreSession go.
func finish(ctx context.Context, r *lifecycle.Runner, s lifecycle.Session, _ client.Object) (bool, error) {
	rs := s.(*stashv1beta1.RestoreSession)
	if !controllerutil.ContainsFinalizer(rs, Finalizer) {
		return true, nil
	}
	obj, found, err := getWorkload(ctx, r, rs)
	if err != nil {
		return false, err
	}
	if found {
		changed, err := toggle(ctx, r, rs, obj, started)
		if err != nil {
			return false, err
		}
		if changed {
			if err := r.Client.Status().Update(ctx, rs); err != nil && !apierrors.IsNotFound(err) {
				return false, fmt.Errorf("record that %s %s runs again: %w", rs.Spec.Target.Ref.Kind, obj.GetName(), err)
			}
		}
	}
	controllerutil.RemoveFinalizer(rs, Finalizer)
	if err := r.Client.Update(ctx, rs); err != nil {
		return false, client.IgnoreNotFound(fmt.Errorf("remove finalizer %s from RestoreSession %s/%s: %w", Finalizer, rs.Namespace, rs.Name, err))
	}
	return true, nil
}

// A change is what stopping or starting a workload does to it, and how the
// RestoreSession reports it.
type change struct {
	apply   func(obj workload.Object, by string) (changed bool, description string, err error)
	verb    string // for errors: "stop"
	done    string // for the condition and event: "stopped for the restore"
	stopped metav1.ConditionStatus
	reason  stashv1beta1.WorkloadReason
	action  string
}

var (
	stopped = change{apply: workload.Stop, verb: "stop", done: "stopped for the restore",
		stopped: metav1.ConditionTrue, reason: stashv1beta1.ReasonStoppedForRestore, action: "StopWorkload"}
	started = change{apply: workload.Start, verb: "start", done: "started after the restore",
		stopped: metav1.ConditionFalse, reason: stashv1beta1.ReasonStartedAfterRestore, action: "StartWorkload"}
)

// toggle applies c to the workload; if that changed it, it writes the
// workload and reports the change in the RestoreSession's WorkloadStopped
// condition (not written here) and an event.
func toggle(ctx context.Context, r *lifecycle.Runner, rs *stashv1beta1.RestoreSession, obj workload.Object, c change) (bool, error) {
	kind := rs.Spec.Target.Ref.Kind
	changed, description, err := c.apply(obj, stopper(rs))
	if err == nil && changed {
		err = r.Client.Update(ctx, obj.(client.Object))
	}
	if apierrors.IsNotFound(err) || !changed {
		return false, nil // a workload deleted meanwhile has nothing to stop or start
	}
	if err != nil {
		return false, fmt.Errorf("%s %s %s/%s for the restore: %w", c.verb, kind, rs.Namespace, obj.GetName(), err)
	}
	msg := fmt.Sprintf("%s %s %s: %s", kind, obj.GetName(), c.done, description)
	log.FromContext(ctx).Info(msg)
	conditions.Set(&rs.Status.Conditions, rs.Generation, stashv1beta1.ConditionWorkloadStopped, c.stopped, c.reason, msg, r.Clock.Now())
	r.Recorder.Eventf(rs, obj.(client.Object), corev1.EventTypeNormal, string(c.reason), c.action, "%s", msg)
	return true, nil
}

func getWorkload(ctx context.Context, r *lifecycle.Runner, rs *stashv1beta1.RestoreSession) (workload.Object, bool, error) {
	ref := rs.Spec.Target.Ref
	obj, err := workload.NewObject(ref.Kind)
	if err != nil {
		return nil, false, err
	}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: rs.Namespace, Name: ref.Name}, obj.(client.Object)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("get %s %s/%s: %w", ref.Kind, rs.Namespace, ref.Name, err)
	}
	return obj, true, nil
}
