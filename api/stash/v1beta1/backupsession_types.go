package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackupSession is one run of a backup. Creating one by hand is an instant backup.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories={stash,appscode,all}
// +kubebuilder:printcolumn:name="Invoker-Type",type="string",JSONPath=".spec.invoker.kind"
// +kubebuilder:printcolumn:name="Invoker-Name",type="string",JSONPath=".spec.invoker.name"
// +kubebuilder:printcolumn:name="Phase",type="string",JSONPath=".status.phase"
// +kubebuilder:printcolumn:name="Duration",type="string",JSONPath=".status.sessionDuration"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=`.status.conditions[?(@.type=="Succeeded")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type BackupSession struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackupSessionSpec   `json:"spec,omitempty"`
	Status BackupSessionStatus `json:"status,omitzero"`
}

// BackupSessionSpec names the invoker; it cannot change once created.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec of a BackupSession is immutable: create a new BackupSession instead of editing this one"
type BackupSessionSpec struct {
	Invoker BackupInvokerRef `json:"invoker,omitempty"`
}

// BackupInvokerRef names the object whose backup this session runs.
type BackupInvokerRef struct {
	// +optional
	APIGroup string `json:"apiGroup,omitempty"`
	// +kubebuilder:validation:Enum=BackupConfiguration;BackupBatch
	Kind string `json:"kind"`
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// BackupSessionStatus is what happened.
type BackupSessionStatus struct {
	SessionStatus `json:",inline"`
	// Targets report per target and per host.
	// +optional
	Targets []BackupTargetStatus `json:"targets,omitempty"`
}

// BackupTargetStatus is the state of one target; named Target in Stash.
type BackupTargetStatus struct {
	// +optional
	Ref TargetRef `json:"ref,omitzero"`
	// TotalHosts that will report for this target.
	// +optional
	TotalHosts *int32 `json:"totalHosts,omitempty"`
	// +optional
	Phase TargetPhase `json:"phase,omitempty"`
	// Stats per host, upserted by hostname.
	// +optional
	Stats []HostBackupStats `json:"stats,omitempty"`
}

// TargetPhase is the state of one target of a session.
// +kubebuilder:validation:Enum=Running;Succeeded;Failed
type TargetPhase string

const (
	TargetBackupRunning   TargetPhase = "Running"
	TargetBackupSucceeded TargetPhase = "Succeeded"
	TargetBackupFailed    TargetPhase = "Failed"
)

// HostBackupPhase is the result of one host's backup.
// +kubebuilder:validation:Enum=Succeeded;Failed
type HostBackupPhase string

const (
	HostBackupSucceeded HostBackupPhase = "Succeeded"
	HostBackupFailed    HostBackupPhase = "Failed"
)

// HostBackupStats is one host's result; also the element of output.json's hostBackupStats.
type HostBackupStats struct {
	// +optional
	Hostname string `json:"hostname,omitempty"`
	// +optional
	Phase HostBackupPhase `json:"phase,omitempty"`
	// +optional
	Snapshots []SnapshotStats `json:"snapshots,omitempty"`
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

// SnapshotStats describe one snapshot taken by a host.
type SnapshotStats struct {
	// Name is restic's short snapshot id.
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	TotalSize string `json:"totalSize,omitempty"`
	// +optional
	Uploaded string `json:"uploaded,omitempty"`
	// +optional
	ProcessingTime string `json:"processingTime,omitempty"`
	// +optional
	FileStats FileStats `json:"fileStats,omitzero"`
}

// FileStats count the files of a snapshot.
type FileStats struct {
	// +optional
	TotalFiles *int64 `json:"totalFiles,omitempty"`
	// +optional
	NewFiles *int64 `json:"newFiles,omitempty"`
	// +optional
	ModifiedFiles *int64 `json:"modifiedFiles,omitempty"`
	// +optional
	UnmodifiedFiles *int64 `json:"unmodifiedFiles,omitempty"`
}

// BackupSessionList is a list of BackupSessions.
// +kubebuilder:object:root=true
type BackupSessionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackupSession `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &BackupSession{}, &BackupSessionList{})
}
