package session

import (
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/naming"
)

// Observation is everything a running session is judged on.
type Observation struct {
	// Hosts are the session's hosts, each with its Job (one Job per host).
	Hosts []Host
	// Created is when the session was created; its timeOut counts from there.
	Created time.Time
	Now     time.Time
	// ImagePullGrace is how long a step may wait for its image.
	ImagePullGrace time.Duration
	// PodStartTimeout is how long, from its Job's creation, until a host's
	// first step must have started; zero for no such deadline.
	PodStartTimeout time.Duration
	// MissingSourceGrace is how long a pod may wait for a volume's Secret,
	// ConfigMap or claim that does not exist (it may be created a moment
	// later, by the same apply).
	MissingSourceGrace time.Duration
	// Preparing, when set, is what the target is being readied for before
	// any host's Job is made (a workload stopping for its restore): the
	// session waits for it, up to PodStartTimeout from its creation.
	Preparing string
	// Throttled, when set, says why no Job may be made yet: the operator's
	// limit of running backup Jobs (Slots). A session without a Job then
	// waits in phase Pending.
	Throttled string
}

// Host is what is observed of one host of a running session: what it
// reported, the Job that backs it up or restores it, and the Job's pod.
type Host struct {
	// Name is the host's name, as its snapshots carry it (host-0).
	Name string
	// Report is what the host wrote in the session's status; nil before.
	Report *Report
	// Problem, when set, keeps the host from having a Job: it fails.
	Problem string
	// Created says the host's Job was made (the session recorded it).
	Created bool
	// Job is the host's Job; nil when it does not exist (yet, or any more).
	Job *batchv1.Job
	// Pod is the newest pod of the Job; nil before it is created.
	Pod *corev1.Pod
	// Steps are the Job's containers, from Steps.
	Steps []stashv1beta1.StepStatus
	// MissingSources are the volume sources of the Job's pod that do not
	// exist, e.g. `Secret "repo-secret" (volume "secret-volume")`; looked
	// for only until a step starts.
	MissingSources []string
}

// Report is a host's own account of its backup or restore, as it wrote it
// in the session's status (update-status does).
type Report struct {
	// Phase is Succeeded, Failed or (restores) Unknown.
	Phase stashv1beta1.SessionPhase
	// Message says what went wrong, when the phase is not Succeeded.
	Message string
	// Hook names the hook phase (postBackup, postRestore) whose hook failed
	// the host after its data step ran.
	Hook string
}

// A Rule judges one host of a running session on one ground. It returns a
// verdict and true when that ground decides the host's outcome; otherwise
// false, with the time until the ground may decide it in the verdict's
// RequeueAfter (zero when it has no deadline).
type Rule struct {
	Name  string
	Judge func(o Observation, h Host) (Verdict, bool)
}

// HostRules are the grounds a host is judged on, in order; the first that
// decides wins. The host's own report comes first: it is what the user asked
// for, and update-status writes it before the pod ends, so a Job that dies
// afterwards does not undo a finished backup. Then, most specific first,
// what the Job and its pod show. A new ground is a new Rule here and a row
// in its table test.
var HostRules = []Rule{
	{"HostReported", hostReported},
	{"HostUnavailable", hostUnavailable},
	{"JobQueued", jobQueued},
	{"JobDeleted", jobDeleted},
	{"JobDeadlineExceeded", jobDeadlineExceeded},
	{"StepFailed", stepFailed},
	{"JobFailed", jobFailed},
	{"PodFailed", podFailed},
	{"ImagePullFailed", imagePullFailed},
	{"JobEndedWithoutReport", jobEndedWithoutReport},
	{"SessionTimedOut", sessionTimedOut},
	{"VolumeSourceNotFound", volumeSourceNotFound},
	{"PodNotStarted", podNotStarted},
}

// ThrottledRetry is how soon a throttled session looks again, in case no
// Job's end wakes it (they normally do).
const ThrottledRetry = time.Minute

