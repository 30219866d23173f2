package session

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/text"
)

// What a verdict's message says: enough for a user to start looking.

// Limits of the tail of a log quoted in a condition or event: the whole
// message stays in status.steps.
const (
	tailLines = 10
	tailBytes = 1024
)

func tail(msg string) string { return text.Tail(msg, tailLines, tailBytes) }

// notStarted says what keeps the Job's pod from starting, as far as the
// pod's status tells; the events (FailedMount, FailedCreate) are where
// kubectl describe points.
func notStarted(o Observation, h Host, waited time.Duration) string {
	within := fmt.Sprintf("within %s (the operator's --pod-start-timeout %s)", waited.Round(time.Second), o.PodStartTimeout)
	if h.Pod == nil {
		return fmt.Sprintf("Job %s created no pod %s: see `kubectl describe job %s` (a ResourceQuota, a missing ServiceAccount or an admission webhook can refuse it)",
			h.Job.Name, within, h.Job.Name)
	}
	for _, c := range h.Pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return fmt.Sprintf("pod %s of Job %s was not scheduled %s: %s: %s", h.Pod.Name, h.Job.Name, within, c.Reason, tail(c.Message))
		}
	}
	first := "its first step"
	if len(h.Steps) > 0 {
		first = fmt.Sprintf("step %q%s", h.Steps[0].Name, function(h.Steps[0]))
		if h.Steps[0].Reason != "" {
			first += " (" + h.Steps[0].Reason + ")"
		}
	}
	return fmt.Sprintf("pod %s of Job %s did not start %s %s: see the events of `kubectl describe pod %s` (e.g. FailedMount)",
		h.Pod.Name, h.Job.Name, first, within, h.Pod.Name)
}

// stepFailure names the step, its Function, exit code, reason and the tail
// of its termination message.
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
