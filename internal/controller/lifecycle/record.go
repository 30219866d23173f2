package lifecycle

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
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/session"
	"github.com/stash-operator/stash/internal/text"
)

// Event actions (events.k8s.io requires one).
const (
	actionStart  = "StartJob"
	actionFinish = "Finish"
)

// Record writes v into the shared part of a session's status: the
// Succeeded condition (Unknown while running, True on success, False on
// failure) and, once the session is final, its duration since creation.
func Record(st *stashv1beta1.SessionStatus, generation int64, v session.Verdict, created, now time.Time) {
	status := metav1.ConditionUnknown
	switch v.Phase {
	case stashv1beta1.SessionSucceeded:
		status = metav1.ConditionTrue
	case stashv1beta1.SessionFailed:
		status = metav1.ConditionFalse
	}
	conditions.Set(&st.Conditions, generation, stashv1beta1.ConditionSucceeded, status, v.Reason, text.CutBack(v.Message, text.MaxConditionMessage), now)
	if v.Phase.IsFinished() {
		st.SessionDuration = Duration(created, now)
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
func Commit(ctx context.Context, c client.Client, rec events.EventRecorder, s client.Object, phaseChanged bool, v session.Verdict, notes ...string) (written bool, _ ctrl.Result, _ error) {
	if err := c.Status().Update(ctx, s); err != nil {
		if apierrors.IsConflict(err) {
			return false, ctrl.Result{RequeueAfter: kube.ConflictRetry}, nil
		}
		return false, ctrl.Result{}, fmt.Errorf("write status of %s/%s: %w", s.GetNamespace(), s.GetName(), err)
	}
	if phaseChanged {
		Announce(rec, s, v, notes...)
	}
	return true, ctrl.Result{RequeueAfter: v.RequeueAfter}, nil
}

// Announce records an Event for a session's new phase: reason is the
// condition's reason, so `kubectl describe` and the condition agree.
func Announce(rec events.EventRecorder, s client.Object, v session.Verdict, notes ...string) {
	eventType, action := corev1.EventTypeNormal, actionFinish
	switch v.Phase {
	case stashv1beta1.SessionFailed, stashv1beta1.SessionUnknown:
		eventType = corev1.EventTypeWarning
	case stashv1beta1.SessionRunning:
		action = actionStart
	}
	note := strings.Join(append([]string{fmt.Sprintf("%s: %s", v.Phase, v.Message)}, notes...), "\n")
	rec.Eventf(s, nil, eventType, string(v.Reason), action, "%s", text.CutBack(note, text.MaxEventNote))
}
