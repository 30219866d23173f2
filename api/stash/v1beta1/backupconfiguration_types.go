package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stash-operator/stash/api/stash/v1alpha1"
)

// BackupConfiguration says what to back up (target), where to (repository),
// how (task) and when (schedule). The operator creates a BackupSession per
// scheduled tick.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bc,categories={stash,appscode,all}
// +kubebuilder:printcolumn:name="Task",type="string",JSONPath=".spec.task.name"
// +kubebuilder:printcolumn:name="Schedule",type="string",JSONPath=".spec.schedule"
// +kubebuilder:printcolumn:name="Paused",type="boolean",JSONPath=".spec.paused"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Last-Schedule",type="date",JSONPath=".status.lastScheduleTime",priority=1
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type BackupConfiguration struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackupConfigurationSpec   `json:"spec,omitempty"`
	Status BackupConfigurationStatus `json:"status,omitzero"`
}

// BackupConfigurationTemplateSpec is the part of a BackupConfiguration that
// describes one target's backup.
type BackupConfigurationTemplateSpec struct {
	// Task to run.
	// +optional
	Task TaskRef `json:"task,omitzero"`
	// Target to back up.
	// +optional
	Target *BackupTarget `json:"target,omitempty"`
	// RuntimeSettings of the backup Job's pod and containers.
	// +optional
	RuntimeSettings RuntimeSettings `json:"runtimeSettings,omitzero"`
	// TempDir is the emptyDir mounted at /tmp in every step.
	// +optional
	TempDir EmptyDirSettings `json:"tempDir,omitzero"`
	// InterimVolumeTemplate is a PVC for staging data, mounted at
	// /stash-interim-volume in every step.
	// +optional
	InterimVolumeTemplate *PersistentVolumeClaim `json:"interimVolumeTemplate,omitempty"`
	// Hooks run as containers before the first and before the last step.
	// +optional
	Hooks *BackupHooks `json:"hooks,omitempty"`
}

// BackupConfigurationSpec is the desired backup.
type BackupConfigurationSpec struct {
	BackupConfigurationTemplateSpec `json:",inline"`

	// Schedule in cron format (5 fields, or @daily and friends; CRON_TZ=
	// prefix allowed). Empty: only manual sessions run.
	// +optional
	Schedule string `json:"schedule,omitempty"`
	// +optional
	// +kubebuilder:default=Restic
	Driver Snapshotter `json:"driver,omitempty"`
	// Repository in the same namespace.
	// +optional
	Repository corev1.LocalObjectReference `json:"repository,omitzero"`
	// RetentionPolicy applied after each backup, to this target's host only.
	RetentionPolicy v1alpha1.RetentionPolicy `json:"retentionPolicy"`
	// Paused stops the schedule; sessions created by hand still run.
	// +optional
	Paused bool `json:"paused,omitempty"`
	// BackupHistoryLimit is how many finished BackupSessions to keep. The
	// newest failed one is kept as well.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	BackupHistoryLimit *int32 `json:"backupHistoryLimit,omitempty"`

	// TimeZone of the schedule, an IANA name such as Europe/Berlin. Default UTC.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// TimeOut of one backup, a Go duration such as 30m or 2h. The session
	// fails with reason Timeout once exceeded.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="timeOut must be a positive Go duration such as 30m or 1h30m"
	TimeOut string `json:"timeOut,omitempty"`
	// ConcurrencyPolicy decides what a tick does while an earlier session of
	// this configuration still runs: Forbid records a Skipped session, Allow
	// runs both, Replace fails the running one and starts a new one.
	// +optional
	// +kubebuilder:default=Forbid
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`
	// StartingDeadlineSeconds: a tick missed while the operator was down is
	// caught up (once) only if no older than this. Default 300.
	// +optional
	// +kubebuilder:validation:Minimum=0
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`
}

// ConcurrencyPolicy is what to do with a tick while a session still runs.
// +kubebuilder:validation:Enum=Allow;Forbid;Replace
type ConcurrencyPolicy string

const (
	// AllowConcurrent runs sessions side by side.
	AllowConcurrent ConcurrencyPolicy = "Allow"
	// ForbidConcurrent records the new tick as a Skipped session.
	ForbidConcurrent ConcurrencyPolicy = "Forbid"
	// ReplaceConcurrent fails the running session and starts the new one.
	ReplaceConcurrent ConcurrencyPolicy = "Replace"
)

// BackupConfigurationStatus reports whether the configuration can run.
type BackupConfigurationStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready (the Task resolves against the live Functions,
	// Repository and target).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastScheduleTime is the tick of the newest scheduled session.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// NextScheduleTime is the next tick.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
}

// BackupConfigurationList is a list of BackupConfigurations.
// +kubebuilder:object:root=true
type BackupConfigurationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackupConfiguration `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &BackupConfiguration{}, &BackupConfigurationList{})
}
