package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SessionPhase is the overall state of a session, a BackupSession or a
// RestoreSession: one model for both. A RestoreSession is never Skipped.
type SessionPhase string

const (
	// SessionPending: nothing has been done yet (also the empty phase).
	SessionPending SessionPhase = "Pending"
	// SessionRunning: the session's Jobs were created; not every host has an outcome.
	SessionRunning   SessionPhase = "Running"
	SessionSucceeded SessionPhase = "Succeeded"
	SessionFailed    SessionPhase = "Failed"
	// SessionSkipped: a scheduled tick found an earlier session of the same
	// invoker still running under concurrencyPolicy Forbid; it never runs.
	SessionSkipped SessionPhase = "Skipped"
	// SessionUnknown: a restore host could not tell whether it succeeded.
	SessionUnknown SessionPhase = "Unknown"
)

// IsNew reports whether nothing has been done yet for a session in phase p.
func (p SessionPhase) IsNew() bool { return p == "" || p == SessionPending }

// IsFinished reports whether a session in phase p is over: nothing more
// happens to it, whoever looks.
func (p SessionPhase) IsFinished() bool {
	switch p {
	case SessionSucceeded, SessionFailed, SessionSkipped, SessionUnknown:
		return true
	}
	return false
}

// SessionStatus is the part of the status both session kinds share, inlined
// in BackupSessionStatus and RestoreSessionStatus (their JSON is Stash's
// plus our additive fields).
type SessionStatus struct {
	// Phase of the session.
	// +optional
	// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Skipped;Unknown
	Phase SessionPhase `json:"phase,omitempty"`
	// SessionDuration, a Go duration, set when the session finishes.
	// +optional
	SessionDuration string `json:"sessionDuration,omitempty"`
	// Conditions: Succeeded (status True/False/Unknown with a typed reason).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Steps report each container of the session's Jobs, in order, host
	// by host.
	// +optional
	Steps []StepStatus `json:"steps,omitempty"`
	// Hosts are what the session backs up or restores, one Job each: one
	// host for a PVC or a database, one per replica or node of a workload.
	// +optional
	// +listType=map
	// +listMapKey=name
	Hosts []HostStatus `json:"hosts,omitempty"`
	// JobServiceAccount is the account the session's Jobs run as, set when
	// the first is created. Of the operator's Job accounts, only this one
	// may write the session's status (the admission policy
	// stash-jobs-write-own-session), and it may not change this field.
	// +optional
	JobServiceAccount string `json:"jobServiceAccount,omitempty"`
}

// HostStatus is one host of a session: its Job and where it runs.
type HostStatus struct {
	// Name of the host, as its snapshots carry it: host-0, host-<ordinal>,
	// or a node's name.
	Name string `json:"name"`
	// Job that backs the host up or restores it; empty until it is created.
	// +optional
	Job string `json:"job,omitempty"`
	// Pod is the workload's pod whose volumes the host's Job mounts; empty
	// when none runs.
	// +optional
	Pod string `json:"pod,omitempty"`
	// Node the host's Job runs on: its workload pod's, since a ReadWriteOnce
	// volume is shared only on one node; when no pod of the workload ran,
	// the node the Job's pod was scheduled to (empty until then).
	// +optional
	Node string `json:"node,omitempty"`
	// Problem, when set, says why the host cannot be backed up or restored;
	// it fails the host.
	// +optional
	Problem string `json:"problem,omitempty"`
}

// SessionStatus is the shared part of the BackupSession's status.
func (s *BackupSession) SessionStatus() *SessionStatus { return &s.Status.SessionStatus }

// SessionStatus is the shared part of the RestoreSession's status.
func (s *RestoreSession) SessionStatus() *SessionStatus { return &s.Status.SessionStatus }
