package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TaskRef names the Task an invoker runs, and the parameters it gives every step.
type TaskRef struct {
	// +optional
	Name string `json:"name,omitempty"`
	// Params are visible to every step; a step's own params of the same name
	// lose to these.
	// +optional
	Params []Param `json:"params,omitempty"`
}

// TargetRef names the object that is backed up or restored.
type TargetRef struct {
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind, e.g. AppBinding or PersistentVolumeClaim.
	// +optional
	Kind string `json:"kind,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
}

// BackupTarget is what a BackupConfiguration backs up.
type BackupTarget struct {
	// +optional
	Ref TargetRef `json:"ref,omitzero"`
	// Paths to back up; default /stash-data.
	// +optional
	Paths []string `json:"paths,omitempty"`
	// VolumeMounts of the target; the first one's mountPath is
	// TARGET_MOUNT_PATH. For a workload, each names a volume of its pod
	// template (or a StatefulSet's volumeClaimTemplate), mounted where the
	// backup Job reads it.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	// Replicas of a StatefulSet to back up, host-0 to host-<replicas-1>;
	// default all of them.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`
	// +optional
	VolumeSnapshotClassName string `json:"snapshotClassName,omitempty"`
	// Parallelism is how many of a workload's hosts (StatefulSet replicas,
	// DaemonSet nodes) are backed up at once; default 2.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Parallelism *int32 `json:"parallelism,omitempty"`
}

// RestoreTarget is where a RestoreSession restores to.
type RestoreTarget struct {
	// +optional
	Ref TargetRef `json:"ref,omitzero"`
	// VolumeMounts the restore Job writes to: for a workload, volumes of its
	// pod template or volumeClaimTemplates, by name.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	// Replicas to restore (hosts host-0 to host-<replicas-1>): of a
	// StatefulSet, default all of them; with volumeClaimTemplates, default 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`
	// Parallelism is how many hosts are restored at once; default 2.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Parallelism *int32 `json:"parallelism,omitempty"`
	// RestoreWhileRunning restores into a workload's volumes while it runs.
	// By default the workload is stopped for the restore (scaled to zero,
	// a DaemonSet kept off every node) and started again afterwards:
	// restoring under a running application corrupts its data.
	// +optional
	RestoreWhileRunning bool `json:"restoreWhileRunning,omitempty"`
	// VolumeClaimTemplates are PVCs to create and restore into.
	// +optional
	VolumeClaimTemplates []PersistentVolumeClaim `json:"volumeClaimTemplates,omitempty"`
}

// Rule selects what a restore host restores.
// +kubebuilder:validation:XValidation:rule="!(has(self.snapshots) && size(self.snapshots) > 0 && has(self.paths) && size(self.paths) > 0)",message="a rule may set snapshots or paths, not both: restore whole snapshots with snapshots, or the latest version of some paths with paths"
type Rule struct {
	// TargetHosts this rule applies to; empty means every host without a rule of its own.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	TargetHosts []string `json:"targetHosts,omitempty"`
	// SourceHost whose snapshots to restore; default the target host itself.
	// +optional
	SourceHost string `json:"sourceHost,omitempty"`
	// Snapshots to restore, by id, or "latest".
	// +optional
	Snapshots []string `json:"snapshots,omitempty"`
	// Paths to restore from the latest snapshot.
	// +optional
	Paths []string `json:"paths,omitempty"`
}

// EmptyDirSettings shape the emptyDir mounted at /tmp in every step.
type EmptyDirSettings struct {
	// +optional
	Medium corev1.StorageMedium `json:"medium,omitempty"`
	// +optional
	SizeLimit *resource.Quantity `json:"sizeLimit,omitempty"`
	// DisableCaching sets ENABLE_CACHE=false: restic then runs with --no-cache.
	// +optional
	DisableCaching bool `json:"disableCaching,omitempty"`
}

// PersistentVolumeClaim is a PVC template: metadata and spec.
type PersistentVolumeClaim struct {
	// +optional
	PartialObjectMeta `json:"metadata,omitzero"`
	// +optional
	Spec corev1.PersistentVolumeClaimSpec `json:"spec,omitzero"`
}

// PartialObjectMeta is the part of ObjectMeta a template may set.
type PartialObjectMeta struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Snapshotter is how data is captured.
// +kubebuilder:validation:Enum=Restic;VolumeSnapshotter
type Snapshotter string

const (
	// ResticSnapshotter backs up with restic through a Task.
	ResticSnapshotter Snapshotter = "Restic"
	// VolumeSnapshotter takes CSI VolumeSnapshots (not implemented yet).
	VolumeSnapshotter Snapshotter = "VolumeSnapshotter"
)
