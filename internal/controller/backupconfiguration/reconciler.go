// Package backupconfiguration reconciles BackupConfigurations: it reports in
// the Ready condition whether the Task resolves (a dry run against the live
// Tasks, Functions and Repository), creates a BackupSession at every tick of
// the schedule (inside the operator, no CronJob), applies concurrencyPolicy,
// and deletes finished sessions beyond backupHistoryLimit.
//
// It is thin: the schedule decision is internal/schedule's, the resolution
// internal/resolve's; this package reads the cluster and writes the results.
// Every decision is recomputed from the cluster: sessions are named after
// their tick, so a restart at any moment creates no duplicates.
//
// A configuration that is not Ready still gets its scheduled sessions: the
// session controller fails each one with the resolution errors, so a broken
// configuration shows up as failed backups at the times they were due,
// rather than as silence. Running the sessions is not this controller's
// job; neither is blocking sessions created by hand (they run when paused).
package backupconfiguration

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/inputs"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/schedule"
	"github.com/stash-operator/stash/internal/text"
)

// ControllerName names the controller and its log lines.
const ControllerName = "backupconfiguration"

// EventSource is the reporting controller of its events.
const EventSource = "stash-backupconfiguration"

// invokerKind is the spec.invoker.kind of the sessions this controller makes.
const invokerKind = "BackupConfiguration"

// Reconciler reconciles BackupConfigurations.
type Reconciler struct {
	// Client, APIReader (reads around the cache where a stale read would be
	// wrong: a session this controller may have just created; and Secrets),
	// Clock and Recorder (events on BackupConfigurations); SetupWithManager
	// sets those left empty from the manager.
	deps.Deps
	// ResolveOptions shape the dry-run Job, as they shape the real one.
	ResolveOptions resolve.Options

	references referenceCache
}

// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupconfigurations,verbs=get;list;watch
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupconfigurations/status,verbs=update
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupconfigurations/finalizers,verbs=update
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupsessions,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupsessions/status,verbs=update
// +kubebuilder:rbac:groups=stash.appscode.com,resources=tasks;functions;repositories,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one BackupConfiguration's status and sessions up to date.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var bc stashv1beta1.BackupConfiguration
	if err := r.Client.Get(ctx, req.NamespacedName, &bc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !bc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // its sessions go with it, by ownerReference
	}
	now := r.Clock.Now()
	status := bc.Status.DeepCopy()
	status.ObservedGeneration = bc.Generation

	sched, scheduleErr := schedule.Parse(bc.Spec.Schedule, bc.Spec.TimeZone)
	ready, err := r.checkReady(ctx, &bc, status, scheduleErr, now)
	if err != nil {
		return ctrl.Result{}, err
	}

	sessions, err := r.sessionsOf(ctx, &bc)
	if err != nil {
		return ctrl.Result{}, err
	}
	for i := range sessions {
		if interruptedSkip(&sessions[i]) {
			if err := r.markSkipped(ctx, &sessions[i], sessions[i].Annotations[stashv1beta1.AnnotationSkipped], now); err != nil {
				return ctrl.Result{}, err
			}
		}
	}

	var result ctrl.Result
	status.NextScheduleTime = nil
	if scheduleErr == nil {
		d := sched.Decide(decisionInput(&bc), now)
		if !d.Tick.IsZero() {
			created, err := r.fire(ctx, &bc, d.Tick, sessions, now)
			if err != nil {
				return ctrl.Result{}, err
			}
			if created != nil {
				sessions = append(sessions, *created)
			}
			status.LastScheduleTime = &metav1.Time{Time: d.Tick}
		}
		if !d.Next.IsZero() {
			status.NextScheduleTime = &metav1.Time{Time: d.Next}
			result.RequeueAfter = d.Next.Sub(now)
		}
		nextChanged := !equality.Semantic.DeepEqual(status.NextScheduleTime, bc.Status.NextScheduleTime)
		if !d.Missed.IsZero() && (!d.Tick.IsZero() || nextChanged) {
			r.Recorder.Eventf(&bc, nil, corev1.EventTypeWarning, stashv1beta1.EventReasonMissedSchedule, "Schedule",
				"ticks from %s on were missed and not run: only the newest tick within the starting deadline (%s) is caught up",
				d.Missed.UTC().Format(time.RFC3339), deadline(&bc))
		}
	}

	// The status first: should it fail, the tick is decided again, and a
	// session of it that pruning deleted would be created anew.
	if !equality.Semantic.DeepEqual(*status, bc.Status) {
		bc.Status = *status
		if err := r.Client.Status().Update(ctx, &bc); err != nil {
			if apierrors.IsConflict(err) {
				// The cache was behind. Try again with a newer version: the
				// tick's session, already created, is not created twice.
				log.FromContext(ctx).V(1).Info("status update conflicted; retrying", "error", err.Error())
				return ctrl.Result{RequeueAfter: kube.ConflictRetry}, nil
			}
			return ctrl.Result{}, fmt.Errorf("update status of BackupConfiguration %s/%s: %w", bc.Namespace, bc.Name, err)
		}
	}
	if err := r.pruneHistory(ctx, &bc, sessions); err != nil {
		return ctrl.Result{}, err
	}
	if !ready && (result.RequeueAfter == 0 || result.RequeueAfter > notReadyRecheck) {
		// What is missing may be created any moment; nothing else tells us.
		result.RequeueAfter = notReadyRecheck
	}
	return result, nil
}

