package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Repository is where a target's backups go: a restic repository on one backend.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=repo,categories={stash,appscode,all}
// +kubebuilder:printcolumn:name="Integrity",type="boolean",JSONPath=".status.integrity"
// +kubebuilder:printcolumn:name="Checked",type="date",format="date-time",JSONPath=".status.lastIntegrityCheckTime",priority=1
// +kubebuilder:printcolumn:name="Size",type="string",JSONPath=".status.totalSize"
// +kubebuilder:printcolumn:name="Snapshot-Count",type="integer",JSONPath=".status.snapshotCount"
// +kubebuilder:printcolumn:name="Last-Successful-Backup",type="date",format="date-time",JSONPath=".status.lastBackupTime"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type Repository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RepositorySpec   `json:"spec,omitempty"`
	Status RepositoryStatus `json:"status,omitzero"`
}

// RepositorySpec names the backend and what happens to the data on deletion.
type RepositorySpec struct {
	// Backend is the storage that holds the restic repository.
	Backend Backend `json:"backend"`

	// WipeOut deletes the backed up data from the backend when the Repository
	// is deleted. Off by default: deleting the object keeps the data.
	// +optional
	WipeOut bool `json:"wipeOut,omitempty"`

	// Maintenance says how often backups into this repository also check
	// its integrity and prune it. Stash v0.9 did both on every backup; by
	// default they run at most once a day, on the first backup after that.
	// +optional
	Maintenance Maintenance `json:"maintenance,omitzero"`
}

// Maintenance is the integrity check and the prune, which cost time in
// proportion to the whole repository rather than to what a backup adds.
type Maintenance struct {
	// CheckInterval: a backup runs restic check when the last check
	// (status.lastIntegrityCheckTime) is older than this; default 24h; 0s
	// checks on every backup, as Stash v0.9 did.
	// +optional
	CheckInterval *metav1.Duration `json:"checkInterval,omitempty"`
	// PruneInterval: when its retention policy prunes, a backup prunes
	// (removes data no snapshot references) when the last prune
	// (status.lastPruneTime) is older than this; default 24h; 0s prunes on
	// every backup, as Stash v0.9 did. Forgetting snapshots is not delayed.
	// +optional
	PruneInterval *metav1.Duration `json:"pruneInterval,omitempty"`
}

// Backend names exactly one storage provider and the Secret holding its
// credentials and the restic password (key RESTIC_PASSWORD).
// +kubebuilder:validation:XValidation:rule="[has(self.local), has(self.s3), has(self.gcs), has(self.azure), has(self.swift), has(self.b2), has(self.rest)].filter(x, x).size() == 1",message="backend must name exactly one provider: set one of local, s3, gcs, azure, swift, b2 or rest and remove the others"
type Backend struct {
	// StorageSecretName is a Secret in the Repository's namespace with
	// RESTIC_PASSWORD and the provider's credentials.
	// +optional
	StorageSecretName string `json:"storageSecretName,omitempty"`

	// +optional
	Local *LocalSpec `json:"local,omitempty"`
	// +optional
	S3 *S3Spec `json:"s3,omitempty"`
	// +optional
	GCS *GCSSpec `json:"gcs,omitempty"`
	// +optional
	Azure *AzureSpec `json:"azure,omitempty"`
	// +optional
	Swift *SwiftSpec `json:"swift,omitempty"`
	// +optional
	B2 *B2Spec `json:"b2,omitempty"`
	// +optional
	Rest *RestServerSpec `json:"rest,omitempty"`
}

// LocalSpec is a volume mounted into the backup Job; the repository lives at
// mountPath.
type LocalSpec struct {
	corev1.VolumeSource `json:",inline"`
	// MountPath is where the volume is mounted in every step's container.
	// +kubebuilder:validation:MinLength=1
	MountPath string `json:"mountPath,omitempty"`
	// +optional
	SubPath string `json:"subPath,omitempty"`
}

// S3Spec is an S3 or S3-compatible bucket.
type S3Spec struct {
	// Endpoint, e.g. s3.amazonaws.com or http://minio.storage.svc:9000.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	Bucket   string `json:"bucket,omitempty"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	Region string `json:"region,omitempty"`
}

// GCSSpec is a Google Cloud Storage bucket.
type GCSSpec struct {
	Bucket string `json:"bucket,omitempty"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxConnections int64 `json:"maxConnections,omitempty"`
}

// AzureSpec is an Azure Blob Storage container.
type AzureSpec struct {
	Container string `json:"container,omitempty"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxConnections int64 `json:"maxConnections,omitempty"`
}

