// Package v1beta1 holds the Function-Task model of stash.appscode.com/v1beta1:
// Function, Task, BackupConfiguration, BackupSession and RestoreSession, field
// for field as Stash v0.9 plus our optional additions (conditions, steps,
// timeOut, timeZone, concurrencyPolicy).
// +kubebuilder:object:generate=true
// +groupName=stash.appscode.com
package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these kinds.
	GroupVersion = schema.GroupVersion{Group: "stash.appscode.com", Version: "v1beta1"}

	// SchemeBuilder registers the kinds of this package with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
