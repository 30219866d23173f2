package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Task is an ordered list of Functions with their parameters, and the volumes
// they share. The operator runs every step but the last as an init-container
// and the last as the main container of one Job, so the steps run in order.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=task,categories={stash,appscode}
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type Task struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec TaskSpec `json:"spec,omitempty"`
}

// TaskSpec lists the steps and the volumes of the Job.
type TaskSpec struct {
	// Steps run in this order.
	// +optional
	Steps []FunctionRef `json:"steps,omitempty"`
	// Volumes of the Job; may use ${VARIABLE}, e.g. secretName: ${REPOSITORY_SECRET_NAME}.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`
}

// FunctionRef is one step: a Function and the parameters only this step sees.
type FunctionRef struct {
	// Name of the Function.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +optional
	Params []Param `json:"params,omitempty"`
}

// Param is a named value for a ${name} placeholder.
type Param struct {
	// +kubebuilder:validation:MinLength=1
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TaskList is a list of Tasks.
// +kubebuilder:object:root=true
type TaskList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Task `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &Task{}, &TaskList{})
}