// SwiftSpec is an OpenStack Swift container.
type SwiftSpec struct {
	Container string `json:"container,omitempty"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
}

// B2Spec is a Backblaze B2 bucket.
type B2Spec struct {
	Bucket string `json:"bucket,omitempty"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxConnections int64 `json:"maxConnections,omitempty"`
}

// RestServerSpec is a restic REST server.
type RestServerSpec struct {
	// URL of the REST server, e.g. http://rest-server.storage.svc:8000/repo.
	// Credentials come from REST_SERVER_USERNAME and REST_SERVER_PASSWORD in
	// the storage Secret, never from the URL.
	URL string `json:"url,omitempty"`
}

// RepositoryStatus is written by update-status after each successful backup.
type RepositoryStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	FirstBackupTime *metav1.Time `json:"firstBackupTime,omitempty"`
	// +optional
	LastBackupTime *metav1.Time `json:"lastBackupTime,omitempty"`
	// Integrity is the result of the last `restic check`.
	// +optional
	Integrity *bool `json:"integrity,omitempty"`
	// LastIntegrityCheckTime is when the last `restic check` ran.
	// +optional
	LastIntegrityCheckTime *metav1.Time `json:"lastIntegrityCheckTime,omitempty"`
	// LastPruneTime is when the last prune ran.
	// +optional
	LastPruneTime *metav1.Time `json:"lastPruneTime,omitempty"`
	// TotalSize of the repository, humanised (e.g. "1.2 GiB").
	// +optional
	TotalSize string `json:"totalSize,omitempty"`
	// TotalSizeBytes is TotalSize in bytes: measured (restic stats) when
	// the repository is checked or pruned, and grown in between by what
	// each backup adds to it.
	// +optional
	TotalSizeBytes *int64 `json:"totalSizeBytes,omitempty"`
	// +optional
	SnapshotCount int64 `json:"snapshotCount,omitempty"`
	// +optional
	SnapshotsRemovedOnLastCleanup int64 `json:"snapshotsRemovedOnLastCleanup,omitempty"`
	// LastUnlock is the outcome of the last `stash unlock` (annotation
	// stash.appscode.com/unlock).
	// +optional
	LastUnlock *RepositoryOperation `json:"lastUnlock,omitempty"`
	// LastCheck is the outcome of the last `stash check` (annotation
	// stash.appscode.com/check); a backup's own checks are in integrity and
	// lastIntegrityCheckTime, which a requested check updates too.
	// +optional
	LastCheck *RepositoryOperation `json:"lastCheck,omitempty"`
	// SnapshotsSyncTime is when the last sync of the Repository's Snapshot
	// objects (repositories.stash.appscode.com) started: they hold every
	// snapshot the repository had then.
	// +optional
	SnapshotsSyncTime *metav1.Time `json:"snapshotsSyncTime,omitempty"`

	// Deprecated: kept so that Stash v0.8 status objects decode.
	// +optional
	LastSuccessfulBackupTime *metav1.Time `json:"lastSuccessfulBackupTime,omitempty"`
	// Deprecated: kept so that Stash v0.8 status objects decode.
	// +optional
	LastBackupDuration string `json:"lastBackupDuration,omitempty"`
	// Deprecated: kept so that Stash v0.8 status objects decode.
	// +optional
	BackupCount int64 `json:"backupCount,omitempty"`

	// Conditions: Ready (the backend was reachable and the repository opened
	// on the last backup), SnapshotsSynced.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Annotations that ask the operator to run an operation on a Repository's
// data in a Job (stash unlock, stash check). The value names the request;
// the outcome is recorded under the same name in status.lastUnlock or
// status.lastCheck, so that setting the value again runs it again.
const (
	UnlockAnnotation = "stash.appscode.com/unlock"
	// UnlockForceAnnotation "true" removes the locks even of holders that
	// still run (or that nobody can tell).
	UnlockForceAnnotation = "stash.appscode.com/unlock-force"
	CheckAnnotation       = "stash.appscode.com/check"
	// CheckReadDataSubsetAnnotation is restic check's --read-data-subset
	// (e.g. "10%"): that part of the data is read and verified too.
	CheckReadDataSubsetAnnotation = "stash.appscode.com/check-read-data-subset"
)

// RepositoryOperation is the outcome of an operation asked for by an
// annotation.
type RepositoryOperation struct {
	// Request is the annotation's value this outcome answers.
	Request string `json:"request"`
	// Phase: Succeeded or Failed.
	Phase string `json:"phase"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
}

// The phases of a RepositoryOperation.
const (
	OperationSucceeded = "Succeeded"
	OperationFailed    = "Failed"
)

// RepositoryList is a list of Repositories.
// +kubebuilder:object:root=true
type RepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Repository `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &Repository{}, &RepositoryList{})
}
