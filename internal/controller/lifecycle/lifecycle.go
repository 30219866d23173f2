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
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/inputs"
	"github.com/stash-operator/stash/internal/controller/jobrbac"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/metrics"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/session"
	"github.com/stash-operator/stash/internal/status"
	"github.com/stash-operator/stash/internal/workload"
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
	// Prepare, when set, readies the target before the first Job is made
	// (a restore stops its workload). It returns what it still waits for,
	// empty once the target is ready; until then the session says so and
	// is looked at again.
	Prepare func(ctx context.Context, r *Runner, s Session, invoker client.Object) (waitingFor string, err error)
	// Parallelism, when set, is how many of the session's hosts may run at
	// once, when that is fewer than the target's parallelism (a first
	// backup into a new repository runs one host alone). hosts are what
	// is observed of them.
	Parallelism func(ctx context.Context, r *Runner, s Session, invoker client.Object, hosts []session.Host) (int, error)
	// Finish, when set, undoes Prepare once the session is final (a
	// restore starts its workload again). It runs until it reports done,
	// also when the invoker is gone (then invoker is nil).
	Finish func(ctx context.Context, r *Runner, s Session, invoker client.Object) (done bool, err error)
	// Waiting, when set, lists the kind's sessions whose hosts wait for a
	// Job, for the Runner's MaxRunningJobs to serve them in order.
	Waiting func(ctx context.Context, c client.Reader) ([]session.Waiter, error)
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
	// MaxRunningJobs, when > 0 and the Kind lists its Waiting sessions, is
	// how many of the kind's Jobs may run at once in the cluster; the
	// sessions beyond it wait in phase Pending, oldest first.
	MaxRunningJobs int

	kind     Kind
	accounts *jobrbac.Memo // set by Setup: a Runner is copied as configuration
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

// prepareRetry is how often a session whose target is being readied (a
// workload stopping for a restore) is looked at, besides its own events.
const prepareRetry = 2 * time.Second

// Setup fills the Runner's empty fields from mgr and registers it, named
// name, as the controller of kind's sessions; it also watches their Jobs
// and the Jobs' pods.
func (r *Runner) Setup(mgr ctrl.Manager, name string, kind Kind) error {
	r.kind = kind
	r.accounts = &jobrbac.Memo{}
	r.Default(mgr, name)
	var wake handler.MapFunc
	if r.limited() {
		wake = r.wakeWaiting
	}
	return register(mgr, name, kind, r, wake)
}

// Reconcile reads the session req names, then starts it if it is new or
// follows it if it runs; a finished session only has its steps settled.
func (r *Runner) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	s := r.kind.New()
	if err := r.Client.Get(ctx, req.NamespacedName, s); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !s.GetDeletionTimestamp().IsZero() {
		// A session deleted before its end still undoes what Prepare did
		// (its finalizer, if it holds one, waits for that).
		if r.kind.Finish != nil {
			if done, err := r.kind.Finish(ctx, r, s, s); err != nil || !done {
				return ctrl.Result{RequeueAfter: prepareRetry}, err
			}
		}
		return ctrl.Result{}, nil
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
	}
	return r.settle(ctx, s, read)
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

// start plans the session's hosts and records them before any Job is
// made, so that every later reconcile, an operator restarted in between
// included, makes the Jobs of the same hosts. Then it runs the first Jobs.
func (r *Runner) start(ctx context.Context, s Session, read runtime.Object) (ctrl.Result, error) {
	invoker, failure, err := r.kind.Invoker(ctx, r.readers(), s)
	if err != nil {
		return ctrl.Result{}, err
	}
	if failure != nil {
		return r.write(ctx, s, read, *failure)
	}
	st := s.SessionStatus()
	if len(st.Hosts) == 0 {
		log.FromContext(ctx).Info("planning the session")
		hosts, failure, err := r.planHosts(ctx, s.GetNamespace(), workload.SpecOf(invoker))
		if err != nil {
			return ctrl.Result{}, err
		}
		if failure != nil {
			return r.write(ctx, s, read, *failure)
		}
		ref := resolve.RefsOf(invoker).Target
		if len(hosts) == 1 && hosts[0].Pod == "" && !resolve.IsWorkload(ref) && resolve.NeedsTargetPod(invoker) {
			if hosts[0].Pod, err = r.targetPod(ctx, s.GetNamespace(), ref); err != nil {
				return ctrl.Result{}, err
			}
		}
		st.Hosts = hosts
		status.Start(s, ref, int32(len(hosts)))
		if err := r.Client.Status().Update(ctx, s); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: kube.ConflictRetry}, nil
			}
			return ctrl.Result{}, fmt.Errorf("record the hosts of %s/%s: %w", s.GetNamespace(), s.GetName(), err)
		}
		return ctrl.Result{}, nil // the write brings the session back
	}
	log.FromContext(ctx).Info("starting the session", "hosts", len(st.Hosts))
	return r.run(ctx, s, read, invoker, nil)
}

