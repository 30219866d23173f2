package backupconfiguration

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/text"
)

// fire creates the session of the tick, applying concurrencyPolicy against
// the sessions of bc that still run. The session is named after the tick, so
// firing the same tick again (a retry, a restart between creating the
// session and recording lastScheduleTime) creates nothing new. It returns
// the session it created, or nil when the tick's session already existed.
//
// Forbid (the default) still creates the tick's session, born with
// AnnotationSkipped so that it can never run, and then sets its phase to
// Skipped: a skipped backup is visible where backups are looked for.
// Replace fails the running sessions first (and deletes their Jobs), then
// creates the new one; Allow just creates it.
func (r *Reconciler) fire(ctx context.Context, bc *stashv1beta1.BackupConfiguration, tick time.Time,
	sessions []stashv1beta1.BackupSession, now time.Time) (*stashv1beta1.BackupSession, error) {
	name := naming.SessionName(bc.Name, tick)
	for i := range sessions {
		if sessions[i].Name == name {
			return nil, nil
		}
	}
	bs := resolve.NewBackupSession(bc, name)
	if err := controllerutil.SetControllerReference(bc, bs, r.Client.Scheme()); err != nil {
		return nil, fmt.Errorf("own BackupSession %s: %w", name, err)
	}

	policy := bc.Spec.ConcurrencyPolicy
	if policy == "" {
		policy = stashv1beta1.ForbidConcurrent
	}
	var skipMessage string
	switch others := runningOf(sessions); {
	case policy == stashv1beta1.ForbidConcurrent && len(others) > 0:
		skipMessage = fmt.Sprintf("skipped the tick at %s: %s still running (concurrencyPolicy Forbid)",
			tick.UTC().Format(time.RFC3339), describe(others))
		if bs.Annotations == nil {
			bs.Annotations = map[string]string{}
		}
		bs.Annotations[stashv1beta1.AnnotationSkipped] = skipMessage
	case policy == stashv1beta1.ReplaceConcurrent:
		for _, old := range others {
			if err := r.replace(ctx, bc, old, name, now); err != nil {
				return nil, err
			}
		}
		// A retry of this tick after a Job could not be deleted.
		for i := range sessions {
			if replaced(&sessions[i]) {
				if err := r.deleteJobs(ctx, &sessions[i]); err != nil {
					return nil, err
				}
			}
		}
	}

	if err := r.Client.Create(ctx, bs); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create BackupSession %s/%s of the tick at %s: %w", bs.Namespace, name, tick.UTC().Format(time.RFC3339), err)
		}
		// An earlier reconcile created it and the cache does not show it yet.
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(bs), bs); err != nil {
			return nil, fmt.Errorf("get BackupSession %s/%s: %w", bs.Namespace, name, err)
		}
		if interruptedSkip(bs) {
			return nil, r.markSkipped(ctx, bs, bs.Annotations[stashv1beta1.AnnotationSkipped], now)
		}
		return nil, nil
	}
	log.FromContext(ctx).Info("created the BackupSession of a tick", "session", name, "tick", tick.UTC(), "skipped", skipMessage != "")
	if skipMessage != "" {
		r.Recorder.Eventf(bc, bs, corev1.EventTypeWarning, stashv1beta1.EventReasonSessionSkipped, "Schedule", "%s", text.CutBack("BackupSession "+name+": "+skipMessage, text.MaxEventNote))
		if err := r.markSkipped(ctx, bs, skipMessage, now); err != nil {
			return nil, err
		}
	} else {
		r.Recorder.Eventf(bc, bs, corev1.EventTypeNormal, stashv1beta1.EventReasonSessionScheduled, "Schedule",
			"created BackupSession %s for the tick at %s", name, tick.UTC().Format(time.RFC3339))
	}
	return bs, nil
}

