package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Function is a container template for one step of a backup or restore. Its
// strings may hold ${VARIABLE} placeholders that the operator resolves.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=fn,categories={stash,appscode}
// +kubebuilder:printcolumn:name="Image",type="string",JSONPath=".spec.image"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type Function struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FunctionSpec `json:"spec,omitempty"`
}

// FunctionSpec mirrors the fields of a container that a step may set.
type FunctionSpec struct {
	// Image of the step's container, e.g. stash:v0.1.0.
	// +kubebuilder:validation:MinLength=1
	Image string `json:"image"`
	// Command is the entrypoint. $(VAR) is left to Kubernetes.
	// +optional
	Command []string `json:"command,omitempty"`
	// Args are the arguments; the usual place for ${VARIABLE} placeholders.
	// +optional
	Args []string `json:"args,omitempty"`
	// +optional
	WorkingDir string `json:"workingDir,omitempty"`
	// +optional
	Ports []corev1.ContainerPort `json:"ports,omitempty"`
	// VolumeMounts name volumes of the Task (often through a parameter, e.g.
	// ${secretVolume}).
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	// +optional
	VolumeDevices []corev1.VolumeDevice `json:"volumeDevices,omitempty"`
	// RuntimeSettings are the container defaults of this Function; the
	// invoker's runtimeSettings.container override them.
	// +optional
	RuntimeSettings *ContainerRuntimeSettings `json:"runtimeSettings,omitempty"`
	// PodSecurityPolicyName is accepted for Stash compatibility; PodSecurityPolicy
	// no longer exists in Kubernetes and the field has no effect.
	// +optional
	PodSecurityPolicyName string `json:"podSecurityPolicyName,omitempty"`
}

// FunctionList is a list of Functions.
// +kubebuilder:object:root=true
type FunctionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Function `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &Function{}, &FunctionList{})
}
