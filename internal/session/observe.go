package session

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// What a Job and its pod say, read the way the rules need it.

// kubelet reasons.
const reasonOOMKilled = "OOMKilled"

// imagePullReasons are the waiting reasons of a container whose image
// cannot be pulled. They do not end by themselves: the kubelet keeps
// retrying, so without a grace period the session would wait forever.
var imagePullReasons = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true}

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
func pullingStep(h Host) (int, time.Time, bool) {
	if h.Pod == nil {
		return 0, time.Time{}, false
	}
	for i, s := range h.Steps {
		if s.Phase != stashv1beta1.StepPending || !imagePullReasons[s.Reason] {
			continue
		}
		since := h.Pod.CreationTimestamp.Time
		if h.Pod.Status.StartTime != nil {
			since = h.Pod.Status.StartTime.Time
		}
		if i > 0 && h.Steps[i-1].FinishTime != nil {
			since = h.Steps[i-1].FinishTime.Time
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
