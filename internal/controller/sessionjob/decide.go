package sessionjob

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// Phase is a session phase in the spelling BackupSession and
// RestoreSession share; convert with BackupSessionPhase(p) and
// RestoreSessionPhase(p).
type Phase string

const (
	PhaseRunning   Phase = "Running"
	PhaseSucceeded Phase = "Succeeded"
	PhaseFailed    Phase = "Failed"
	// PhaseUnknown: a restore host could not tell whether it succeeded.
	PhaseUnknown Phase = "Unknown"
)

// Final reports whether a session in phase p is done.
func (p Phase) Final() bool { return p != PhaseRunning }

// DefaultImagePullGracePeriod is how long a step may wait for its image
// before the session fails: long enough for a slow registry and one or two
// back-offs, short enough that a typo in an image does not wait for the
// session's timeOut.
const DefaultImagePullGracePeriod = 2 * time.Minute

// kubelet reasons.
const (
	reasonOOMKilled = "OOMKilled"
)

// imagePullReasons are the waiting reasons of a container whose image
// cannot be pulled. They do not end by themselves: the kubelet keeps
// retrying, so without a grace period the session would wait forever.
var imagePullReasons = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true}

// DefaultPodStartTimeout is how long a session's Job may take to get its
// pod created, scheduled and its first step started. Without it a pod that
// can never start (an unbound claim, a volume that does not mount, a quota)
// would leave the session Running for good, and under concurrencyPolicy
// Forbid every later tick would be skipped behind it.
const DefaultPodStartTimeout = 10 * time.Minute

// stoppingReasons are the failures whose pod makes no progress: StopJob.
var stoppingReasons = map[string]bool{
	stashv1beta1.ReasonImagePullFailed: true, stashv1beta1.ReasonTimeout: true, stashv1beta1.ReasonPodNotStarted: true,
}

// Hosts is what the hosts reported, summarised by the caller from its own
// status (BackupSession targets, or RestoreSession stats).
type Hosts struct {
	// Phase is PhaseRunning until every host reported, then their verdict.
	Phase Phase
	// Message explains a verdict other than success, e.g. the hosts' errors.
	Message string
}

// Observation is everything a running session is judged on.
type Observation struct {
	Hosts Hosts
	// Job is the session's Job; nil when it does not exist (any more).
	Job *batchv1.Job
	// Pod is the newest pod of the Job; nil before it is created.
	Pod *corev1.Pod
	// Steps are the Job's containers, from Steps.
	Steps []stashv1beta1.StepStatus
	// Created is when the session was created; its timeOut counts from there.
	Created time.Time
	Now     time.Time
	// ImagePullGrace is how long a step may wait for its image.
	ImagePullGrace time.Duration
	// PodStartTimeout is how long, from the Job's creation, until the
	// first step must have started; zero for no such deadline.
	PodStartTimeout time.Duration
}

// Outcome is the verdict on a session: its phase, the reason and message of
// its Succeeded condition, and when to look again if nothing else happens.
type Outcome struct {
	Phase   Phase
	Reason  string
	Message string
	// RequeueAfter is the time to the next deadline (timeOut, image pull
	// grace) while the session runs; zero when there is none.
	RequeueAfter time.Duration
}

// Running is the outcome of a session whose Job runs and whose hosts have
// not all reported.
func Running(job string) Outcome {
	return Outcome{Phase: PhaseRunning, Reason: stashv1beta1.ReasonRunning,
		Message: fmt.Sprintf("Job %s is running; waiting for its hosts to report", job)}
}

// Failed is the outcome of a session that failed for reason.
func Failed(reason, message string) Outcome {
	return Outcome{Phase: PhaseFailed, Reason: reason, Message: message}
}

