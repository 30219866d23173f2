package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels every Snapshot carries, as Stash v0.9 selected them:
// `kubectl get snapshots -l repository=NAME,hostname=HOST`.
const (
	RepositoryLabel = "repository"
	HostnameLabel   = "hostname"
)

// ForgetFinalizer holds a Snapshot that is deleted until its snapshot is
// forgotten in the repository: `kubectl delete snapshot` forgets it there.
const ForgetFinalizer = "repositories.stash.appscode.com/forget"

// ConditionForgotten on a Snapshot being deleted: False when its snapshot
// could not be forgotten in the repository (reason ReasonForgetFailed).
const (
	ConditionForgotten = "Forgotten"
	ReasonForgetFailed = "ForgetFailed"
)

// Snapshot is one restic snapshot of a Repository, named
// `<repository>-<short id>`. The operator creates and deletes these objects
// to mirror the repository; deleting one forgets its snapshot.
//
// The fields are in status, as in Stash v0.9, and there is no status
// subresource: the object is written whole by one sync, so that a
// repository of 10,000 snapshots costs 10,000 writes, not 20,000.
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories={stash,appscode}
// +kubebuilder:printcolumn:name="Repository",type="string",JSONPath=".status.repository"
// +kubebuilder:printcolumn:name="Hostname",type="string",JSONPath=".status.hostname"
// +kubebuilder:printcolumn:name="Paths",type="string",JSONPath=".status.paths"
// +kubebuilder:printcolumn:name="Size",type="string",JSONPath=".status.size"
// +kubebuilder:printcolumn:name="Created",type="date",format="date-time",JSONPath=".status.time"
// +kubebuilder:printcolumn:name="Forgotten",type="string",JSONPath=".status.conditions[?(@.type==\"Forgotten\")].reason",priority=1
type Snapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status SnapshotStatus `json:"status,omitzero"`
}

// SnapshotStatus holds Stash v0.9's Snapshot fields (tree, paths,
// hostname, username, uid, gid, tags, repository) and what restic 0.18
// adds: the full id, the time and the size.
type SnapshotStatus struct {
	// ID is restic's full snapshot id; the object's name holds its first 8
	// characters, restic's short id.
	ID string `json:"id,omitempty"`
	// Repository is the Repository (same namespace) that holds the snapshot.
	Repository string `json:"repository,omitempty"`
	// Time the snapshot was taken. Stash v0.9 showed it as the object's
	// creationTimestamp, which an object created later cannot have.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
	// +optional
	Tree string `json:"tree,omitempty"`
	// +optional
	Paths []string `json:"paths,omitempty"`
	// +optional
	Hostname string `json:"hostname,omitempty"`
	// +optional
	Username string `json:"username,omitempty"`
	// +optional
	UID int64 `json:"uid,omitempty"`
	// +optional
	Gid int64 `json:"gid,omitempty"`
	// +optional
	Tags []string `json:"tags,omitempty"`
	// Size is the data the snapshot holds, humanised ("1.2 GiB"); empty
	// when restic did not record it (snapshots before restic 0.17).
	// +optional
	Size string `json:"size,omitempty"`
	// SizeBytes is Size in bytes.
	// +optional
	SizeBytes *int64 `json:"sizeBytes,omitempty"`
	// Conditions: Forgotten=False when deleting the object could not forget
	// the snapshot in the repository (the object stays until it can).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SnapshotList is a list of Snapshots.
// +kubebuilder:object:root=true
type SnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Snapshot `json:"items"`
}