// follow judges a running session, and runs the Jobs of its hosts that wait.
func (r *Runner) follow(ctx context.Context, s Session, read runtime.Object) (ctrl.Result, error) {
	var invoker client.Object
	if queued(s.SessionStatus().Hosts) {
		inv, failure, err := r.kind.Invoker(ctx, r.readers(), s)
		if err != nil {
			return ctrl.Result{}, err
		}
		if failure != nil {
			return r.write(ctx, s, read, *failure)
		}
		invoker = inv
	}
	return r.run(ctx, s, read, invoker, nil)
}

// recordNodes records where the Job of a host that could run anywhere (no
// pod of the workload ran) was scheduled, so that the session says it.
func recordNodes(hosts []stashv1beta1.HostStatus, observed []session.Host) {
	for i, h := range observed {
		if hosts[i].Node == "" && h.Pod != nil && h.Pod.Spec.NodeName != "" {
			hosts[i].Node = h.Pod.Spec.NodeName
		}
	}
}

// execPods are the pods the invoker's exec hooks run in: its hosts' target
// pods, when it has exec hooks.
func execPods(invoker client.Object, hosts []stashv1beta1.HostStatus) []string {
	if !resolve.HasExecHooks(invoker) {
		return nil
	}
	var pods []string
	for _, h := range hosts {
		if h.Pod != "" && !slices.Contains(pods, h.Pod) {
			pods = append(pods, h.Pod)
		}
	}
	slices.Sort(pods)
	return pods
}

// anyCreated: some host has its Job.
func anyCreated(hosts []session.Host) bool {
	for _, h := range hosts {
		if h.Created {
			return true
		}
	}
	return false
}

// queued: some host has no Job yet, nor a problem that keeps it from one.
func queued(hosts []stashv1beta1.HostStatus) bool { return queuedCount(hosts) > 0 }

// queuedCount is how many of hosts are queued.
func queuedCount(hosts []stashv1beta1.HostStatus) int {
	n := 0
	for _, h := range hosts {
		if h.Job == "" && h.Problem == "" {
			n++
		}
	}
	return n
}