// Decide judges a running session: each host by HostRules, then the
// session from its hosts. It is Running while some host is; then Succeeded
// when every host succeeded, else the failure of the hosts that failed.
func Decide(o Observation) Verdict {
	if o.Preparing != "" {
		return preparing(o)
	}
	if o.Throttled != "" && !slices.ContainsFunc(o.Hosts, func(h Host) bool { return h.Created }) {
		return Verdict{Phase: stashv1beta1.SessionPending, Reason: stashv1beta1.ReasonPending, Message: o.Throttled,
			RequeueAfter: ThrottledRetry, Rule: "Throttled"}
	}
	verdicts := make([]Verdict, len(o.Hosts))
	for i, h := range o.Hosts {
		verdicts[i] = judgeHost(o, h)
	}
	return combine(o.Hosts, verdicts)
}

// preparing: no Job is made until the target is ready, and a target that
// never gets ready fails the session instead of leaving it Running.
func preparing(o Observation) Verdict {
	waited := o.Now.Sub(o.Created)
	if o.PodStartTimeout > 0 && waited >= o.PodStartTimeout {
		return Failed(stashv1beta1.ReasonTargetNotReady, fmt.Sprintf("the target was still not ready %s after the session was created (--pod-start-timeout %s): %s",
			waited.Round(time.Second), o.PodStartTimeout, o.Preparing))
	}
	v := Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Message: "waiting for " + o.Preparing}
	if o.PodStartTimeout > 0 {
		v.RequeueAfter = o.PodStartTimeout - waited
	}
	v.Rule = "TargetPreparing"
	return v
}

// judgeHost is the verdict of the first of HostRules that decides, or
// Running until the nearest deadline.
func judgeHost(o Observation, h Host) Verdict {
	var next time.Duration
	for _, rule := range HostRules {
		v, decided := rule.Judge(o, h)
		if decided {
			v.Rule = rule.Name
			return v
		}
		next = sooner(next, v.RequeueAfter)
	}
	v := Running(jobName(h))
	v.RequeueAfter = next
	return v
}

// combine is the session's verdict from its hosts' verdicts. One host's
// verdict is the session's. Of several, a running one keeps the session
// running; a failed one fails it, with the reason of the first failure and
// every failed host named; Unknown (restore hosts) is Unknown unless one
// failed.
func combine(hosts []Host, verdicts []Verdict) Verdict {
	if len(verdicts) == 1 {
		return verdicts[0]
	}
	var running, failed, unknown []int
	var next time.Duration
	for i, v := range verdicts {
		switch v.Phase {
		case stashv1beta1.SessionRunning:
			running = append(running, i)
			next = sooner(next, v.RequeueAfter)
		case stashv1beta1.SessionFailed:
			failed = append(failed, i)
		case stashv1beta1.SessionUnknown:
			unknown = append(unknown, i)
		}
	}
	switch {
	case len(verdicts) == 0:
		return Failed(stashv1beta1.ReasonJobCreationFailed, "the session has no host to back up or restore")
	case len(running) > 0:
		v := Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning,
			Message: fmt.Sprintf("%d of %d hosts are running (%s); waiting for them to report", len(running), len(hosts), hostNames(hosts, running))}
		v.RequeueAfter = next
		return v
	case len(failed) > 0:
		v := verdicts[failed[0]]
		v.Message = fmt.Sprintf("%d of %d hosts failed: %s", len(failed), len(hosts), hostMessages(hosts, verdicts, failed))
		return v
	case len(unknown) > 0:
		v := verdicts[unknown[0]]
		v.Message = hostMessages(hosts, verdicts, unknown)
		return v
	}
	return Succeeded()
}

func hostNames(hosts []Host, idx []int) string {
	names := make([]string, len(idx))
	for i, j := range idx {
		names[i] = hosts[j].Name
	}
	return strings.Join(names, ", ")
}

func hostMessages(hosts []Host, verdicts []Verdict, idx []int) string {
	parts := make([]string, len(idx))
	for i, j := range idx {
		parts[i] = fmt.Sprintf("host %s: %s", hosts[j].Name, verdicts[j].Message)
	}
	return strings.Join(parts, "; ")
}

