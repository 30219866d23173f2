// Package session holds the pure decisions of a session's lifecycle, shared
// by BackupSessions and RestoreSessions: how a Job's pod becomes
// status.steps, how a running session is judged (Decide, an ordered chain
// of named rules), and when a Job must be stopped. It has no Kubernetes
// client: the controllers observe the cluster, call these functions and
// write what they return, so every decision is table-tested without a
// cluster and recomputed from scratch on every reconcile.
package session

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// Object is a session, a BackupSession or a RestoreSession: an object with
// the status block both kinds share.
type Object interface {
	metav1.Object
	// SessionStatus is the shared status block, to read and change.
	SessionStatus() *stashv1beta1.SessionStatus
}

// Verdict is the judgement of a session (or of one of its hosts): its phase,
// the reason and message of its Succeeded condition, and when to look again
// if nothing else happens.
type Verdict struct {
	Phase   stashv1beta1.SessionPhase
	Reason  stashv1beta1.SessionReason
	Message string
	// Rule is the name of the rule that gave the verdict, for the logs.
	Rule string
	// RequeueAfter is the time to the next deadline (timeOut, image pull
	// grace, pod start) while the session runs; zero when there is none.
	RequeueAfter time.Duration
}

// Running is the verdict on a session whose Job runs and whose hosts have
// not all reported.
func Running(job string) Verdict {
	return Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning,
		Message: fmt.Sprintf("Job %s is running; waiting for its hosts to report", job)}
}

// Failed is the verdict on a session that failed for reason.
func Failed(reason stashv1beta1.SessionReason, message string) Verdict {
	return Verdict{Phase: stashv1beta1.SessionFailed, Reason: reason, Message: message}
}

// Succeeded is the verdict on a session whose every host reported success.
func Succeeded() Verdict {
	return Verdict{Phase: stashv1beta1.SessionSucceeded, Reason: stashv1beta1.ReasonCompleted, Message: "every host reported success"}
}
