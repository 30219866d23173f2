package workload

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// Object is a workload object (a client.Object).
type Object interface {
	metav1.Object
	runtime.Object
}

// NewObject is an empty object of the workload kind, to read into: the
// apps/v1 kind whatever group a v0.9 manifest spells (extensions/v1beta1,
// apps/v1beta2 are the same objects, served as apps/v1).
func NewObject(kind string) (Object, error) {
	switch kind {
	case Deployment:
		return &appsv1.Deployment{}, nil
	case StatefulSet:
		return &appsv1.StatefulSet{}, nil
	case DaemonSet:
		return &appsv1.DaemonSet{}, nil
	case ReplicaSet:
		return &appsv1.ReplicaSet{}, nil
	case ReplicationController:
		return &corev1.ReplicationController{}, nil
	}
	return nil, fmt.Errorf("%s is not a workload kind", kind)
}

// FromObject is what planning needs of a workload object, and the selector
// of its pods.
func FromObject(obj Object) (Workload, labels.Selector, error) {
	w := Workload{Name: obj.GetName(), Replicas: 1}
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		w.Kind, w.Replicas, w.Template, sel = Deployment, ptr.Deref(o.Spec.Replicas, 1), o.Spec.Template, o.Spec.Selector
	case *appsv1.StatefulSet:
		w.Kind, w.Replicas, w.Template, sel = StatefulSet, ptr.Deref(o.Spec.Replicas, 1), o.Spec.Template, o.Spec.Selector
		w.ClaimTemplates = o.Spec.VolumeClaimTemplates
	case *appsv1.DaemonSet:
		w.Kind, w.Replicas, w.Template, sel = DaemonSet, 0, o.Spec.Template, o.Spec.Selector
	case *appsv1.ReplicaSet:
		w.Kind, w.Replicas, w.Template, sel = ReplicaSet, ptr.Deref(o.Spec.Replicas, 1), o.Spec.Template, o.Spec.Selector
	case *corev1.ReplicationController:
		w.Kind, w.Replicas = ReplicationController, ptr.Deref(o.Spec.Replicas, 1)
		if o.Spec.Template != nil {
			w.Template = *o.Spec.Template
		}
		return w, labels.SelectorFromSet(o.Spec.Selector), nil
	default:
		return Workload{}, nil, fmt.Errorf("%T is not a workload", obj)
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return Workload{}, nil, fmt.Errorf("%s %q: spec.selector: %w", w.Kind, w.Name, err)
	}
	return w, s, nil
}