// sooner is the nearer of two deadlines, zero meaning none.
func sooner(a, b time.Duration) time.Duration {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

func jobName(h Host) string {
	if h.Job == nil {
		return "of host " + h.Name
	}
	return h.Job.Name
}

// ---------------------------------------------------------------- the rules

// hostReported: the host's own report decides.
func hostReported(_ Observation, h Host) (Verdict, bool) {
	if h.Report == nil {
		return Verdict{}, false
	}
	switch h.Report.Phase {
	case stashv1beta1.SessionSucceeded:
		return Succeeded(), true
	case stashv1beta1.SessionUnknown:
		return Verdict{Phase: stashv1beta1.SessionUnknown, Reason: stashv1beta1.ReasonHostPhaseUnknown, Message: h.Report.Message}, true
	}
	if h.Report.Hook != "" {
		return Failed(stashv1beta1.ReasonHookFailed, h.Report.Message), true
	}
	return Failed(stashv1beta1.ReasonHostFailed, h.Report.Message), true
}

// hostUnavailable: the host cannot be backed up or restored at all (a
// volume its own pod holds alone): it fails, and no Job is made for it.
func hostUnavailable(_ Observation, h Host) (Verdict, bool) {
	if h.Problem == "" {
		return Verdict{}, false
	}
	return Failed(stashv1beta1.ReasonHostUnavailable, h.Problem), true
}

// jobQueued: the host's Job is not made yet; it waits its turn (the
// target's parallelism) or for the target to be ready (a workload stopping
// for its restore).
func jobQueued(_ Observation, h Host) (Verdict, bool) {
	if h.Created {
		return Verdict{}, false
	}
	return Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning,
		Message: fmt.Sprintf("host %s waits for its turn to start its Job", h.Name)}, true
}

// jobDeleted: without its Job a host cannot report.
func jobDeleted(_ Observation, h Host) (Verdict, bool) {
	if h.Job != nil {
		return Verdict{}, false
	}
	return Failed(stashv1beta1.ReasonJobDeleted, "the Job was deleted before every host reported; the session cannot finish"), true
}

// jobDeadlineExceeded: the Job controller ended the Job at its
// activeDeadlineSeconds, which the session's timeOut sets.
func jobDeadlineExceeded(_ Observation, h Host) (Verdict, bool) {
	failure := jobFailure(h.Job)
	if failure == nil || failure.Reason != batchv1.JobReasonDeadlineExceeded {
		return Verdict{}, false
	}
	return Failed(stashv1beta1.ReasonTimeout, fmt.Sprintf("Job %s ran longer than its activeDeadlineSeconds (%ds, the timeOut)%s",
		h.Job.Name, deref(h.Job.Spec.ActiveDeadlineSeconds), activeStep(h.Steps))), true
}

// stepFailed: a step's container ended with an error or was OOM-killed.
func stepFailed(_ Observation, h Host) (Verdict, bool) {
	for _, s := range h.Steps {
		if s.Phase != stashv1beta1.StepFailed {
			continue
		}
		switch s.Name {
		case naming.PreTaskHookContainer:
			return Failed(stashv1beta1.ReasonHookFailed, "a pre hook failed, so nothing was backed up or restored: "+stepFailure(s)), true
		case naming.PostTaskHookContainer:
			return Failed(stashv1beta1.ReasonHookFailed, "a post hook failed and its failure could not be recorded: "+stepFailure(s)), true
		}
		return Failed(stashv1beta1.ReasonStepFailed, stepFailure(s)), true
	}
	return Verdict{}, false
}

// jobFailed: the Job failed for another reason than a step (e.g. its
// backoff limit after an eviction).
func jobFailed(_ Observation, h Host) (Verdict, bool) {
	failure := jobFailure(h.Job)
	if failure == nil {
		return Verdict{}, false
	}
	return Failed(stashv1beta1.ReasonJobFailed, fmt.Sprintf("Job %s failed: %s: %s", h.Job.Name, failure.Reason, failure.Message)), true
}

// podFailed: the pod failed without a failed step (evicted, node lost).
func podFailed(_ Observation, h Host) (Verdict, bool) {
	if h.Pod == nil || h.Pod.Status.Phase != corev1.PodFailed {
		return Verdict{}, false
	}
	return Failed(stashv1beta1.ReasonJobFailed, fmt.Sprintf("pod %s of Job %s failed: %s: %s",
		h.Pod.Name, h.Job.Name, h.Pod.Status.Reason, h.Pod.Status.Message)), true
}

