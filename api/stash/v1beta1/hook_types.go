package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// BackupHooks run before and after a backup: the pre hooks before any data
// moves (one that fails fails the session, and nothing is backed up), the
// post hooks after the data step, also when it failed (an unfreeze must
// always run), as their executionPolicy says.
type BackupHooks struct {
	// PreBackup is Stash v0.9's single pre-backup hook; it runs first.
	// +optional
	PreBackup *Handler `json:"preBackup,omitempty"`
	// PostBackup is Stash v0.9's single post-backup hook; it runs first.
	// +optional
	PostBackup *Handler `json:"postBackup,omitempty"`
	// PreBackupHooks run after preBackup, in order; the first that fails
	// stops the backup.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	PreBackupHooks []Handler `json:"preBackupHooks,omitempty"`
	// PostBackupHooks run after postBackup, in order, each whatever the
	// ones before it did.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	PostBackupHooks []Handler `json:"postBackupHooks,omitempty"`
}

// RestoreHooks run before and after a restore, as BackupHooks do.
type RestoreHooks struct {
	// PreRestore is Stash v0.9's single pre-restore hook; it runs first.
	// +optional
	PreRestore *Handler `json:"preRestore,omitempty"`
	// PostRestore is Stash v0.9's single post-restore hook; it runs first.
	// +optional
	PostRestore *Handler `json:"postRestore,omitempty"`
	// PreRestoreHooks run after preRestore, in order.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	PreRestoreHooks []Handler `json:"preRestoreHooks,omitempty"`
	// PostRestoreHooks run after postRestore, in order.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	PostRestoreHooks []Handler `json:"postRestoreHooks,omitempty"`
}

// HookExecutionPolicy is when a post hook runs.
// +kubebuilder:validation:Enum=Always;OnSuccess;OnFailure
type HookExecutionPolicy string

const (
	// HookAlways runs the hook whether the backup or restore succeeded.
	HookAlways HookExecutionPolicy = "Always"
	// HookOnSuccess runs it only when the backup or restore succeeded.
	HookOnSuccess HookExecutionPolicy = "OnSuccess"
	// HookOnFailure runs it only when the backup or restore failed.
	HookOnFailure HookExecutionPolicy = "OnFailure"
)

// DefaultHookTimeoutSeconds is how long a hook may run when its
// timeoutSeconds is not set.
const DefaultHookTimeoutSeconds = 300

// Handler is one hook action: exactly one of exec, httpGet, httpPost, tcpSocket.
// exec runs in the target's pod (the workload's pod of the host, the
// database pod behind an AppBinding's Service, the pod that mounts a
// claim); an HTTP or TCP hook without a host goes to that pod's IP, and a
// named port is one of its containers' ports.
// +kubebuilder:validation:XValidation:rule="[has(self.exec), has(self.httpGet), has(self.httpPost), has(self.tcpSocket)].filter(x, x).size() == 1",message="a hook must set exactly one of exec, httpGet, httpPost or tcpSocket"
type Handler struct {
	// +optional
	Exec *corev1.ExecAction `json:"exec,omitempty"`
	// +optional
	HTTPGet *corev1.HTTPGetAction `json:"httpGet,omitempty"`
	// +optional
	HTTPPost *HTTPPostAction `json:"httpPost,omitempty"`
	// +optional
	TCPSocket *corev1.TCPSocketAction `json:"tcpSocket,omitempty"`
	// ContainerName to exec in; default the target's first container.
	// +optional
	ContainerName string `json:"containerName,omitempty"`
	// ExecutionPolicy of a post hook: Always (the default), OnSuccess or
	// OnFailure of the backup or restore. Pre hooks always run.
	// +optional
	ExecutionPolicy HookExecutionPolicy `json:"executionPolicy,omitempty"`
	// TimeoutSeconds the hook may run before it counts as failed; default
	// 300.
	// +optional
	// +kubebuilder:validation:Minimum=1
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
}

// HTTPPostAction sends a POST request.
type HTTPPostAction struct {
	// +optional
	Path string             `json:"path,omitempty"`
	Port intstr.IntOrString `json:"port"`
	// +optional
	Host string `json:"host,omitempty"`
	// +optional
	Scheme corev1.URIScheme `json:"scheme,omitempty"`
	// +optional
	HTTPHeaders []corev1.HTTPHeader `json:"httpHeaders,omitempty"`
	// +optional
	Body string `json:"body,omitempty"`
	// +optional
	Form []FormEntry `json:"form,omitempty"`
}

// FormEntry is one form field of an HTTP POST hook.
type FormEntry struct {
	Key string `json:"key,omitempty"`
	// +optional
	Values []string `json:"values,omitempty"`
}
