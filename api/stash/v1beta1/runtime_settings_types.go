package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
)

// RuntimeSettings apply to the Job's pod and to every step's container.
type RuntimeSettings struct {
	// +optional
	Pod *PodRuntimeSettings `json:"pod,omitempty"`
	// +optional
	Container *ContainerRuntimeSettings `json:"container,omitempty"`
}

// PodRuntimeSettings: each field that is set replaces the pod's;
// imagePullSecrets are merged by name.
type PodRuntimeSettings struct {
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// ServiceAccountName runs the Job under this account instead of the one
	// the operator creates for the invoker.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// +optional
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken,omitempty"`
	// +optional
	NodeName string `json:"nodeName,omitempty"`
	// +optional
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// +optional
	SchedulerName string `json:"schedulerName,omitempty"`
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// +optional
	Priority *int32 `json:"priority,omitempty"`
	// +optional
	ReadinessGates []corev1.PodReadinessGate `json:"readinessGates,omitempty"`
	// +optional
	RuntimeClassName *string `json:"runtimeClassName,omitempty"`
	// +optional
	EnableServiceLinks *bool `json:"enableServiceLinks,omitempty"`
}

// ContainerRuntimeSettings: resources, probes, lifecycle and securityContext
// replace the container's when set; env is upserted by name (the invoker
// wins over the Function); envFrom is appended; nice and ionice become the
// environment variables NICE_ADJUSTMENT, IONICE_CLASS and IONICE_CLASS_DATA,
// which the data-plane commands use to wrap restic.
type ContainerRuntimeSettings struct {
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitzero"`
	// +optional
	LivenessProbe *corev1.Probe `json:"livenessProbe,omitempty"`
	// +optional
	ReadinessProbe *corev1.Probe `json:"readinessProbe,omitempty"`
	// +optional
	Lifecycle *corev1.Lifecycle `json:"lifecycle,omitempty"`
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`
	// +optional
	Nice *NiceSettings `json:"nice,omitempty"`
	// +optional
	IONice *IONiceSettings `json:"ionice,omitempty"`
	// +optional
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`
}

// NiceSettings is the CPU scheduling priority of restic (nice -n).
type NiceSettings struct {
	// +optional
	// +kubebuilder:validation:Minimum=-20
	// +kubebuilder:validation:Maximum=19
	Adjustment *int32 `json:"adjustment,omitempty"`
}

// IONiceSettings is the I/O scheduling class and priority of restic (ionice -c -n).
type IONiceSettings struct {
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3
	Class *int32 `json:"class,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=7
	ClassData *int32 `json:"classData,omitempty"`
}