// imagePullFailed: a step waits for an image that cannot be pulled, longer
// than the grace period. The kubelet retries forever by itself.
func imagePullFailed(o Observation, h Host) (Verdict, bool) {
	i, since, pulling := pullingStep(h)
	if !pulling {
		return Verdict{}, false
	}
	s, waited := h.Steps[i], o.Now.Sub(since)
	if waited >= o.ImagePullGrace {
		return Failed(stashv1beta1.ReasonImagePullFailed, fmt.Sprintf("step %q%s cannot get its image: %s for %s (grace period %s): %s",
			s.Name, function(s), s.Reason, waited.Round(time.Second), o.ImagePullGrace, tail(s.Message))), true
	}
	return Verdict{RequeueAfter: o.ImagePullGrace - waited}, false
}

// jobEndedWithoutReport: the Job or its pod succeeded, but the host wrote no
// result, so nothing says whether the backup was taken.
func jobEndedWithoutReport(_ Observation, h Host) (Verdict, bool) {
	if !jobSucceeded(h.Job) && (h.Pod == nil || h.Pod.Status.Phase != corev1.PodSucceeded) {
		return Verdict{}, false
	}
	return Failed(stashv1beta1.ReasonHostNotReported, fmt.Sprintf("Job %s finished but no host reported its result: "+
		"the Task's last step must write it (update-status does)", h.Job.Name)), true
}

// volumeSourceNotFound: the pod cannot start, because a Secret, ConfigMap
// or claim one of its volumes names does not exist, and did not come within
// the grace period. The kubelet would retry the mount until the pod start
// timeout, ten minutes later, with the reason only in the pod's events.
func volumeSourceNotFound(o Observation, h Host) (Verdict, bool) {
	if len(h.MissingSources) == 0 || anyStepStarted(h.Steps) {
		return Verdict{}, false
	}
	waited := o.Now.Sub(h.Job.CreationTimestamp.Time)
	if waited < o.MissingSourceGrace {
		return Verdict{RequeueAfter: o.MissingSourceGrace - waited}, false
	}
	return Failed(stashv1beta1.ReasonVolumeSourceNotFound, fmt.Sprintf("the pod of Job %s cannot start: %s does not exist in namespace %s (waited %s): create it, or fix the object that names it",
		h.Job.Name, strings.Join(h.MissingSources, ", "), h.Job.Namespace, waited.Round(time.Second))), true
}

// podNotStarted: the Job's pod was not created, scheduled or started within
// the pod start timeout (an unbound claim, a volume that does not mount, a
// quota). An image pull is judged by its own grace period instead.
func podNotStarted(o Observation, h Host) (Verdict, bool) {
	if o.PodStartTimeout <= 0 || anyStepStarted(h.Steps) {
		return Verdict{}, false
	}
	if _, _, pulling := pullingStep(h); pulling {
		return Verdict{}, false
	}
	waited := o.Now.Sub(h.Job.CreationTimestamp.Time)
	if waited >= o.PodStartTimeout {
		return Failed(stashv1beta1.ReasonPodNotStarted, notStarted(o, h, waited)), true
	}
	return Verdict{RequeueAfter: o.PodStartTimeout - waited}, false
}

// sessionTimedOut: the session ran longer than its timeOut, which its Jobs
// carry as activeDeadlineSeconds, counted from the session's creation: this
// holds even when nothing enforces the Job's deadline.
func sessionTimedOut(o Observation, h Host) (Verdict, bool) {
	secs := h.Job.Spec.ActiveDeadlineSeconds
	if secs == nil {
		return Verdict{}, false
	}
	timeOut := time.Duration(*secs) * time.Second
	left := o.Created.Add(timeOut).Sub(o.Now)
	if left > 0 {
		return Verdict{RequeueAfter: left}, false
	}
	return Failed(stashv1beta1.ReasonTimeout, fmt.Sprintf("the session still ran %s after it was created, longer than its timeOut %s%s",
		o.Now.Sub(o.Created).Round(time.Second), timeOut, activeStep(h.Steps))), true
}
