// Package sessionjob holds what the BackupSession and RestoreSession
// controllers share: the lifecycle itself (Runner: start a new session,
// follow a running one), how a Job's pod becomes status.steps, how a running
// session is judged (Decide), how the verdict is written (Record, Announce)
// and how the Job is created and found. The decisions are pure functions of
// the observed objects and the time, so they are table-tested without a
// cluster and recomputed from scratch on every reconcile.
package sessionjob

import (
	"cmp"
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/controller/jobrbac"
	"github.com/stash-operator/stash/internal/resolve"
)

// What the shared lifecycle reads and writes, for every session kind. The
// session kinds themselves are in the controllers' packages.
//
// +kubebuilder:rbac:groups=stash.appscode.com,resources=repositories;tasks;functions,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Runner is the lifecycle of a session, shared by the BackupSession and
// RestoreSession controllers, which embed it: each field can be set, and
// Setup fills those left empty from the manager. ResolveOptions is the one
// the operator must set.
type Runner struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads the API server directly; it confirms that something
	// is missing before a session fails for it.
	APIReader client.Reader
	// Clock tells the time of timeouts, durations and conditions.
	Clock clock.PassiveClock
	// Recorder records the Events of phase changes.
	Recorder events.EventRecorder
	// ResolveOptions shape every Job (image, pull policy, pushgateway).
	ResolveOptions resolve.Options
	// ImagePullGracePeriod is how long a step may wait for its image;
	// default DefaultImagePullGracePeriod.
	ImagePullGracePeriod time.Duration
	// PodStartTimeout is how long a Job may take to start its first step;
	// default DefaultPodStartTimeout.
	PodStartTimeout time.Duration
}

// Session is a BackupSession or a RestoreSession as its controller presents
// it to the lifecycle: Object is the (empty) session to read into, and the
// other methods read and change it in place.
type Session interface {
	// Object is the session itself.
	Object() client.Object
	// Phase is the session's phase: "" or Pending for a new session.
	Phase() string
	// Restore tells restore sessions (Job and account names) from backups.
	Restore() bool
	// Plan says what the Job is resolved from. A session that cannot
	// start (its invoker is missing) gets no plan but a failure.
	Plan(ctx context.Context, r Readers, opts resolve.Options) (*Plan, *Outcome, error)
	// Started records that the Job was created (targets, hosts).
	Started()
	// Hosts summarises what the hosts reported.
	Hosts() Hosts
	// Fields are the parts of the status the lifecycle writes itself.
	Fields() Fields
	// SetPhase records phase, and what follows from it in the status.
	SetPhase(phase Phase)
	// Finished counts a session that just reached a final phase.
	Finished(out Outcome, now time.Time)
}

// Plan is how a session's Job is made.
type Plan struct {
	// Invoker owns the Job's ServiceAccount, Role and RoleBinding.
	Invoker client.Object
	// Repository and Task are the names the invoker gives.
	Repository, Task string
	// Resolve resolves the Job from what was read.
	Resolve ResolveFunc
}

// Fields point into a session's status.
type Fields struct {
	Conditions      *[]metav1.Condition
	Steps           *[]stashv1beta1.StepStatus
	SessionDuration *string
}

// Setup fills the Runner's empty fields from mgr and registers rec, named
// name, as the controller of session objects; it also watches their Jobs
// and the Jobs' pods (labelled with invokerKind).
func (r *Runner) Setup(mgr ctrl.Manager, name string, session client.Object, invokerKind string, rec reconcile.Reconciler) error {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder(name)
	}
	return register(mgr, name, session, invokerKind, rec)
}