// Decide judges a running session. The hosts' own reports come first: they
// are what the user asked for, and update-status writes them before the
// pod ends, so a Job that dies afterwards does not undo a finished backup.
// Then, most specific first, what the Job and its pod show: the Job's
// deadline, a step that failed, the Job or pod failing otherwise, an image
// that cannot be pulled, a Job that ended without any host reporting. Last
// the session's own timeOut, counted from its creation, which holds even
// when nothing enforces the Job's activeDeadlineSeconds.
func Decide(o Observation) Outcome {
	switch o.Hosts.Phase {
	case PhaseSucceeded:
		return Outcome{Phase: PhaseSucceeded, Reason: stashv1beta1.ReasonCompleted, Message: "every host reported success"}
	case PhaseFailed:
		return Failed(stashv1beta1.ReasonHostFailed, o.Hosts.Message)
	case PhaseUnknown:
		return Outcome{Phase: PhaseUnknown, Reason: stashv1beta1.ReasonHostPhaseUnknown, Message: o.Hosts.Message}
	}
	if o.Job == nil {
		return Failed(stashv1beta1.ReasonJobDeleted, "the Job was deleted before every host reported; the session cannot finish")
	}
	failure := jobFailure(o.Job)
	if failure != nil && failure.Reason == batchv1.JobReasonDeadlineExceeded {
		return Failed(stashv1beta1.ReasonTimeout, fmt.Sprintf("Job %s ran longer than its activeDeadlineSeconds (%ds, the timeOut)%s",
			o.Job.Name, deref(o.Job.Spec.ActiveDeadlineSeconds), activeStep(o.Steps)))
	}
	for _, s := range o.Steps {
		if s.Phase == stashv1beta1.StepFailed {
			return Failed(stashv1beta1.ReasonStepFailed, stepFailure(s))
		}
	}
	if failure != nil {
		return Failed(stashv1beta1.ReasonJobFailed, fmt.Sprintf("Job %s failed: %s: %s", o.Job.Name, failure.Reason, failure.Message))
	}
	if o.Pod != nil && o.Pod.Status.Phase == corev1.PodFailed {
		return Failed(stashv1beta1.ReasonJobFailed, fmt.Sprintf("pod %s of Job %s failed: %s: %s",
			o.Pod.Name, o.Job.Name, o.Pod.Status.Reason, o.Pod.Status.Message))
	}

	var next time.Duration // until the nearest deadline
	i, pullingSince, pulling := pullingStep(o)
	if pulling {
		s, waited := o.Steps[i], o.Now.Sub(pullingSince)
		if waited >= o.ImagePullGrace {
			return Failed(stashv1beta1.ReasonImagePullFailed, fmt.Sprintf("step %q%s cannot get its image: %s for %s (grace period %s): %s",
				s.Name, function(s), s.Reason, waited.Round(time.Second), o.ImagePullGrace, tail(s.Message)))
		}
		next = o.ImagePullGrace - waited
	}
	if jobSucceeded(o.Job) || (o.Pod != nil && o.Pod.Status.Phase == corev1.PodSucceeded) {
		return Failed(stashv1beta1.ReasonHostNotReported, fmt.Sprintf("Job %s finished but no host reported its result: "+
			"the Task's last step must write it (update-status does)", o.Job.Name))
	}
	if secs := o.Job.Spec.ActiveDeadlineSeconds; secs != nil {
		timeOut := time.Duration(*secs) * time.Second
		left := o.Created.Add(timeOut).Sub(o.Now)
		if left <= 0 {
			return Failed(stashv1beta1.ReasonTimeout, fmt.Sprintf("the session still ran %s after it was created, longer than its timeOut %s%s",
				o.Now.Sub(o.Created).Round(time.Second), timeOut, activeStep(o.Steps)))
		}
		if next == 0 || left < next {
			next = left
		}
	}
	if o.PodStartTimeout > 0 && !pulling && !anyStepStarted(o.Steps) {
		waited := o.Now.Sub(o.Job.CreationTimestamp.Time)
		if waited >= o.PodStartTimeout {
			return Failed(stashv1beta1.ReasonPodNotStarted, notStarted(o, waited))
		}
		if left := o.PodStartTimeout - waited; next == 0 || left < next {
			next = left
		}
	}
	out := Running(o.Job.Name)
	out.RequeueAfter = next
	return out
}

// StopJob says whether the Job of a session that ended with out must be
// stopped (suspended, which deletes its pod). Only when the pod can make no
// progress and would otherwise stay behind the finished session, retrying:
// an image that cannot be pulled, a pod that never started, or a session
// past its own timeOut while nothing enforced it on the Job. Other failures
// end with the pod, and a failed host's pod must be left to record its
// steps.
func StopJob(out Outcome, job *batchv1.Job) bool {
	if out.Phase != PhaseFailed || job == nil || !stoppingReasons[out.Reason] {
		return false
	}
	return !ptr.Deref(job.Spec.Suspend, false) && jobFailure(job) == nil && !jobSucceeded(job)
}

