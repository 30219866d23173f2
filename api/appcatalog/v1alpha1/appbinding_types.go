package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AppBinding describes how to connect to an application, e.g. a database, so
// that a backup Function can reach it.
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories={catalog,appscode,all}
// +kubebuilder:printcolumn:name="Type",type="string",JSONPath=".spec.type"
// +kubebuilder:printcolumn:name="Version",type="string",JSONPath=".spec.version"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type AppBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AppBindingSpec `json:"spec,omitempty"`
}

// AppBindingSpec is the connection information.
type AppBindingSpec struct {
	// Type of the application, e.g. kubedb.com/postgres.
	// +optional
	Type string `json:"type,omitempty"`
	// Version of the application, e.g. 15.4.
	// +optional
	Version string `json:"version,omitempty"`
	// ClientConfig says how to reach the application.
	ClientConfig ClientConfig `json:"clientConfig"`
	// Secret with the credentials, e.g. POSTGRES_USER and POSTGRES_PASSWORD
	// (or username and password).
	// +optional
	Secret *corev1.LocalObjectReference `json:"secret,omitempty"`
	// SecretTransforms rename, add or remove keys of the Secret before use.
	// +optional
	SecretTransforms []SecretTransform `json:"secretTransforms,omitempty"`
	// Parameters for the application's client, free form: not necessarily
	// an object with apiVersion and kind (v0.9's MongoDB AppBindings hold
	// only replicaSets or configServer and shards).
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`
}

// ClientConfig is a URL, a Service, or both as KubeDB writes them. With
// both, the Service is used, as Stash v0.9's addons did.
// +kubebuilder:validation:XValidation:rule="has(self.url) || has(self.service)",message="clientConfig must set url or service (or both: service is then used)"
type ClientConfig struct {
	// URL in the form scheme://host:port/path. Not read when service is set.
	// +optional
	URL *string `json:"url,omitempty"`
	// Service in the AppBinding's namespace. Used in preference to url.
	// +optional
	Service *ServiceReference `json:"service,omitempty"`
	// +optional
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`
}

// ServiceReference names a Service and port of the application.
type ServiceReference struct {
	// Scheme, e.g. postgresql or mysql.
	// +optional
	Scheme string `json:"scheme,omitempty"`
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +optional
	Port int32 `json:"port,omitempty"`
	// +optional
	Path string `json:"path,omitempty"`
	// +optional
	Query string `json:"query,omitempty"`
}

// SecretTransform changes the keys of the credentials Secret before use.
type SecretTransform struct {
	// +optional
	RenameKey *RenameKeyTransform `json:"renameKey,omitempty"`
	// +optional
	AddKey *AddKeyTransform `json:"addKey,omitempty"`
	// +optional
	AddKeysFrom *AddKeysFromTransform `json:"addKeysFrom,omitempty"`
	// +optional
	RemoveKey *RemoveKeyTransform `json:"removeKey,omitempty"`
}

// RenameKeyTransform renames a key.
type RenameKeyTransform struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// AddKeyTransform adds a key with a value.
type AddKeyTransform struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// AddKeysFromTransform adds all keys of another Secret.
type AddKeysFromTransform struct {
	SecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`
}

// RemoveKeyTransform removes a key.
type RemoveKeyTransform struct {
	Key string `json:"key"`
}

// AppBindingList is a list of AppBindings.
// +kubebuilder:object:root=true
type AppBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AppBinding `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &AppBinding{}, &AppBindingList{})
}
