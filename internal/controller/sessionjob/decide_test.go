package sessionjob

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

func job(deadline *int64, conds ...batchv1.JobCondition) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "stash-backup-s-0"},
		Spec:       batchv1.JobSpec{ActiveDeadlineSeconds: deadline},
		Status:     batchv1.JobStatus{Conditions: conds},
	}
}

func jobCond(t batchv1.JobConditionType, reason, msg string) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg}
}

func withPhase(p *corev1.Pod, phase corev1.PodPhase, reason, msg string) *corev1.Pod {
	p.Status.Phase, p.Status.Reason, p.Status.Message = phase, reason, msg
	return p
}

func TestDecide(t *testing.T) {
	spec := podSpec("pvc-backup-0", "update-status-1")
	fns := map[string]string{"pvc-backup-0": "pvc-backup", "update-status-1": "update-status"}
	steps := func(p *corev1.Pod) []stashv1beta1.StepStatus { return Steps(spec, fns, p) }

	runningPod := podWith([]corev1.ContainerStatus{running("pvc-backup-0", 2*time.Second)})
	var longLog strings.Builder
	for i := 1; i <= 15; i++ {
		fmt.Fprintf(&longLog, "line %d\n", i)
	}
	failedPod := podWith([]corev1.ContainerStatus{terminated("pvc-backup-0", 3, "Error", longLog.String(), 2*time.Second, 9*time.Second)})
	oomPod := podWith([]corev1.ContainerStatus{terminated("pvc-backup-0", 137, "OOMKilled", "", 2*time.Second, 9*time.Second)})
	pullFirst := podWith([]corev1.ContainerStatus{waiting("pvc-backup-0", "ImagePullBackOff", `Back-off pulling image "stash:typo"`)})
	pullSecond := podWith([]corev1.ContainerStatus{terminated("pvc-backup-0", 0, "Completed", "", 2*time.Second, time.Minute)},
		waiting("update-status-1", "ErrImagePull", "not found"))
	donePod := withPhase(podWith([]corev1.ContainerStatus{terminated("pvc-backup-0", 0, "Completed", "", 2*time.Second, 5*time.Second)},
		terminated("update-status-1", 0, "Completed", "", 6*time.Second, 7*time.Second)), corev1.PodSucceeded, "", "")
	grace := 2 * time.Minute
	startTimeout := 10 * time.Minute
	createdJob := job(nil)
	createdJob.CreationTimestamp = metav1.NewTime(t0)
	unscheduled := podWith(nil)
	unscheduled.Status.StartTime = nil
	unscheduled.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: "Unschedulable", Message: "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."}}
	creating := podWith([]corev1.ContainerStatus{waiting("pvc-backup-0", "ContainerCreating", "")})

	tests := map[string]struct {
		o    Observation
		want Outcome
	}{
		"hosts succeeded": {
			o:    Observation{Hosts: Hosts{Phase: PhaseSucceeded}, Job: job(nil), Pod: donePod, Steps: steps(donePod)},
			want: Outcome{Phase: PhaseSucceeded, Reason: stashv1beta1.ReasonCompleted, Message: "every host reported success"},
		},
		"hosts succeeded, then the Job failed: the report stands": {
			o:    Observation{Hosts: Hosts{Phase: PhaseSucceeded}, Job: job(nil, jobCond(batchv1.JobFailed, "BackoffLimitExceeded", "")), Steps: steps(failedPod)},
			want: Outcome{Phase: PhaseSucceeded, Reason: stashv1beta1.ReasonCompleted, Message: "every host reported success"},
		},
		"a host failed": {
			o:    Observation{Hosts: Hosts{Phase: PhaseFailed, Message: "host-0: restic: wrong password"}, Job: job(nil)},
			want: Failed(stashv1beta1.ReasonHostFailed, "host-0: restic: wrong password"),
		},
		"a restore host is unknown": {
			o:    Observation{Hosts: Hosts{Phase: PhaseUnknown, Message: "host-0: Unknown"}, Job: job(nil)},
			want: Outcome{Phase: PhaseUnknown, Reason: stashv1beta1.ReasonHostPhaseUnknown, Message: "host-0: Unknown"},
		},
		"Job deleted": {
			o:    Observation{Hosts: Hosts{Phase: PhaseRunning}, Steps: steps(runningPod)},
			want: Failed(stashv1beta1.ReasonJobDeleted, "the Job was deleted before every host reported; the session cannot finish"),
		},
		"Job deadline exceeded": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Pod: runningPod, Steps: steps(runningPod),
				Job: job(ptr.To[int64](600), jobCond(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline"))},
			want: Failed(stashv1beta1.ReasonTimeout, `Job stash-backup-s-0 ran longer than its activeDeadlineSeconds (600s, the timeOut); step "pvc-backup-0" (function "pvc-backup") was running`),
		},
		"Job deadline exceeded wins over the step it killed": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Pod: failedPod, Steps: steps(failedPod),
				Job: job(ptr.To[int64](600), jobCond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, ""))},
			want: Failed(stashv1beta1.ReasonTimeout, "Job stash-backup-s-0 ran longer than its activeDeadlineSeconds (600s, the timeOut)"),
		},
		"step exit code: name, function, code, reason and the log's last 10 lines": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Pod: failedPod, Steps: steps(failedPod),
				Job: job(nil, jobCond(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit"))},
			want: Failed(stashv1beta1.ReasonStepFailed, `step "pvc-backup-0" (function "pvc-backup") failed with exit code 3 (Error): `+
				"line 6\nline 7\nline 8\nline 9\nline 10\nline 11\nline 12\nline 13\nline 14\nline 15"),
		},
		"step OOMKilled": {
			o:    Observation{Hosts: Hosts{Phase: PhaseRunning}, Pod: oomPod, Steps: steps(oomPod), Job: job(nil)},
			want: Failed(stashv1beta1.ReasonStepFailed, `step "pvc-backup-0" (function "pvc-backup") failed with exit code 137 (OOMKilled)`),
		},
		"Job failed without a failed step": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Pod: runningPod, Steps: steps(runningPod),
				Job: job(nil, jobCond(batchv1.JobFailed, "PodFailurePolicy", "pod deleted"))},
			want: Failed(stashv1beta1.ReasonJobFailed, "Job stash-backup-s-0 failed: PodFailurePolicy: pod deleted"),
		},
		"pod evicted": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: job(nil),
				Pod: withPhase(podWith(nil), corev1.PodFailed, "Evicted", "The node was low on resource: memory.")},
			want: Failed(stashv1beta1.ReasonJobFailed, "pod stash-backup-s-0-abcde of Job stash-backup-s-0 failed: Evicted: The node was low on resource: memory."),
		},
		"image pull within the grace period": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: job(nil), Pod: pullFirst, Steps: steps(pullFirst),
				Now: t0.Add(31 * time.Second), ImagePullGrace: grace},
			want: Outcome{Phase: PhaseRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message,
				RequeueAfter: grace - 30*time.Second},
		},
		"image pull beyond the grace period, counted from the pod's start": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: job(nil), Pod: pullFirst, Steps: steps(pullFirst),
				Now: t0.Add(time.Second + grace), ImagePullGrace: grace},
			want: Failed(stashv1beta1.ReasonImagePullFailed, `step "pvc-backup-0" (function "pvc-backup") cannot get its image: ImagePullBackOff for 2m0s (grace period 2m0s): Back-off pulling image "stash:typo"`),
		},
		"image pull of a later step counts from the step before it": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: job(nil), Pod: pullSecond, Steps: steps(pullSecond),
				Now: t0.Add(2 * time.Minute), ImagePullGrace: grace},
			want: Outcome{Phase: PhaseRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message,
				RequeueAfter: time.Minute},
		},
		"image pull of a later step beyond the grace period": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: job(nil), Pod: pullSecond, Steps: steps(pullSecond),
				Now: t0.Add(4 * time.Minute), ImagePullGrace: grace},
			want: Failed(stashv1beta1.ReasonImagePullFailed, `step "update-status-1" (function "update-status") cannot get its image: ErrImagePull for 3m0s (grace period 2m0s): not found`),
		},
		"Job complete but no host reported": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Pod: donePod, Steps: steps(donePod),
				Job: job(nil, jobCond(batchv1.JobSuccessCriteriaMet, "CompletionsReached", ""), jobCond(batchv1.JobComplete, "", ""))},
			want: Failed(stashv1beta1.ReasonHostNotReported, "Job stash-backup-s-0 finished but no host reported its result: the Task's last step must write it (update-status does)"),
		},
		"pod succeeded before the Job noticed, no host reported": {
			o:    Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: job(nil), Pod: donePod, Steps: steps(donePod)},
			want: Failed(stashv1beta1.ReasonHostNotReported, "Job stash-backup-s-0 finished but no host reported its result: the Task's last step must write it (update-status does)"),
		},
		"session timeOut passed": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: job(ptr.To[int64](60)), Pod: runningPod, Steps: steps(runningPod),
				Created: t0, Now: t0.Add(61 * time.Second)},
			want: Failed(stashv1beta1.ReasonTimeout, `the session still ran 1m1s after it was created, longer than its timeOut 1m0s; step "pvc-backup-0" (function "pvc-backup") was running`),
		},
		"session timeOut ahead: look again at the deadline": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: job(ptr.To[int64](3600)), Pod: runningPod, Steps: steps(runningPod),
				Created: t0, Now: t0.Add(10 * time.Minute)},
			want: Outcome{Phase: PhaseRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message, RequeueAfter: 50 * time.Minute},
		},
		"the nearer of timeOut and image pull grace": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: job(ptr.To[int64](60)), Pod: pullFirst, Steps: steps(pullFirst),
				Created: t0, Now: t0.Add(31 * time.Second), ImagePullGrace: grace},
			want: Outcome{Phase: PhaseRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message, RequeueAfter: 29 * time.Second},
		},
		"running, no pod yet, no deadline": {
			o:    Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: job(nil), Steps: steps(nil), Created: t0, Now: t0.Add(time.Hour)},
			want: Running("stash-backup-s-0"),
		},
		"no pod yet, within the start timeout": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: createdJob, Steps: steps(nil),
				Created: t0, Now: t0.Add(3 * time.Minute), PodStartTimeout: startTimeout},
			want: Outcome{Phase: PhaseRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message, RequeueAfter: 7 * time.Minute},
		},
		"no pod at the start timeout": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: createdJob, Steps: steps(nil),
				Created: t0, Now: t0.Add(startTimeout), PodStartTimeout: startTimeout},
			want: Failed(stashv1beta1.ReasonPodNotStarted, "Job stash-backup-s-0 created no pod within 10m0s (the operator's --pod-start-timeout 10m0s): "+
				"see `kubectl describe job stash-backup-s-0` (a ResourceQuota, a missing ServiceAccount or an admission webhook can refuse it)"),
		},
		"pod never scheduled": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: createdJob, Pod: unscheduled, Steps: steps(unscheduled),
				Created: t0, Now: t0.Add(11 * time.Minute), PodStartTimeout: startTimeout},
			want: Failed(stashv1beta1.ReasonPodNotStarted, "pod stash-backup-s-0-abcde of Job stash-backup-s-0 was not scheduled within 11m0s (the operator's --pod-start-timeout 10m0s): "+
				"Unschedulable: 0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."),
		},
		"a volume that never mounts": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: createdJob, Pod: creating, Steps: steps(creating),
				Created: t0, Now: t0.Add(startTimeout), PodStartTimeout: startTimeout},
			want: Failed(stashv1beta1.ReasonPodNotStarted, `pod stash-backup-s-0-abcde of Job stash-backup-s-0 did not start step "pvc-backup-0" (function "pvc-backup") (ContainerCreating) `+
				"within 10m0s (the operator's --pod-start-timeout 10m0s): see the events of `kubectl describe pod stash-backup-s-0-abcde` (e.g. FailedMount)"),
		},
		"a started step ends the start timeout": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: createdJob, Pod: runningPod, Steps: steps(runningPod),
				Created: t0, Now: t0.Add(time.Hour), PodStartTimeout: startTimeout},
			want: Running("stash-backup-s-0"),
		},
		"an image pull is judged by its own grace period": {
			o: Observation{Hosts: Hosts{Phase: PhaseRunning}, Job: createdJob, Pod: pullFirst, Steps: steps(pullFirst),
				Created: t0, Now: t0.Add(time.Minute), ImagePullGrace: time.Hour, PodStartTimeout: 30 * time.Second},
			want: Outcome{Phase: PhaseRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message, RequeueAfter: time.Hour - time.Minute + time.Second},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Decide(tc.o)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCut(t *testing.T) {
	if got := cutBack(strings.Repeat("é", 600), maxEventNote); len(got) > maxEventNote || !strings.HasSuffix(got, "é…") {
		t.Errorf("cutBack: %d bytes, ends %q", len(got), got[len(got)-8:])
	}
	if got := tail(strings.Repeat("ü", 1000)); !strings.HasPrefix(got, "…ü") || len(got) > tailBytes+len("…") {
		t.Errorf("tail: %d bytes, starts %q", len(got), got[:8])
	}
}

func TestStopJob(t *testing.T) {
	suspended := job(nil)
	suspended.Spec.Suspend = ptr.To(true)
	succeeded := job(nil, jobCond(batchv1.JobComplete, "", ""))
	failedJob := job(nil, jobCond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, ""))
	for name, tc := range map[string]struct {
		out  Outcome
		job  *batchv1.Job
		want bool
	}{
		"image pull failed, Job active":        {Failed(stashv1beta1.ReasonImagePullFailed, ""), job(nil), true},
		"session timeOut, Job active":          {Failed(stashv1beta1.ReasonTimeout, ""), job(nil), true},
		"pod never started, Job active":        {Failed(stashv1beta1.ReasonPodNotStarted, ""), job(nil), true},
		"timeout by the Job's own deadline":    {Failed(stashv1beta1.ReasonTimeout, ""), failedJob, false},
		"already suspended":                    {Failed(stashv1beta1.ReasonImagePullFailed, ""), suspended, false},
		"Job gone":                             {Failed(stashv1beta1.ReasonImagePullFailed, ""), nil, false},
		"Job already complete":                 {Failed(stashv1beta1.ReasonTimeout, ""), succeeded, false},
		"a host failed: its pod records steps": {Failed(stashv1beta1.ReasonHostFailed, ""), job(nil), false},
		"a step failed: the pod has ended":     {Failed(stashv1beta1.ReasonStepFailed, ""), job(nil), false},
		"succeeded":                            {Outcome{Phase: PhaseSucceeded, Reason: stashv1beta1.ReasonCompleted}, job(nil), false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := StopJob(tc.out, tc.job); got != tc.want {
				t.Fatalf("StopJob = %v, want %v", got, tc.want)
			}
		})
	}
}
