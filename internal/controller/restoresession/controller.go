// Package restoresession runs RestoreSessions. A RestoreSession is its own
// invoker and session: it names the Task, Repository and target, and its
// status records the result. The lifecycle is the BackupSession's
// (sessionjob): resolve one Job, create it with its account, follow it and
// its pod to a final phase with a typed reason. This package says what is
// particular to restores.
package restoresession

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/utils/ptr"
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
const ControllerName = "restoresession"

// Reconciler runs RestoreSessions. Its fields are sessionjob.Runner's:
// Client, APIReader, Clock, Recorder, ResolveOptions, ImagePullGracePeriod.
type Reconciler struct {
	sessionjob.Runner
}

// +kubebuilder:rbac:groups=stash.appscode.com,resources=restoresessions,verbs=get;list;watch
// +kubebuilder:rbac:groups=stash.appscode.com,resources=restoresessions/status,verbs=update

// SetupWithManager registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	// The RestoreSession invokes its own Job: its pods carry its kind.
	return r.Setup(mgr, ControllerName, &stashv1beta1.RestoreSession{}, "RestoreSession", r)
}

// Reconcile runs one step of a session's lifecycle.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return r.Runner.Reconcile(ctx, req, &session{&stashv1beta1.RestoreSession{}})
}

// session is a RestoreSession for the lifecycle.
type session struct{ *stashv1beta1.RestoreSession }

func (s *session) Object() client.Object { return s.RestoreSession }
func (s *session) Phase() string         { return string(s.Status.Phase) }
func (s *session) Restore() bool         { return true }

func (s *session) SetPhase(phase sessionjob.Phase) {
	s.Status.Phase = stashv1beta1.RestoreSessionPhase(phase)
}

func (s *session) Fields() sessionjob.Fields {
	return sessionjob.Fields{Conditions: &s.Status.Conditions, Steps: &s.Status.Steps, SessionDuration: &s.Status.SessionDuration}
}

// Plan: the session is its own invoker, so it can always be planned.
func (s *session) Plan(_ context.Context, _ sessionjob.Readers, opts resolve.Options) (*sessionjob.Plan, *sessionjob.Outcome, error) {
	rs := s.RestoreSession
	return &sessionjob.Plan{
		Invoker: rs, Repository: rs.Spec.Repository.Name, Task: rs.Spec.Task.Name,
		Resolve: func(cat resolve.Catalog, repo *stashv1alpha1.Repository) (*resolve.Result, error) {
			return resolve.Restore(cat, rs, repo, opts)
		},
	}, nil, nil
}

// Started records the one host (one Job, host-0) that will report.
func (s *session) Started() {
	if s.Status.TotalHosts == nil {
		s.Status.TotalHosts = ptr.To[int32](1)
	}
}

// Hosts summarises the hosts' reports with Stash's rule: Running until all
// reported, then Failed if any failed, Unknown if any is unknown.
func (s *session) Hosts() sessionjob.Hosts {
	phase := status.RestorePhaseFromHosts(s.Status)
	if phase == stashv1beta1.RestoreSessionRunning || phase == stashv1beta1.RestoreSessionSucceeded {
		return sessionjob.Hosts{Phase: sessionjob.Phase(phase)}
	}
	var problems []string
	for _, h := range s.Status.Stats {
		if h.Phase != stashv1beta1.HostRestoreSucceeded {
			problems = append(problems, fmt.Sprintf("host %s: %s: %s", h.Hostname, h.Phase, h.Error))
		}
	}
	return sessionjob.Hosts{Phase: sessionjob.Phase(phase), Message: "restore did not succeed: " + strings.Join(problems, "; ")}
}

// Finished counts the session.
func (s *session) Finished(out sessionjob.Outcome, _ time.Time) {
	metrics.RestoreSessions.WithLabelValues(s.Namespace, string(out.Phase)).Inc()
}
