// Package backupsession runs BackupSessions: it resolves the invoker's Task
// into one Job, creates it with the account it runs under, and follows the
// Job and its pod to a final phase that says what happened (DESIGN §5).
// Unlike Stash, a session never waits forever for a report that cannot
// come: a step that fails, a Job that fails or is deleted, an image that
// cannot be pulled, a timeout or a Job that ends without a report each end
// the session with a typed reason. The lifecycle is sessionjob's; this
// package says what is particular to backups.
package backupsession

import (
	"context"
	"fmt"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/sessionjob"
	"github.com/stash-operator/stash/internal/metrics"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/status"
)

// ControllerName names the controller, its logger and its Events.
const ControllerName = "backupsession"

const invokerKind = "BackupConfiguration"

// Reconciler runs BackupSessions. Its fields are sessionjob.Runner's:
// Client, APIReader, Clock, Recorder, ResolveOptions, ImagePullGracePeriod.
type Reconciler struct {
	sessionjob.Runner
}

// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupsessions,verbs=get;list;watch
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupsessions/status,verbs=update
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupconfigurations,verbs=get;list;watch

// SetupWithManager registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return r.Setup(mgr, ControllerName, &stashv1beta1.BackupSession{}, invokerKind, r)
}

// Reconcile runs one step of a session's lifecycle.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return r.Runner.Reconcile(ctx, req, &session{BackupSession: &stashv1beta1.BackupSession{}})
}

// session is a BackupSession for the lifecycle.
type session struct {
	*stashv1beta1.BackupSession
	invoker *stashv1beta1.BackupConfiguration // set by Plan
}

func (s *session) Object() client.Object { return s.BackupSession }
func (s *session) Phase() string         { return string(s.Status.Phase) }
func (s *session) Restore() bool         { return false }

func (s *session) Fields() sessionjob.Fields {
	return sessionjob.Fields{Conditions: &s.Status.Conditions, Steps: &s.Status.Steps, SessionDuration: &s.Status.SessionDuration}
}

// Plan reads the invoker. Only BackupConfigurations invoke sessions so far.
func (s *session) Plan(ctx context.Context, r sessionjob.Readers, opts resolve.Options) (*sessionjob.Plan, *sessionjob.Outcome, error) {
	inv := s.Spec.Invoker
	if inv.Kind != invokerKind {
		out := sessionjob.Failed(stashv1beta1.ReasonJobCreationFailed, fmt.Sprintf("invoker kind %q is not supported yet: use a BackupConfiguration", inv.Kind))
		return nil, &out, nil
	}
	bc := &stashv1beta1.BackupConfiguration{}
	found, err := r.GetConfirmed(ctx, client.ObjectKey{Namespace: s.Namespace, Name: inv.Name}, bc)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		out := sessionjob.Failed(stashv1beta1.ReasonInvokerNotFound, fmt.Sprintf("BackupConfiguration %s/%s not found", s.Namespace, inv.Name))
		return nil, &out, nil
	}
	s.invoker = bc
	return &sessionjob.Plan{
		Invoker: bc, Repository: bc.Spec.Repository.Name, Task: bc.Spec.Task.Name,
		Resolve: func(cat resolve.Catalog, repo *stashv1alpha1.Repository) (*resolve.Result, error) {
			return resolve.Backup(cat, bc, s.BackupSession, repo, opts)
		},
	}, nil, nil
}

// Started adds the target, with one host to report (one Job, host-0).
// Upsert, not replace: update-status may have reported already if an
// earlier start created the Job but could not record it.
func (s *session) Started() {
	var ref stashv1beta1.TargetRef
	if t := s.invoker.Spec.Target; t != nil {
		ref = t.Ref
	}
	status.UpsertBackupHosts(&s.Status, ref, nil)
}

// Hosts summarises the targets' reports.
func (s *session) Hosts() sessionjob.Hosts {
	switch status.BackupPhaseFromTargets(s.Status.Targets) {
	case stashv1beta1.BackupSessionSucceeded:
		return sessionjob.Hosts{Phase: sessionjob.PhaseSucceeded}
	case stashv1beta1.BackupSessionFailed:
		var failures []string
		for _, t := range s.Status.Targets {
			for _, h := range t.Stats {
				if h.Phase != stashv1beta1.HostBackupSucceeded {
					failures = append(failures, fmt.Sprintf("%s %s host %s: %s", t.Ref.Kind, t.Ref.Name, h.Hostname, h.Error))
				}
			}
		}
		return sessionjob.Hosts{Phase: sessionjob.PhaseFailed, Message: "backup failed: " + strings.Join(failures, "; ")}
	}
	return sessionjob.Hosts{Phase: sessionjob.PhaseRunning}
}

// SetPhase also fails the targets still waiting: their hosts will not
// report now.
func (s *session) SetPhase(phase sessionjob.Phase) {
	s.Status.Phase = stashv1beta1.BackupSessionPhase(phase)
	if phase != sessionjob.PhaseFailed {
		return
	}
	for i := range s.Status.Targets {
		if s.Status.Targets[i].Phase == stashv1beta1.TargetBackupRunning {
			s.Status.Targets[i].Phase = stashv1beta1.TargetBackupFailed
		}
	}
}

// Finished counts the session, its duration and, on success, its time.
func (s *session) Finished(out sessionjob.Outcome, now time.Time) {
	ns, invoker := s.Namespace, s.Spec.Invoker.Name
	metrics.BackupSessions.WithLabelValues(ns, invoker, string(out.Phase)).Inc()
	metrics.BackupDuration.WithLabelValues(ns, invoker).Observe(max(now.Sub(s.CreationTimestamp.Time), 0).Seconds())
	if out.Phase == sessionjob.PhaseSucceeded {
		metrics.LastBackupSuccess.WithLabelValues(ns, invoker).Set(float64(now.Unix()))
	}
}
