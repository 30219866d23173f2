// Package lifecycle runs a session, a BackupSession or a RestoreSession,
// from creation to a final phase: it resolves the session's Job, gives it
// its account and creates it, follows the Job and its pod, and writes the
// verdict of internal/session's rules. The two session controllers differ
// only in a Kind: how their objects are named and how a session finds its
// invoker; everything else is written once, here.
package lifecycle

import (
	"cmp"
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/jobrbac"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/metrics"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/session"
	"github.com/stash-operator/stash/internal/status"
)

// What the shared lifecycle reads and writes, for every session kind. The
// session kinds themselves are in the controllers' packages.
//
// +kubebuilder:rbac:groups=stash.appscode.com,resources=repositories;tasks;functions,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Session is a BackupSession or a RestoreSession.
type Session interface {
	client.Object
	session.Object
}

// Kind is what is particular to one kind of session.
type Kind struct {
	// Naming names the session's Jobs and accounts.
	Naming naming.SessionKind
	// InvokerKind is the kind of the object whose Task the session runs,
	// as the invoker-kind label of its Jobs and their pods says it.
	InvokerKind string
	// New returns an empty session to read into.
	New func() Session
	// Invoker reads the object whose Task the session runs: the session's
	// BackupConfiguration, or the RestoreSession itself. A session that
	// cannot start because its invoker is missing gets a verdict instead.
	Invoker func(ctx context.Context, r Readers, s Session) (client.Object, *session.Verdict, error)
}

// Runner runs the sessions of one Kind. Each field can be set; Setup fills
// those left empty from the manager. ResolveOptions is the one the operator
// must set.
type Runner struct {
	// Client, APIReader (confirms that something is missing before a
	// session fails for it), Clock and Recorder (the Events of phase
	// changes).
	deps.Deps
	// ResolveOptions shape every Job (image, pull policy, pushgateway).
	ResolveOptions resolve.Options
	// ImagePullGracePeriod is how long a step may wait for its image;
	// default DefaultImagePullGracePeriod.
	ImagePullGracePeriod time.Duration
	// PodStartTimeout is how long a Job may take to start its first step;
	// default DefaultPodStartTimeout.
	PodStartTimeout time.Duration
	// MissingSourceGrace is how long a Job's pod may wait for a volume's
	// Secret, ConfigMap or claim that does not exist; default
	// DefaultMissingSourceGrace.
	MissingSourceGrace time.Duration

	kind Kind
}

// DefaultImagePullGracePeriod is how long a step may wait for its image
// before the session fails: long enough for a slow registry and one or two
// back-offs, short enough that a typo in an image does not wait for the
// session's timeOut.
const DefaultImagePullGracePeriod = 2 * time.Minute

// DefaultPodStartTimeout is how long a session's Job may take to get its
// pod created, scheduled and its first step started. Without it a pod that
// can never start (an unbound claim, a volume that does not mount, a quota)
// would leave the session Running for good, and under concurrencyPolicy
// Forbid every later tick would be skipped behind it.
const DefaultPodStartTimeout = 10 * time.Minute

// DefaultMissingSourceGrace is how long a pod may wait for a volume source
// that does not exist: what one apply creates may arrive in any order, but a
// missing Secret should fail the session in about a minute, not at the pod
// start timeout.
const DefaultMissingSourceGrace = time.Minute

// jobHost is the host of a session's one Job, as Stash names it.
const jobHost = "host-0"

// Setup fills the Runner's empty fields from mgr and registers it, named
// name, as the controller of kind's sessions; it also watches their Jobs
// and the Jobs' pods.
func (r *Runner) Setup(mgr ctrl.Manager, name string, kind Kind) error {
	r.kind = kind
	r.Default(mgr, name)
	return register(mgr, name, kind, r)
}

