package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// BackupHooks run before and after a backup.
type BackupHooks struct {
	// +optional
	PreBackup *Handler `json:"preBackup,omitempty"`
	// +optional
	PostBackup *Handler `json:"postBackup,omitempty"`
}

// RestoreHooks run before and after a restore.
type RestoreHooks struct {
	// +optional
	PreRestore *Handler `json:"preRestore,omitempty"`
	// +optional
	PostRestore *Handler `json:"postRestore,omitempty"`
}

// Handler is one hook action: exactly one of exec, httpGet, httpPost, tcpSocket.
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