// run makes the Jobs of the hosts that wait, as far as the target's
// parallelism allows and once the target is ready (invoker nil: none to
// make), then judges the session from every host's report, Job and pod.
func (r *Runner) run(ctx context.Context, s Session, read runtime.Object, invoker client.Object, notes []string) (ctrl.Result, error) {
	st := s.SessionStatus()
	observed, err := r.observeHosts(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	var preparing, throttled string
	if invoker != nil {
		if r.kind.Prepare != nil {
			if preparing, err = r.kind.Prepare(ctx, r, s, invoker); err != nil {
				return ctrl.Result{}, err
			}
		}
		if preparing == "" {
			var failure *session.Verdict
			notes, throttled, failure, err = r.createJobs(ctx, s, invoker, observed)
			if err != nil {
				return ctrl.Result{}, err
			}
			if failure != nil {
				return r.write(ctx, s, read, *failure)
			}
			if observed, err = r.observeHosts(ctx, s); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	o := session.Observation{
		Hosts:   observed,
		Created: s.GetCreationTimestamp().Time, Now: r.Clock.Now(),
		ImagePullGrace:     cmp.Or(r.ImagePullGracePeriod, DefaultImagePullGracePeriod),
		PodStartTimeout:    cmp.Or(r.PodStartTimeout, DefaultPodStartTimeout),
		MissingSourceGrace: cmp.Or(r.MissingSourceGrace, DefaultMissingSourceGrace),
		Throttled:          throttled,
	}
	if !anyCreated(observed) {
		o.Preparing = preparing // once a Job runs, the hosts decide
	}
	v := session.Decide(o)
	if preparing != "" && v.Phase == stashv1beta1.SessionRunning && (v.RequeueAfter == 0 || v.RequeueAfter > prepareRetry) {
		v.RequeueAfter = prepareRetry
	}
	st.Steps = stepsOf(observed)
	recordNodes(st.Hosts, observed)
	return r.write(ctx, s, read, v, notes...)
}

// createJobs resolves and creates the Jobs of the waiting hosts, as many as
// the target's parallelism and the operator's limit of running Jobs leave
// room for, recording each in the status. Every Job runs under the
// invoker's account, made once. It returns the resolver's warnings, why
// the limit lets no Job be made, or the verdict on a Job that cannot be
// made.
func (r *Runner) createJobs(ctx context.Context, s Session, invoker client.Object, observed []session.Host) ([]string, string, *session.Verdict, error) {
	t := workload.SpecOf(invoker)
	if r.kind.Parallelism != nil {
		limit, err := r.kind.Parallelism(ctx, r, s, invoker, observed)
		if err != nil {
			return nil, "", nil, err
		}
		t.Parallelism = min(t.Parallelism, limit)
	}
	budget := -1 // no limit
	if r.limited() && queued(s.SessionStatus().Hosts) {
		slots, why, err := r.slots(ctx, s)
		if err != nil {
			return nil, "", nil, err
		}
		if slots == 0 {
			return nil, why, nil, nil
		}
		budget = slots
	}
	running := 0
	for _, h := range observed {
		if h.Created && !finished(h) {
			running++
		}
	}
	st := s.SessionStatus()
	var warnings []string
	accountReady := false
	for i := range st.Hosts {
		hs := &st.Hosts[i]
		if hs.Job != "" || hs.Problem != "" || running >= t.Parallelism || budget == 0 {
			continue
		}
		host, err := r.resolveHost(ctx, s, t, i, *hs)
		if err != nil {
			hs.Problem = err.Error()
			continue
		}
		resolved, err := r.readers().Resolve(ctx, invoker, s, host, r.ResolveOptions)
		if v, ok := ResolveFailure(err); ok {
			return nil, "", &v, nil
		}
		if err != nil {
			return nil, "", nil, fmt.Errorf("resolve the Job of %s/%s host %s: %w", s.GetNamespace(), s.GetName(), hs.Name, err)
		}
		job := resolved.Job
		refusal, err := inputs.PodSecurityRefusal(ctx, r.APIReader, job)
		if err != nil {
			return nil, "", nil, err
		}
		if refusal != "" {
			v := session.Failed(stashv1beta1.ReasonPodSecurityForbidden, refusal)
			return nil, "", &v, nil
		}
		if !accountReady {
			secrets, refused, err := r.readers().Credentials(ctx, s.GetNamespace(), t.Ref)
			if err != nil {
				return nil, "", nil, err
			}
			if len(refused) > 0 {
				v := session.Failed(stashv1beta1.ReasonJobCreationFailed, strings.Join(refused, "\n"))
				return nil, "", &v, nil
			}
			rbac := jobrbac.DirectClient(r.Client, r.APIReader)
			grants := jobrbac.Grants{Repository: resolved.Repository, Secrets: secrets, ExecPods: execPods(invoker, st.Hosts)}
			if err := r.accounts.Ensure(ctx, rbac, invoker, s.GetNamespace(), job.Spec.Template.Spec.ServiceAccountName, r.kind.Naming, grants, r.Clock.Now()); err != nil {
				return nil, "", nil, err
			}
			accountReady = true
		}
		for _, obj := range resolved.Objects() {
			if err := createOwned(ctx, r.Client, r.APIReader, obj.(client.Object)); err != nil {
				if v, ok := JobRefused(err); ok {
					return nil, "", &v, nil
				}
				return nil, "", nil, err
			}
		}
		log.FromContext(ctx).Info("created the Job of a host", "host", hs.Name, "job", job.Name, "node", hs.Node)
		hs.Job = job.Name
		st.JobServiceAccount = job.Spec.Template.Spec.ServiceAccountName
		st.Steps = append(st.Steps, withHost(resolved.Steps, hs.Name)...)
		warnings = append(warnings, resolved.Warnings...)
		running++
		budget--
	}
	return warnings, "", nil, nil
}

// finished: a host whose Job has ended (or will make no progress), as far
// as the parallelism counts: its report, or a final step.
func finished(h session.Host) bool {
	if h.Report != nil {
		return true
	}
	for _, st := range h.Steps {
		if st.Phase == stashv1beta1.StepFailed {
			return true
		}
	}
	return h.Job == nil
}

// observeHosts is what the cluster shows of each of the session's hosts:
// its report, its Job and pod, its steps, and what its pod waits for.
func (r *Runner) observeHosts(ctx context.Context, s Session) ([]session.Host, error) {
	st := s.SessionStatus()
	names := make([]string, len(st.Hosts))
	for i, h := range st.Hosts {
		names[i] = h.Name
	}
	reports := status.ReportOf(names, status.Reports(s))
	hosts := make([]session.Host, len(st.Hosts))
	for i, hs := range st.Hosts {
		h := session.Host{Name: hs.Name, Report: reports[hs.Name], Created: hs.Job != "", Problem: hs.Problem, Steps: hostSteps(st.Steps, hs.Name)}
		if h.Created {
			job, pod, err := r.readers().Observe(ctx, s.GetNamespace(), hs.Job, s.GetUID())
			if err != nil {
				return nil, err
			}
			h.Job, h.Pod = job, pod
			if job != nil {
				h.Steps = withHost(session.UpdateSteps(h.Steps, &job.Spec.Template.Spec, pod), hs.Name)
				if !stepStarted(h.Steps) {
					if h.MissingSources, err = r.readers().MissingSources(ctx, &job.Spec.Template.Spec, job.Namespace); err != nil {
						return nil, err
					}
				}
			}
		}
		hosts[i] = h
	}
	return hosts, nil
}

// hostSteps are the steps of host's Job, out of a session's steps.
func hostSteps(steps []stashv1beta1.StepStatus, host string) []stashv1beta1.StepStatus {
	var out []stashv1beta1.StepStatus
	for _, st := range steps {
		if st.Host == host {
			out = append(out, st)
		}
	}
	return out
}

// withHost marks steps as host's.
func withHost(steps []stashv1beta1.StepStatus, host string) []stashv1beta1.StepStatus {
	for i := range steps {
		steps[i].Host = host
	}
	return steps
}

// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=delete

// deleteInterimClaims deletes the claims of the invoker's
// interimVolumeTemplate that the session's Jobs staged their data on: only
// claims the session controls, by UID. A claim still mounted goes when its
// pod does.
//
// An invoker that is gone leaves them to the garbage collector, with the
// session.
func (r *Runner) deleteInterimClaims(ctx context.Context, s Session, inv client.Object) error {
	for _, hs := range s.SessionStatus().Hosts {
		name := resolve.InterimClaimOf(inv, hs.Job)
		if hs.Job == "" || name == "" {
			continue
		}
		var claim corev1.PersistentVolumeClaim
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: s.GetNamespace(), Name: name}, &claim)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get interim PersistentVolumeClaim %s/%s: %w", s.GetNamespace(), name, err)
		}
		if !claim.DeletionTimestamp.IsZero() || !controlledBy(&claim, s.GetUID()) {
			continue
		}
		err = r.Client.Delete(ctx, &claim, client.Preconditions{UID: &claim.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete interim PersistentVolumeClaim %s/%s: %w", s.GetNamespace(), name, err)
		}
		log.FromContext(ctx).Info("deleted the interim claim of a host", "host", hs.Name, "claim", name)
	}
	return nil
}

// stepsOf are the session's steps: every host's, host by host.
func stepsOf(hosts []session.Host) []stashv1beta1.StepStatus {
	var steps []stashv1beta1.StepStatus
	for _, h := range hosts {
		steps = append(steps, h.Steps...)
	}
	return steps
}

// settle looks after a finished session: its steps record their final
// state from the pods, a Job whose pod can make no progress is stopped
// (once the Failed phase is stored, so the steps recorded then are what the
// session keeps), and the Kind's Finish runs until it is done (a restore
// starts its workload again). The phase was decided and stays.
func (r *Runner) settle(ctx context.Context, s Session, read runtime.Object) (ctrl.Result, error) {
	st := s.SessionStatus()
	inv, failure, err := r.kind.Invoker(ctx, r.readers(), s)
	if err != nil {
		return ctrl.Result{}, err
	}
	if failure != nil {
		inv = nil // gone since: what Prepare did is still undone
	}
	if r.kind.Finish != nil {
		done, err := r.kind.Finish(ctx, r, s, inv)
		if err != nil {
			return ctrl.Result{}, err
		}
		if !done {
			return ctrl.Result{RequeueAfter: prepareRetry}, nil
		}
	}
	if inv != nil {
		if err := r.deleteInterimClaims(ctx, s, inv); err != nil {
			return ctrl.Result{}, err
		}
	}
	if !stepsUnsettled(st.Steps) {
		return ctrl.Result{}, nil
	}
	v := finalVerdict(s)
	for _, hs := range st.Hosts {
		if hs.Job == "" {
			continue
		}
		job, pod, err := r.readers().Observe(ctx, s.GetNamespace(), hs.Job, s.GetUID())
		if err != nil || job == nil {
			if err != nil {
				return ctrl.Result{}, err
			}
			continue
		}
		if session.StopJob(v, job) {
			if err := r.stopJob(ctx, job, v); err != nil {
				return ctrl.Result{}, err
			}
			continue
		}
		steps := withHost(session.UpdateSteps(hostSteps(st.Steps, hs.Name), &job.Spec.Template.Spec, pod), hs.Name)
		st.Steps = replaceHostSteps(st.Steps, hs.Name, steps)
	}
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

// replaceHostSteps puts steps in place of host's, keeping the hosts' order.
func replaceHostSteps(all []stashv1beta1.StepStatus, host string, steps []stashv1beta1.StepStatus) []stashv1beta1.StepStatus {
	var out []stashv1beta1.StepStatus
	done := false
	for _, st := range all {
		if st.Host != host {
			out = append(out, st)
			continue
		}
		if !done {
			out = append(out, steps...)
			done = true
		}
	}
	return out
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