// notReadyRecheck is how soon a configuration that is not Ready is checked
// again, for a Secret or target created since.
const notReadyRecheck = 30 * time.Second

// checkReady resolves the configuration's Task as a session created now
// would, checks what its Jobs will need from the namespace, and sets the
// Ready condition on status. It reports whether the configuration is Ready.
func (r *Reconciler) checkReady(ctx context.Context, bc *stashv1beta1.BackupConfiguration, status *stashv1beta1.BackupConfigurationStatus, scheduleErr error, now time.Time) (bool, error) {
	cat, err := inputs.Catalog(ctx, r.Client)
	if err != nil {
		return false, err
	}
	repo, err := inputs.Repository(ctx, r.Client, bc.Namespace, bc.Spec.Repository.Name)
	if err != nil {
		return false, err
	}
	bs := resolve.NewBackupSession(bc, naming.SessionName(bc.Name, now))
	host := resolve.SingleHost
	if bc.Spec.Target != nil {
		if host.App, err = inputs.App(ctx, r.APIReader, bc.Namespace, bc.Spec.Target.Ref); err != nil {
			return false, err
		}
	}
	res, resolveErr := resolve.Backup(cat, bc, bs, repo, host, r.ResolveOptions)
	refs, err := r.checkReferences(ctx, bc, repo, now)
	if err != nil {
		return false, err
	}
	cond, reason, message := readiness(bc.Spec.Task.Name, scheduleErr, res, resolveErr, refs)
	ready := cond == metav1.ConditionTrue
	if !conditions.Set(&status.Conditions, bc.Generation, stashv1beta1.ConditionReady, cond, reason, message, now) {
		return ready, nil
	}
	switch {
	case cond != metav1.ConditionTrue:
		r.Recorder.Eventf(bc, nil, corev1.EventTypeWarning, stashv1beta1.EventReasonNotReady, "Resolve", "%s", text.CutBack(string(reason)+": "+message, text.MaxEventNote))
	case res != nil && len(res.Warnings) > 0:
		r.Recorder.Eventf(bc, nil, corev1.EventTypeWarning, stashv1beta1.EventReasonResolveWarning, "Resolve", "%s", text.CutBack(message, text.MaxEventNote))
	}
	return ready, nil
}

// sessionsOf lists the sessions of bc, whoever created them, by
// spec.invoker (immutable and always set; labels may be missing on a
// session created by hand).
func (r *Reconciler) sessionsOf(ctx context.Context, bc *stashv1beta1.BackupConfiguration) ([]stashv1beta1.BackupSession, error) {
	var list stashv1beta1.BackupSessionList
	if err := r.Client.List(ctx, &list, client.InNamespace(bc.Namespace),
		client.MatchingFields{sessionInvokerField: invokerKey(invokerKind, bc.Name)}); err != nil {
		return nil, fmt.Errorf("list BackupSessions of %s/%s: %w", bc.Namespace, bc.Name, err)
	}
	return list.Items, nil
}

// pruneHistory deletes the finished sessions beyond backupHistoryLimit
// (default 1), keeping the newest failed one. Their Jobs go with them by
// ownerReference.
func (r *Reconciler) pruneHistory(ctx context.Context, bc *stashv1beta1.BackupConfiguration, sessions []stashv1beta1.BackupSession) error {
	limit := 1
	if bc.Spec.BackupHistoryLimit != nil {
		limit = max(int(*bc.Spec.BackupHistoryLimit), 0)
	}
	for _, bs := range expired(sessions, limit) {
		err := r.Client.Delete(ctx, bs, client.PropagationPolicy(metav1.DeletePropagationBackground),
			client.Preconditions{UID: &bs.UID})
		switch {
		case err == nil:
			log.FromContext(ctx).V(1).Info("deleted a BackupSession beyond backupHistoryLimit", "session", bs.Name, "limit", limit)
		case apierrors.IsNotFound(err), apierrors.IsConflict(err): // gone, or a new object of that name
		default:
			return fmt.Errorf("delete BackupSession %s/%s beyond backupHistoryLimit %d: %w", bs.Namespace, bs.Name, limit, err)
		}
	}
	return nil
}

// decisionInput is what the schedule decision needs from bc.
func decisionInput(bc *stashv1beta1.BackupConfiguration) schedule.Input {
	in := schedule.Input{
		Schedule: bc.Spec.Schedule, TimeZone: bc.Spec.TimeZone, Paused: bc.Spec.Paused,
		StartingDeadlineSeconds: bc.Spec.StartingDeadlineSeconds,
		Created:                 bc.CreationTimestamp.Time,
	}
	if t := bc.Status.LastScheduleTime; t != nil {
		in.LastScheduleTime = t.Time
	}
	return in
}

// deadline is the starting deadline of bc, for messages.
func deadline(bc *stashv1beta1.BackupConfiguration) time.Duration {
	if s := bc.Spec.StartingDeadlineSeconds; s != nil {
		return time.Duration(*s) * time.Second
	}
	return schedule.DefaultStartingDeadline
}
