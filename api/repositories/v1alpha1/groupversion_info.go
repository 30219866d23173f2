// Package v1alpha1 holds repositories.stash.appscode.com/v1alpha1: the
// Snapshot, one object per restic snapshot of a Repository. Stash v0.9
// served this group from an aggregated API that read the backend live;
// here the objects are a mirror the operator keeps in sync (DESIGN §5a),
// so that `kubectl get snapshots` needs no API service and no certificate.
// +kubebuilder:object:generate=true
// +groupName=repositories.stash.appscode.com
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of these kinds.
	GroupVersion = schema.GroupVersion{Group: "repositories.stash.appscode.com", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Snapshot{}, &SnapshotList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