// Reconcile reads the session req names, then starts it if it is new or
// follows it if it runs; a finished session only has its steps settled.
func (r *Runner) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	s := r.kind.New()
	if err := r.Client.Get(ctx, req.NamespacedName, s); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if s.SessionStatus().Phase.IsNew() {
		// The cache may not show our own last write (Running) yet. Starting
		// again from that stale view would create the Job a second time if
		// it was deleted meanwhile; starts are rare, so ask the API server.
		if err := r.APIReader.Get(ctx, req.NamespacedName, s); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	read := s.DeepCopyObject()
	phase := s.SessionStatus().Phase
	switch {
	case phase.IsNew() && skipped(s):
		// A tick under concurrencyPolicy Forbid: the BackupConfiguration
		// controller records it as Skipped; it must never run.
		return ctrl.Result{}, nil
	case phase.IsNew():
		return r.start(ctx, s, read)
	case phase == stashv1beta1.SessionRunning:
		return r.follow(ctx, s, read)
	case stepsUnsettled(s.SessionStatus().Steps):
		return r.settle(ctx, s, read)
	}
	return ctrl.Result{}, nil
}

// stepStarted: some step of the Job has run or runs.
func stepStarted(steps []stashv1beta1.StepStatus) bool {
	for _, st := range steps {
		if st.Phase != stashv1beta1.StepPending {
			return true
		}
	}
	return false
}

func skipped(s Session) bool {
	_, ok := s.GetAnnotations()[stashv1beta1.AnnotationSkipped]
	return ok
}

// stepsUnsettled: some step still shows Pending or Running. A session can
// finish before its pod does: update-status reports the result just before
// its container exits.
func stepsUnsettled(steps []stashv1beta1.StepStatus) bool {
	for _, st := range steps {
		if st.Phase != stashv1beta1.StepSucceeded && st.Phase != stashv1beta1.StepFailed {
			return true
		}
	}
	return false
}

func (r *Runner) readers() Readers { return Readers{Cached: r.Client, Direct: r.APIReader} }

// start resolves the Job, gives it its account and creates it. Every step
// is idempotent, so a start interrupted anywhere is simply done again.
func (r *Runner) start(ctx context.Context, s Session, read runtime.Object) (ctrl.Result, error) {
	log.FromContext(ctx).Info("starting the session")
	invoker, failure, err := r.kind.Invoker(ctx, r.readers(), s)
	if err != nil {
		return ctrl.Result{}, err
	}
	if failure != nil {
		return r.write(ctx, s, read, *failure)
	}
	resolved, err := r.readers().Resolve(ctx, invoker, s, r.ResolveOptions)
	if v, ok := ResolveFailure(err); ok {
		return r.write(ctx, s, read, v)
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("resolve the Job of %s/%s: %w", s.GetNamespace(), s.GetName(), err)
	}
	job := resolved.Job
	rbac := jobrbac.DirectClient(r.Client, r.APIReader)
	err = jobrbac.Ensure(ctx, rbac, invoker, s.GetNamespace(), job.Spec.Template.Spec.ServiceAccountName, r.kind.Naming, resolved.RepositorySecret)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := CreateJob(ctx, r.Client, r.APIReader, job); err != nil {
		if v, ok := JobRefused(err); ok {
			return r.write(ctx, s, read, v)
		}
		return ctrl.Result{}, err
	}
	status.Start(s, resolved.Target, 1)
	s.SessionStatus().Steps = resolved.Steps
	return r.write(ctx, s, read, session.Running(job.Name), resolved.Warnings...)
}

