package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RestoreSession restores a target from a Repository, once.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=restore,categories={stash,appscode,all}
// +kubebuilder:printcolumn:name="Repository",type="string",JSONPath=".spec.repository.name"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase"
// +kubebuilder:printcolumn:name="Duration",type="string",JSONPath=".status.sessionDuration"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=`.status.conditions[?(@.type=="Succeeded")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type RestoreSession struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RestoreSessionSpec   `json:"spec,omitempty"`
	Status RestoreSessionStatus `json:"status,omitzero"`
}

// RestoreSessionSpec says what to restore, from where and how.
type RestoreSessionSpec struct {
	// +optional
	// +kubebuilder:default=Restic
	Driver Snapshotter `json:"driver,omitempty"`
	// Repository in the same namespace.
	// +optional
	Repository corev1.LocalObjectReference `json:"repository,omitzero"`
	// Task to run.
	// +optional
	Task TaskRef `json:"task,omitzero"`
	// Target to restore into.
	// +optional
	Target *RestoreTarget `json:"target,omitempty"`
	// Rules choose, per host, the source host and the snapshots or paths.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.filter(r, !has(r.targetHosts) || size(r.targetHosts) == 0).size() <= 1",message="at most one rule may leave targetHosts empty (the rule for every other host): give the others targetHosts"
	// +kubebuilder:validation:XValidation:rule="self.all(r, !has(r.targetHosts) || r.targetHosts.all(h, self.filter(o, has(o.targetHosts) && h in o.targetHosts).size() == 1))",message="a host may appear in the targetHosts of at most one rule: remove the duplicate host"
	Rules []Rule `json:"rules,omitempty"`
	// RuntimeSettings of the restore Job's pod and containers.
	// +optional
	RuntimeSettings RuntimeSettings `json:"runtimeSettings,omitzero"`
	// TempDir is the emptyDir mounted at /tmp in every step.
	// +optional
	TempDir EmptyDirSettings `json:"tempDir,omitzero"`
	// +optional
	InterimVolumeTemplate *PersistentVolumeClaim `json:"interimVolumeTemplate,omitempty"`
	// +optional
	Hooks *RestoreHooks `json:"hooks,omitempty"`
	// TimeOut of the restore, a Go duration such as 30m.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="timeOut must be a positive Go duration such as 30m or 1h30m"
	TimeOut string `json:"timeOut,omitempty"`
}

// RestoreSessionStatus is what happened.
type RestoreSessionStatus struct {
	SessionStatus `json:",inline"`
	// TotalHosts that will report.
	// +optional
	TotalHosts *int32 `json:"totalHosts,omitempty"`
	// Stats per host, upserted by hostname.
	// +optional
	Stats []HostRestoreStats `json:"stats,omitempty"`
}

// HostRestorePhase is the result of one host's restore.
// +kubebuilder:validation:Enum=Succeeded;Failed;Unknown
type HostRestorePhase string

const (
	HostRestoreSucceeded HostRestorePhase = "Succeeded"
	HostRestoreFailed    HostRestorePhase = "Failed"
	HostRestoreUnknown   HostRestorePhase = "Unknown"
)

// HostRestoreStats is one host's result; also the element of output.json's hostRestoreStats.
type HostRestoreStats struct {
	// +optional
	Hostname string `json:"hostname,omitempty"`
	// +optional
	Phase HostRestorePhase `json:"phase,omitempty"`
	// +optional
	Duration string `json:"duration,omitempty"`
	// +optional
	Error string `json:"error,omitempty"`
	// FailedHook, when set, names the hook phase (postBackup, postRestore)
	// whose hook failed the host after its data step ran: what that step
	// wrote (a snapshot, restored files) is kept.
	// +optional
	FailedHook string `json:"failedHook,omitempty"`
}

// RestoreSessionList is a list of RestoreSessions.
// +kubebuilder:object:root=true
type RestoreSessionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RestoreSession `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &RestoreSession{}, &RestoreSessionList{})
}
