package session

import (
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// stoppingReasons are the failures whose pod makes no progress: StopJob.
var stoppingReasons = map[stashv1beta1.SessionReason]bool{
	stashv1beta1.ReasonImagePullFailed: true, stashv1beta1.ReasonTimeout: true, stashv1beta1.ReasonPodNotStarted: true,
	stashv1beta1.ReasonVolumeSourceNotFound: true,
}

// StopJob says whether the Job of a session that ended with v must be
// stopped (suspended, which deletes its pod). Only when the pod can make no
// progress and would otherwise stay behind the finished session, retrying:
// an image that cannot be pulled, a pod that never started (a volume source
// that does not exist among the causes), or a session
// past its own timeOut while nothing enforced it on the Job. Other failures
// end with the pod, and a failed host's pod must be left to record its
// steps.
func StopJob(v Verdict, job *batchv1.Job) bool {
	if v.Phase != stashv1beta1.SessionFailed || job == nil || !stoppingReasons[v.Reason] {
		return false
	}
	return !ptr.Deref(job.Spec.Suspend, false) && jobFailure(job) == nil && !jobSucceeded(job)
}
