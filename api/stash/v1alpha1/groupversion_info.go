// Package v1alpha1 holds the stash.appscode.com/v1alpha1 kinds that the
// Function-Task model keeps from Stash: Repository, and the RetentionPolicy
// that BackupConfiguration embeds.
// +kubebuilder:object:generate=true
// +groupName=stash.appscode.com
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these kinds.
	GroupVersion = schema.GroupVersion{Group: "stash.appscode.com", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
