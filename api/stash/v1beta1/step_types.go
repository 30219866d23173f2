package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StepStatus is the result of one container of a session's Job.
type StepStatus struct {
	// Name of the container, e.g. postgres-backup-15-0.
	Name string `json:"name"`
	// Host whose Job the container is of.
	// +optional
	Host string `json:"host,omitempty"`
	// Function the step runs; empty for hook containers.
	// +optional
	Function string `json:"function,omitempty"`
	// +optional
	Phase StepPhase `json:"phase,omitempty"`
	// +optional
	ExitCode *int32 `json:"exitCode,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	FinishTime *metav1.Time `json:"finishTime,omitempty"`
	// Reason, e.g. Error, OOMKilled, ImagePullBackOff.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message is the container's termination message (its log tail on failure).
	// +optional
	Message string `json:"message,omitempty"`
}

// StepPhase is the state of one step.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type StepPhase string

const (
	StepPending   StepPhase = "Pending"
	StepRunning   StepPhase = "Running"
	StepSucceeded StepPhase = "Succeeded"
	StepFailed    StepPhase = "Failed"
)