// follow judges a running session from its hosts' reports, its Job and the
// Job's pod.
func (r *Runner) follow(ctx context.Context, s Session, read runtime.Object) (ctrl.Result, error) {
	job, pod, err := r.readers().Observe(ctx, s.GetNamespace(), r.kind.Naming.JobName(s.GetName()), s.GetUID())
	if err != nil {
		return ctrl.Result{}, err
	}
	st := s.SessionStatus()
	host := session.Host{Name: jobHost, Job: job, Pod: pod}
	if job != nil {
		st.Steps = session.UpdateSteps(st.Steps, &job.Spec.Template.Spec, pod)
		if !stepStarted(st.Steps) {
			if host.MissingSources, err = r.readers().MissingSources(ctx, &job.Spec.Template.Spec, job.Namespace); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	host.Steps = st.Steps
	host.Report = status.ReportOf([]string{jobHost}, status.Reports(s))[jobHost]
	return r.write(ctx, s, read, session.Decide(session.Observation{
		Hosts:   []session.Host{host},
		Created: s.GetCreationTimestamp().Time, Now: r.Clock.Now(),
		ImagePullGrace:     cmp.Or(r.ImagePullGracePeriod, DefaultImagePullGracePeriod),
		PodStartTimeout:    cmp.Or(r.PodStartTimeout, DefaultPodStartTimeout),
		MissingSourceGrace: cmp.Or(r.MissingSourceGrace, DefaultMissingSourceGrace),
	}))
}

// settle records the final state of a finished session's steps from its
// pod, and nothing else: the phase was decided and stays. A Job whose pod
// can make no progress is stopped here, once the Failed phase is stored, so
// the steps recorded then are what the session keeps.
func (r *Runner) settle(ctx context.Context, s Session, read runtime.Object) (ctrl.Result, error) {
	job, pod, err := r.readers().Observe(ctx, s.GetNamespace(), r.kind.Naming.JobName(s.GetName()), s.GetUID())
	if err != nil || job == nil {
		return ctrl.Result{}, err
	}
	if v := finalVerdict(s); session.StopJob(v, job) {
		return ctrl.Result{}, r.stopJob(ctx, job, v)
	}
	st := s.SessionStatus()
	st.Steps = session.UpdateSteps(st.Steps, &job.Spec.Template.Spec, pod)
	if equality.Semantic.DeepEqual(read, s) {
		return ctrl.Result{}, nil
	}
	if err := r.Client.Status().Update(ctx, s); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: kube.ConflictRetry}, nil
		}
		return ctrl.Result{}, fmt.Errorf("record the final steps of %s/%s: %w", s.GetNamespace(), s.GetName(), err)
	}
	return ctrl.Result{}, nil
}

// finalVerdict is the verdict recorded in a finished session's Succeeded
// condition.
func finalVerdict(s Session) session.Verdict {
	st := s.SessionStatus()
	v := session.Verdict{Phase: st.Phase}
	if c := conditions.Get(st.Conditions, stashv1beta1.ConditionSucceeded); c != nil {
		v.Reason, v.Message = stashv1beta1.SessionReason(c.Reason), c.Message
	}
	return v
}

// stopJob suspends the Job of a session that failed while its pod could make
// no progress: the Job controller deletes the pod, and the Job stays for
// inspection.
func (r *Runner) stopJob(ctx context.Context, job *batchv1.Job, v session.Verdict) error {
	log.FromContext(ctx).Info("stopping the Job of a failed session", "job", job.Name, "reason", v.Reason)
	before := job.DeepCopy()
	job.Spec.Suspend = ptr.To(true)
	if err := r.Client.Patch(ctx, job, client.MergeFrom(before)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("stop Job %s/%s of a session that failed (%s): %w", job.Namespace, job.Name, v.Reason, err))
	}
	return nil
}

// write records v in the session and writes its status if it is no longer
// the one read; a session that just finished is counted.
func (r *Runner) write(ctx context.Context, s Session, read runtime.Object, v session.Verdict, notes ...string) (ctrl.Result, error) {
	now := r.Clock.Now()
	st := s.SessionStatus()
	phaseChanged := st.Phase != v.Phase
	st.Phase = v.Phase
	if v.Phase.IsFinished() {
		status.Settle(s, v.Phase)
	}
	Record(st, s.GetGeneration(), v, s.GetCreationTimestamp().Time, now)
	if equality.Semantic.DeepEqual(read, s) {
		return ctrl.Result{RequeueAfter: v.RequeueAfter}, nil
	}
	written, res, err := Commit(ctx, r.Client, r.Recorder, s, phaseChanged, v, notes...)
	if written && phaseChanged {
		logVerdict(ctx, v)
		if v.Phase.IsFinished() {
			metrics.SessionFinished(s, v.Phase, now)
		}
	}
	return res, err
}

// logVerdict logs a change of phase at the level controller-runtime users
// expect: info for the normal course, error-free for failures too (they
// are the user's to fix, and the condition and an Event say so).
func logVerdict(ctx context.Context, v session.Verdict) {
	log.FromContext(ctx).Info("session phase changed", "phase", v.Phase, "reason", v.Reason, "rule", v.Rule, "message", v.Message)
}