// Reconcile reads the session req names into s, then starts it if it is
// new or follows it if it runs; final sessions are left alone.
func (r *Runner) Reconcile(ctx context.Context, req ctrl.Request, s Session) (ctrl.Result, error) {
	if err := r.Client.Get(ctx, req.NamespacedName, s.Object()); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if isNew(s.Phase()) {
		// The cache may not show our own last write (Running) yet. Starting
		// again from that stale view would create the Job a second time if
		// it was deleted meanwhile; starts are rare, so ask the API server.
		if err := r.APIReader.Get(ctx, req.NamespacedName, s.Object()); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	read := s.Object().DeepCopyObject()
	switch {
	case isNew(s.Phase()) && skipped(s.Object()):
		// A tick under concurrencyPolicy Forbid: the BackupConfiguration
		// controller records it as Skipped; it must never run.
		return ctrl.Result{}, nil
	case isNew(s.Phase()):
		return r.start(ctx, s, read)
	case s.Phase() == string(PhaseRunning):
		return r.follow(ctx, s, read)
	case stepsUnsettled(*s.Fields().Steps):
		return r.settle(ctx, s, read)
	}
	return ctrl.Result{}, nil
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

// settle records the final state of a finished session's steps from its
// pod, and nothing else: the phase was decided and stays.
func (r *Runner) settle(ctx context.Context, s Session, read runtime.Object) (ctrl.Result, error) {
	obj := s.Object()
	job, pod, err := r.readers().Observe(ctx, obj.GetNamespace(), resolve.JobName(s.Restore(), obj.GetName()), obj.GetUID())
	if err != nil || job == nil {
		return ctrl.Result{}, err
	}
	if out := finalOutcome(s); StopJob(out, job) {
		return ctrl.Result{}, r.stopJob(ctx, job, out)
	}
	steps := s.Fields().Steps
	*steps = UpdateSteps(*steps, &job.Spec.Template.Spec, pod)
	if equality.Semantic.DeepEqual(read, obj) {
		return ctrl.Result{}, nil
	}
	if err := r.Client.Status().Update(ctx, obj); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		return ctrl.Result{}, fmt.Errorf("record the final steps of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return ctrl.Result{}, nil
}

// finalOutcome is the outcome recorded in a finished session's Succeeded
// condition.
func finalOutcome(s Session) Outcome {
	out := Outcome{Phase: Phase(s.Phase())}
	if c := conditions.Get(*s.Fields().Conditions, stashv1beta1.ConditionSucceeded); c != nil {
		out.Reason, out.Message = c.Reason, c.Message
	}
	return out
}

// stopJob suspends the Job of a session that failed while its pod could make
// no progress: the Job controller deletes the pod, and the Job stays for
// inspection. This runs only once the Failed phase is stored, so the steps
// recorded then are what the session keeps.
func (r *Runner) stopJob(ctx context.Context, job *batchv1.Job, out Outcome) error {
	before := job.DeepCopy()
	job.Spec.Suspend = ptr.To(true)
	if err := r.Client.Patch(ctx, job, client.MergeFrom(before)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("stop Job %s/%s of a session that failed (%s): %w", job.Namespace, job.Name, out.Reason, err))
	}
	return nil
}

func skipped(o client.Object) bool {
	_, ok := o.GetAnnotations()[stashv1beta1.AnnotationSkipped]
	return ok
}

// isNew: nothing has been done yet for a session in phase.
func isNew(phase string) bool { return phase == "" || phase == "Pending" }

func (r *Runner) readers() Readers { return Readers{Cached: r.Client, Direct: r.APIReader} }

// start resolves the Job, gives it its account and creates it. Every step
// is idempotent, so a start interrupted anywhere is simply done again.
func (r *Runner) start(ctx context.Context, s Session, read runtime.Object) (ctrl.Result, error) {
	obj := s.Object()
	plan, failure, err := s.Plan(ctx, r.readers(), r.ResolveOptions)
	if err != nil {
		return ctrl.Result{}, err
	}
	if failure != nil {
		return r.write(ctx, s, read, *failure)
	}
	resolved, err := r.readers().Resolve(ctx, obj.GetNamespace(), plan.Repository, plan.Task, plan.Resolve)
	if out, ok := ResolveFailure(err); ok {
		return r.write(ctx, s, read, out)
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("resolve the Job of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	job := resolved.Job
	rbac := jobrbac.DirectClient(r.Client, r.APIReader)
	err = jobrbac.Ensure(ctx, rbac, plan.Invoker, obj.GetNamespace(), job.Spec.Template.Spec.ServiceAccountName, s.Restore(), resolved.RepositorySecret)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := CreateJob(ctx, r.Client, r.APIReader, job); err != nil {
		return ctrl.Result{}, err
	}
	s.Started()
	*s.Fields().Steps = resolved.Steps
	return r.write(ctx, s, read, Running(job.Name), resolved.Warnings...)
}

// follow judges a running session from its hosts' reports, its Job and the
// Job's pod.
func (r *Runner) follow(ctx context.Context, s Session, read runtime.Object) (ctrl.Result, error) {
	obj := s.Object()
	job, pod, err := r.readers().Observe(ctx, obj.GetNamespace(), resolve.JobName(s.Restore(), obj.GetName()), obj.GetUID())
	if err != nil {
		return ctrl.Result{}, err
	}
	steps := s.Fields().Steps
	if job != nil {
		*steps = UpdateSteps(*steps, &job.Spec.Template.Spec, pod)
	}
	grace := cmp.Or(r.ImagePullGracePeriod, DefaultImagePullGracePeriod)
	startTimeout := cmp.Or(r.PodStartTimeout, DefaultPodStartTimeout)
	return r.write(ctx, s, read, Decide(Observation{
		Hosts: s.Hosts(), Job: job, Pod: pod, Steps: *steps,
		Created: obj.GetCreationTimestamp().Time, Now: r.Clock.Now(), ImagePullGrace: grace,
		PodStartTimeout: startTimeout,
	}))
}

// write records out in the session and writes its status if it is no
// longer the one read; a session that just finished is counted.
func (r *Runner) write(ctx context.Context, s Session, read runtime.Object, out Outcome, notes ...string) (ctrl.Result, error) {
	obj, now := s.Object(), r.Clock.Now()
	phaseChanged := s.Phase() != string(out.Phase)
	s.SetPhase(out.Phase)
	f := s.Fields()
	Record(f.Conditions, f.SessionDuration, obj.GetGeneration(), out, obj.GetCreationTimestamp().Time, now)
	if equality.Semantic.DeepEqual(read, obj) {
		return ctrl.Result{RequeueAfter: out.RequeueAfter}, nil
	}
	written, res, err := Commit(ctx, r.Client, r.Recorder, obj, phaseChanged, out, notes...)
	if written && phaseChanged && out.Phase.Final() {
		s.Finished(out, now)
	}
	return res, err
}