// jobFailure is the Job's Failed condition, or FailureTarget, which the Job
// controller sets first, while it still terminates the pods.
func jobFailure(job *batchv1.Job) *batchv1.JobCondition {
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobFailureTarget} {
		for i, c := range job.Status.Conditions {
			if c.Type == t && c.Status == corev1.ConditionTrue {
				return &job.Status.Conditions[i]
			}
		}
	}
	return nil
}

func jobSucceeded(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobSuccessCriteriaMet) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// pullingStep finds a step waiting for its image and since when it waits:
// from the end of the step before it (steps run one after the other), or
// for the first step from the pod's start.
func pullingStep(o Observation) (int, time.Time, bool) {
	if o.Pod == nil {
		return 0, time.Time{}, false
	}
	for i, s := range o.Steps {
		if s.Phase != stashv1beta1.StepPending || !imagePullReasons[s.Reason] {
			continue
		}
		since := o.Pod.CreationTimestamp.Time
		if o.Pod.Status.StartTime != nil {
			since = o.Pod.Status.StartTime.Time
		}
		if i > 0 && o.Steps[i-1].FinishTime != nil {
			since = o.Steps[i-1].FinishTime.Time
		}
		return i, since, true
	}
	return 0, time.Time{}, false
}

// anyStepStarted: some container of the pod has run or runs.
func anyStepStarted(steps []stashv1beta1.StepStatus) bool {
	for _, s := range steps {
		if s.Phase != stashv1beta1.StepPending {
			return true
		}
	}
	return false
}

// notStarted says what keeps the Job's pod from starting, as far as the
// pod's status tells; the events (FailedMount, FailedCreate) are where
// kubectl describe points.
func notStarted(o Observation, waited time.Duration) string {
	within := fmt.Sprintf("within %s (the operator's --pod-start-timeout %s)", waited.Round(time.Second), o.PodStartTimeout)
	if o.Pod == nil {
		return fmt.Sprintf("Job %s created no pod %s: see `kubectl describe job %s` (a ResourceQuota, a missing ServiceAccount or an admission webhook can refuse it)",
			o.Job.Name, within, o.Job.Name)
	}
	for _, c := range o.Pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return fmt.Sprintf("pod %s of Job %s was not scheduled %s: %s: %s", o.Pod.Name, o.Job.Name, within, c.Reason, tail(c.Message))
		}
	}
	first := "its first step"
	if len(o.Steps) > 0 {
		first = fmt.Sprintf("step %q%s", o.Steps[0].Name, function(o.Steps[0]))
		if o.Steps[0].Reason != "" {
			first += " (" + o.Steps[0].Reason + ")"
		}
	}
	return fmt.Sprintf("pod %s of Job %s did not start %s %s: see the events of `kubectl describe pod %s` (e.g. FailedMount)",
		o.Pod.Name, o.Job.Name, first, within, o.Pod.Name)
}

// stepFailure names the step, its Function, exit code, reason and the tail
// of its termination message: what a user needs to start looking.
func stepFailure(s stashv1beta1.StepStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %q%s failed", s.Name, function(s))
	if s.ExitCode != nil {
		fmt.Fprintf(&b, " with exit code %d", *s.ExitCode)
	}
	if s.Reason != "" {
		fmt.Fprintf(&b, " (%s)", s.Reason)
	}
	if msg := tail(s.Message); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	return b.String()
}

// activeStep says which step was running, for timeout messages.
func activeStep(steps []stashv1beta1.StepStatus) string {
	for _, s := range steps {
		if s.Phase == stashv1beta1.StepRunning {
			return fmt.Sprintf("; step %q%s was running", s.Name, function(s))
		}
	}
	return ""
}

func function(s stashv1beta1.StepStatus) string {
	if s.Function == "" {
		return ""
	}
	return fmt.Sprintf(" (function %q)", s.Function)
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Limits of the tail of a log quoted in a condition or event: the whole
// message stays in status.steps.
const (
	tailLines = 10
	tailBytes = 1024
)

// tail is the end of a termination message: its last lines, within a size.
func tail(msg string) string {
	msg = strings.TrimSpace(msg)
	lines := strings.Split(msg, "\n")
	if len(lines) > tailLines {
		msg = strings.Join(lines[len(lines)-tailLines:], "\n")
	}
	return cutFront(msg, tailBytes)
}

// cutFront keeps the last max bytes of s, on a rune boundary.
func cutFront(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[len(s)-max:]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return "…" + s
}

// cutBack keeps the first max bytes of s, on a rune boundary.
func cutBack(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max-len("…")]
	for len(s) > 0 {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1] // part of a rune that the cut split
	}
	return s + "…"
}