// markSkipped sets the phase of a session created for a skipped tick.
func (r *Reconciler) markSkipped(ctx context.Context, bs *stashv1beta1.BackupSession, message string, now time.Time) error {
	_, err := r.updateSessionStatus(ctx, bs, func(cur *stashv1beta1.BackupSession) bool {
		if cur.Status.Phase != "" {
			return false // someone else decided first
		}
		cur.Status.Phase = stashv1beta1.SessionSkipped
		conditions.Set(&cur.Status.Conditions, cur.Generation, stashv1beta1.ConditionSucceeded,
			metav1.ConditionFalse, stashv1beta1.ReasonConcurrentSessionRunning, message, now)
		return true
	})
	return err
}

// replace fails a running session in favour of the tick's session newName,
// and deletes its Jobs so that two backups of one target do not overlap.
func (r *Reconciler) replace(ctx context.Context, bc *stashv1beta1.BackupConfiguration, old *stashv1beta1.BackupSession, newName string, now time.Time) error {
	message := fmt.Sprintf("replaced by BackupSession %q (concurrencyPolicy Replace)", newName)
	replaced, err := r.updateSessionStatus(ctx, old, func(cur *stashv1beta1.BackupSession) bool {
		if !running(cur) {
			return false // it finished meanwhile
		}
		cur.Status.Phase = stashv1beta1.SessionFailed
		conditions.Set(&cur.Status.Conditions, cur.Generation, stashv1beta1.ConditionSucceeded,
			metav1.ConditionFalse, stashv1beta1.ReasonReplacedByNewerSession, message, now)
		return true
	})
	if err != nil || !replaced {
		return err
	}
	r.Recorder.Eventf(bc, old, corev1.EventTypeNormal, stashv1beta1.EventReasonSessionReplaced, "Schedule",
		"BackupSession %s failed: %s", old.Name, message)
	return r.deleteJobs(ctx, old)
}

// replaced reports whether a session was failed by concurrencyPolicy Replace.
func replaced(bs *stashv1beta1.BackupSession) bool {
	c := conditions.Get(bs.Status.Conditions, stashv1beta1.ConditionSucceeded)
	return bs.Status.Phase == stashv1beta1.SessionFailed && c != nil && c.Reason == string(stashv1beta1.ReasonReplacedByNewerSession)
}

// deleteJobs deletes the Jobs of a replaced session, with their pods: only
// Jobs the session controls, by UID, so that a Job of the same name that
// belongs to another object is never touched.
func (r *Reconciler) deleteJobs(ctx context.Context, bs *stashv1beta1.BackupSession) error {
	for _, h := range bs.Status.Hosts {
		if h.Job == "" {
			continue
		}
		var job batchv1.Job
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: bs.Namespace, Name: h.Job}, &job)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get Job %s/%s of the replaced BackupSession %s: %w", bs.Namespace, h.Job, bs.Name, err)
		}
		if owner := metav1.GetControllerOf(&job); owner == nil || owner.UID != bs.UID {
			continue
		}
		err = r.Client.Delete(ctx, &job, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &job.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete Job %s/%s of the replaced BackupSession %s: %w", job.Namespace, job.Name, bs.Name, err)
		}
	}
	return nil
}

// updateSessionStatus applies change to the newest version of bs and writes
// its status, retrying on conflicts; change returns false when nothing is to
// be written. bs is updated with what was written. It reports whether a
// change was written. A session that is gone is not an error.
func (r *Reconciler) updateSessionStatus(ctx context.Context, bs *stashv1beta1.BackupSession, change func(*stashv1beta1.BackupSession) bool) (bool, error) {
	first, written := true, false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := bs.DeepCopy()
		if !first { // the first try uses what we have: usually current
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(bs), cur); err != nil {
				return err
			}
		}
		first = false
		if !change(cur) {
			return nil
		}
		if err := r.Client.Status().Update(ctx, cur); err != nil {
			return err
		}
		cur.DeepCopyInto(bs)
		written = true
		return nil
	})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("update status of BackupSession %s/%s: %w", bs.Namespace, bs.Name, err)
	}
	return written, nil
}
