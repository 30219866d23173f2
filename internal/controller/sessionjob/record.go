package sessionjob

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
)

// Size limits of what the API server accepts: a condition message, and the
// note of an events.k8s.io Event.
const (
	maxConditionMessage = 32 * 1024
	maxEventNote        = 1024
)

// conflictRetry: a status write lost to a concurrent one (update-status
// reporting, most likely) is decided again on the newer object. Its watch
// event requeues the session anyway; this is the fallback.
const conflictRetry = time.Second

// Event actions (events.k8s.io requires one).
const (
	actionStart  = "StartJob"
	actionFinish = "Finish"
)

// Record writes out into the shared part of a session's status: the
// Succeeded condition (Unknown while running, True on success, False on
// failure) and, once the session is final, its duration since creation.
func Record(conds *[]metav1.Condition, sessionDuration *string, generation int64, out Outcome, created, now time.Time) {
	status := metav1.ConditionUnknown
	switch out.Phase {
	case PhaseSucceeded:
		status = metav1.ConditionTrue
	case PhaseFailed:
		status = metav1.ConditionFalse
	}
	conditions.Set(conds, generation, stashv1beta1.ConditionSucceeded, status, out.Reason, cutBack(out.Message, maxConditionMessage), now)
	if out.Phase.Final() {
		*sessionDuration = Duration(created, now)
	}
}

// Duration is a session's sessionDuration: from creation to now, in whole
// seconds (creationTimestamp has no finer precision).
func Duration(created, now time.Time) string {
	d := now.Sub(created).Round(time.Second)
	if d < 0 {
		d = 0 // a clock behind the API server's
	}
	return d.String()
}

// Commit writes session, whose status the caller has set, through the
// status subresource, and announces a change of phase with an Event once
// the write succeeded (so that a lost write announces nothing); notes, such
// as the resolver's warnings, are added to the Event. written says whether
// it was written: a conflict is not an error but a reason to decide again
// on the newer object.
func Commit(ctx context.Context, c client.Client, rec events.EventRecorder, session client.Object, phaseChanged bool, out Outcome, notes ...string) (written bool, _ ctrl.Result, _ error) {
	if err := c.Status().Update(ctx, session); err != nil {
		if apierrors.IsConflict(err) {
			return false, ctrl.Result{RequeueAfter: conflictRetry}, nil
		}
		return false, ctrl.Result{}, fmt.Errorf("write status of %s/%s: %w", session.GetNamespace(), session.GetName(), err)
	}
	if phaseChanged {
		Announce(rec, session, out, notes...)
	}
	return true, ctrl.Result{RequeueAfter: out.RequeueAfter}, nil
}

// Announce records an Event for a session's new phase: reason is the
// condition's reason, so `kubectl describe` and the condition agree.
func Announce(rec events.EventRecorder, session client.Object, out Outcome, notes ...string) {
	eventType, action := corev1.EventTypeNormal, actionFinish
	switch out.Phase {
	case PhaseFailed, PhaseUnknown:
		eventType = corev1.EventTypeWarning
	case PhaseRunning:
		action = actionStart
	}
	note := strings.Join(append([]string{fmt.Sprintf("%s: %s", out.Phase, out.Message)}, notes...), "\n")
	rec.Eventf(session, nil, eventType, out.Reason, action, "%s", cutBack(note, maxEventNote))
}
