// Package conditions sets metav1.Conditions the one way every controller
// should: lastTransitionTime changes only when the status does, and
// observedGeneration says which spec the condition describes.
package conditions

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Set records a condition on conds. Its reason is of the condition's own
// reason type (stashv1beta1.ReadyReason, SessionReason, ...). It reports
// whether anything changed, so that callers can skip a status write that
// would change nothing.
func Set[R ~string](conds *[]metav1.Condition, generation int64, condType string, status metav1.ConditionStatus, reason R, message string, now time.Time) bool {
	old := meta.FindStatusCondition(*conds, condType)
	if old != nil && old.Status == status && old.Reason == string(reason) && old.Message == message && old.ObservedGeneration == generation {
		return false
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: condType, Status: status, Reason: string(reason), Message: message,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now),
	})
	return true
}

// Get returns the condition of type condType, or nil.
func Get(conds []metav1.Condition, condType string) *metav1.Condition {
	return meta.FindStatusCondition(conds, condType)
}
