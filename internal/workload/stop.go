package workload

import (
	"encoding/json"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Stopping a workload for a restore, crash-safe: what it ran as before is
// recorded on the workload itself, in annotations, in the same write that
// stops it. Whoever starts it again (the restore that finished, an operator
// restarted in between, the RestoreSession's deletion) reads it back there.
const (
	// AnnotationStoppedBy names the RestoreSession that stopped the
	// workload (namespace/name/uid).
	AnnotationStoppedBy = "stash.appscode.com/stopped-for-restore"
	// AnnotationReplicas is the replica count to scale back to.
	AnnotationReplicas = "stash.appscode.com/replicas-before-restore"
	// AnnotationNodeSelector is a DaemonSet's pod node selector, as JSON.
	AnnotationNodeSelector = "stash.appscode.com/node-selector-before-restore"
	// NodeSelectorStopped is the node label a stopped DaemonSet's pods
	// ask for: no node has it, so none runs.
	NodeSelectorStopped = "stash.appscode.com/stopped-for-restore"
)

// StoppedBy is who stopped obj for a restore; empty when nobody did.
func StoppedBy(obj Object) string { return obj.GetAnnotations()[AnnotationStoppedBy] }

// Stop stops obj for the restore by (a RestoreSession's namespace/name/uid):
// a replicated workload is scaled to zero, a DaemonSet's pods get a node
// selector no node matches. What it ran as is recorded on obj. It changes
// nothing (false) when by stopped it already; another restore's stop is an
// error. The caller writes obj. The description says what changed.
func Stop(obj Object, by string) (changed bool, description string, err error) {
	switch other := StoppedBy(obj); {
	case other == by:
		return false, "", nil
	case other != "":
		return false, "", fmt.Errorf("another restore (%s) has stopped it: wait until that one is done", other)
	}
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationStoppedBy] = by
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		before, err := json.Marshal(o.Spec.Template.Spec.NodeSelector)
		if err != nil {
			return false, "", err
		}
		ann[AnnotationNodeSelector] = string(before)
		o.Spec.Template.Spec.NodeSelector = map[string]string{NodeSelectorStopped: "true"}
		description = "its pods kept off every node (node selector " + NodeSelectorStopped + ")"
	default:
		replicas := replicasOf(obj)
		if replicas == nil {
			return false, "", fmt.Errorf("%T has no replicas to scale", obj)
		}
		ann[AnnotationReplicas] = "" // unset: the kind's default of 1
		if *replicas != nil {
			ann[AnnotationReplicas] = strconv.Itoa(int(**replicas))
		}
		description = fmt.Sprintf("scaled from %d to 0 replicas", ptr.Deref(*replicas, 1))
		*replicas = ptr.To[int32](0)
	}
	obj.SetAnnotations(ann)
	return true, description, nil
}

// Start undoes Stop by by: the replica count or the node selector recorded
// on obj come back, the records go. It changes nothing (false) when by did
// not stop obj. The caller writes obj.
func Start(obj Object, by string) (changed bool, description string, err error) {
	if StoppedBy(obj) != by {
		return false, "", nil
	}
	ann := obj.GetAnnotations()
	switch o := obj.(type) {
	case *appsv1.DaemonSet:
		var selector map[string]string
		if err := json.Unmarshal([]byte(ann[AnnotationNodeSelector]), &selector); err != nil {
			return false, "", fmt.Errorf("annotation %s: %w", AnnotationNodeSelector, err)
		}
		o.Spec.Template.Spec.NodeSelector = selector
		description = "its pods back on their nodes"
	default:
		replicas := replicasOf(obj)
		if replicas == nil {
			return false, "", fmt.Errorf("%T has no replicas to scale", obj)
		}
		*replicas, description = nil, "scaled back to its default of 1 replica"
		if recorded := ann[AnnotationReplicas]; recorded != "" {
			n, err := strconv.Atoi(recorded)
			if err != nil {
				return false, "", fmt.Errorf("annotation %s: %w", AnnotationReplicas, err)
			}
			*replicas, description = ptr.To(int32(n)), fmt.Sprintf("scaled back to %d replicas", n)
		}
	}
	delete(ann, AnnotationStoppedBy)
	delete(ann, AnnotationReplicas)
	delete(ann, AnnotationNodeSelector)
	if len(ann) == 0 {
		ann = nil
	}
	obj.SetAnnotations(ann)
	return true, description, nil
}

// replicasOf points at obj's spec.replicas.
func replicasOf(obj Object) **int32 {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Replicas
	case *appsv1.StatefulSet:
		return &o.Spec.Replicas
	case *appsv1.ReplicaSet:
		return &o.Spec.Replicas
	case *corev1.ReplicationController:
		return &o.Spec.Replicas
	}
	return nil
}
