package session

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
		ObjectMeta: metav1.ObjectMeta{Name: "stash-backup-s-0", Namespace: "demo"},
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

// one is o with the single host h, as a PVC or database session has, whose
// Job was made (unless the case says otherwise with queued).
func one(h Host, o Observation) Observation {
	h.Created = true
	o.Hosts = []Host{h}
	return o
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
	hookSpec := podSpec("pre-task-hook", "pvc-backup-1", "update-status-2")
	hookSteps := func(p *corev1.Pod) []stashv1beta1.StepStatus { return Steps(hookSpec, fns, p) }
	hookPod := podWith([]corev1.ContainerStatus{terminated("pre-task-hook", 1, "Error",
		"preBackup: hook 1 (exec [psql -c CHECKPOINT] in pod db-0, container postgres) failed after 1s: exit code 2: connection refused", time.Second, 2*time.Second)})

	tests := map[string]struct {
		o    Observation
		want Verdict
		rule string // the rule that decides; none while the session runs
	}{
		"hosts succeeded": {
			o:    one(Host{Name: "host-0", Report: &Report{Phase: stashv1beta1.SessionSucceeded}, Job: job(nil), Pod: donePod, Steps: steps(donePod)}, Observation{}),
			want: Verdict{Phase: stashv1beta1.SessionSucceeded, Reason: stashv1beta1.ReasonCompleted, Message: "every host reported success"},
			rule: "HostReported",
		},
		"hosts succeeded, then the Job failed: the report stands": {
			o:    one(Host{Name: "host-0", Report: &Report{Phase: stashv1beta1.SessionSucceeded}, Job: job(nil, jobCond(batchv1.JobFailed, "BackoffLimitExceeded", "")), Steps: steps(failedPod)}, Observation{}),
			want: Verdict{Phase: stashv1beta1.SessionSucceeded, Reason: stashv1beta1.ReasonCompleted, Message: "every host reported success"},
			rule: "HostReported",
		},
		"a host failed": {
			o:    one(Host{Name: "host-0", Report: &Report{Phase: stashv1beta1.SessionFailed, Message: "host-0: restic: wrong password"}, Job: job(nil)}, Observation{}),
			want: Failed(stashv1beta1.ReasonHostFailed, "host-0: restic: wrong password"),
			rule: "HostReported",
		},
		"a post hook failed the host: HookFailed": {
			o: one(Host{Name: "host-0", Report: &Report{Phase: stashv1beta1.SessionFailed, Hook: "postBackup",
				Message: "postBackup hook failed: PersistentVolumeClaim data host host-0: ...; snapshot a1b2 was taken and is kept"}, Job: job(nil)}, Observation{}),
			want: Failed(stashv1beta1.ReasonHookFailed, "postBackup hook failed: PersistentVolumeClaim data host host-0: ...; snapshot a1b2 was taken and is kept"),
			rule: "HostReported",
		},
		"a restore host is unknown": {
			o:    one(Host{Name: "host-0", Report: &Report{Phase: stashv1beta1.SessionUnknown, Message: "host-0: Unknown"}, Job: job(nil)}, Observation{}),
			want: Verdict{Phase: stashv1beta1.SessionUnknown, Reason: stashv1beta1.ReasonHostPhaseUnknown, Message: "host-0: Unknown"},
			rule: "HostReported",
		},
		"a host that cannot be backed up": {
			o:    one(Host{Name: "host-0", Problem: `volume "data" is claim "c" of access mode ReadWriteOncePod`}, Observation{}),
			want: Failed(stashv1beta1.ReasonHostUnavailable, `volume "data" is claim "c" of access mode ReadWriteOncePod`),
			rule: "HostUnavailable",
		},
		"a host whose Job waits its turn": {
			o:    Observation{Hosts: []Host{{Name: "host-3"}}},
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Message: "host host-3 waits for its turn to start its Job"},
			rule: "JobQueued",
		},
		"Job deleted": {
			o:    one(Host{Name: "host-0", Steps: steps(runningPod)}, Observation{}),
			want: Failed(stashv1beta1.ReasonJobDeleted, "the Job was deleted before every host reported; the session cannot finish"),
			rule: "JobDeleted",
		},
		"Job deadline exceeded": {
			o:    one(Host{Name: "host-0", Pod: runningPod, Steps: steps(runningPod), Job: job(ptr.To[int64](600), jobCond(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, "Job was active longer than specified deadline"))}, Observation{}),
			want: Failed(stashv1beta1.ReasonTimeout, `Job stash-backup-s-0 ran longer than its activeDeadlineSeconds (600s, the timeOut); step "pvc-backup-0" (function "pvc-backup") was running`),
			rule: "JobDeadlineExceeded",
		},
		"Job deadline exceeded wins over the step it killed": {
			o:    one(Host{Name: "host-0", Pod: failedPod, Steps: steps(failedPod), Job: job(ptr.To[int64](600), jobCond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, ""))}, Observation{}),
			want: Failed(stashv1beta1.ReasonTimeout, "Job stash-backup-s-0 ran longer than its activeDeadlineSeconds (600s, the timeOut)"),
			rule: "JobDeadlineExceeded",
		},
		"step exit code: name, function, code, reason and the log's last 10 lines": {
			o: one(Host{Name: "host-0", Pod: failedPod, Steps: steps(failedPod), Job: job(nil, jobCond(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit"))}, Observation{}),
			want: Failed(stashv1beta1.ReasonStepFailed, `step "pvc-backup-0" (function "pvc-backup") failed with exit code 3 (Error): `+
				"line 6\nline 7\nline 8\nline 9\nline 10\nline 11\nline 12\nline 13\nline 14\nline 15"),
			rule: "StepFailed",
		},
		"a pre hook failed: HookFailed, nothing backed up": {
			o: one(Host{Name: "host-0", Pod: hookPod, Steps: hookSteps(hookPod), Job: job(nil)}, Observation{}),
			want: Failed(stashv1beta1.ReasonHookFailed, `a pre hook failed, so nothing was backed up or restored: step "pre-task-hook" failed with exit code 1 (Error): `+
				"preBackup: hook 1 (exec [psql -c CHECKPOINT] in pod db-0, container postgres) failed after 1s: exit code 2: connection refused"),
			rule: "StepFailed",
		},
		"step OOMKilled": {
			o:    one(Host{Name: "host-0", Pod: oomPod, Steps: steps(oomPod), Job: job(nil)}, Observation{}),
			want: Failed(stashv1beta1.ReasonStepFailed, `step "pvc-backup-0" (function "pvc-backup") failed with exit code 137 (OOMKilled)`),
			rule: "StepFailed",
		},
		"Job failed without a failed step": {
			o:    one(Host{Name: "host-0", Pod: runningPod, Steps: steps(runningPod), Job: job(nil, jobCond(batchv1.JobFailed, "PodFailurePolicy", "pod deleted"))}, Observation{}),
			want: Failed(stashv1beta1.ReasonJobFailed, "Job stash-backup-s-0 failed: PodFailurePolicy: pod deleted"),
			rule: "JobFailed",
		},
		"pod evicted": {
			o:    one(Host{Name: "host-0", Job: job(nil), Pod: withPhase(podWith(nil), corev1.PodFailed, "Evicted", "The node was low on resource: memory.")}, Observation{}),
			want: Failed(stashv1beta1.ReasonJobFailed, "pod stash-backup-s-0-abcde of Job stash-backup-s-0 failed: Evicted: The node was low on resource: memory."),
			rule: "PodFailed",
		},
		"image pull within the grace period": {
			o: one(Host{Name: "host-0", Job: job(nil), Pod: pullFirst, Steps: steps(pullFirst)}, Observation{Now: t0.Add(31 * time.Second), ImagePullGrace: grace}),
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message,
				RequeueAfter: grace - 30*time.Second},
		},
		"image pull beyond the grace period, counted from the pod's start": {
			o:    one(Host{Name: "host-0", Job: job(nil), Pod: pullFirst, Steps: steps(pullFirst)}, Observation{Now: t0.Add(time.Second + grace), ImagePullGrace: grace}),
			want: Failed(stashv1beta1.ReasonImagePullFailed, `step "pvc-backup-0" (function "pvc-backup") cannot get its image: ImagePullBackOff for 2m0s (grace period 2m0s): Back-off pulling image "stash:typo"`),
			rule: "ImagePullFailed",
		},
		"image pull of a later step counts from the step before it": {
			o: one(Host{Name: "host-0", Job: job(nil), Pod: pullSecond, Steps: steps(pullSecond)}, Observation{Now: t0.Add(2 * time.Minute), ImagePullGrace: grace}),
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message,
				RequeueAfter: time.Minute},
		},
		"image pull of a later step beyond the grace period": {
			o:    one(Host{Name: "host-0", Job: job(nil), Pod: pullSecond, Steps: steps(pullSecond)}, Observation{Now: t0.Add(4 * time.Minute), ImagePullGrace: grace}),
			want: Failed(stashv1beta1.ReasonImagePullFailed, `step "update-status-1" (function "update-status") cannot get its image: ErrImagePull for 3m0s (grace period 2m0s): not found`),
			rule: "ImagePullFailed",
		},
		"Job complete but no host reported": {
			o:    one(Host{Name: "host-0", Pod: donePod, Steps: steps(donePod), Job: job(nil, jobCond(batchv1.JobSuccessCriteriaMet, "CompletionsReached", ""), jobCond(batchv1.JobComplete, "", ""))}, Observation{}),
			want: Failed(stashv1beta1.ReasonHostNotReported, "Job stash-backup-s-0 finished but no host reported its result: the Task's last step must write it (update-status does)"),
			rule: "JobEndedWithoutReport",
		},
		"pod succeeded before the Job noticed, no host reported": {
			o:    one(Host{Name: "host-0", Job: job(nil), Pod: donePod, Steps: steps(donePod)}, Observation{}),
			want: Failed(stashv1beta1.ReasonHostNotReported, "Job stash-backup-s-0 finished but no host reported its result: the Task's last step must write it (update-status does)"),
			rule: "JobEndedWithoutReport",
		},
		"session timeOut passed": {
			o:    one(Host{Name: "host-0", Job: job(ptr.To[int64](60)), Pod: runningPod, Steps: steps(runningPod)}, Observation{Created: t0, Now: t0.Add(61 * time.Second)}),
			want: Failed(stashv1beta1.ReasonTimeout, `the session still ran 1m1s after it was created, longer than its timeOut 1m0s; step "pvc-backup-0" (function "pvc-backup") was running`),
			rule: "SessionTimedOut",
		},
		"session timeOut ahead: look again at the deadline": {
			o:    one(Host{Name: "host-0", Job: job(ptr.To[int64](3600)), Pod: runningPod, Steps: steps(runningPod)}, Observation{Created: t0, Now: t0.Add(10 * time.Minute)}),
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message, RequeueAfter: 50 * time.Minute},
		},
		"the nearer of timeOut and image pull grace": {
			o:    one(Host{Name: "host-0", Job: job(ptr.To[int64](60)), Pod: pullFirst, Steps: steps(pullFirst)}, Observation{Created: t0, Now: t0.Add(31 * time.Second), ImagePullGrace: grace}),
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message, RequeueAfter: 29 * time.Second},
		},
		"running, no pod yet, no deadline": {
			o:    one(Host{Name: "host-0", Job: job(nil), Steps: steps(nil)}, Observation{Created: t0, Now: t0.Add(time.Hour)}),
			want: Running("stash-backup-s-0"),
		},
		"no pod yet, within the start timeout": {
			o:    one(Host{Name: "host-0", Job: createdJob, Steps: steps(nil)}, Observation{Created: t0, Now: t0.Add(3 * time.Minute), PodStartTimeout: startTimeout}),
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message, RequeueAfter: 7 * time.Minute},
		},
		"no pod at the start timeout": {
			o: one(Host{Name: "host-0", Job: createdJob, Steps: steps(nil)}, Observation{Created: t0, Now: t0.Add(startTimeout), PodStartTimeout: startTimeout}),
			want: Failed(stashv1beta1.ReasonPodNotStarted, "Job stash-backup-s-0 created no pod within 10m0s (the operator's --pod-start-timeout 10m0s): "+
				"see `kubectl describe job stash-backup-s-0` (a ResourceQuota, a missing ServiceAccount or an admission webhook can refuse it)"),
			rule: "PodNotStarted",
		},
		"pod never scheduled": {
			o: one(Host{Name: "host-0", Job: createdJob, Pod: unscheduled, Steps: steps(unscheduled)}, Observation{Created: t0, Now: t0.Add(11 * time.Minute), PodStartTimeout: startTimeout}),
			want: Failed(stashv1beta1.ReasonPodNotStarted, "pod stash-backup-s-0-abcde of Job stash-backup-s-0 was not scheduled within 11m0s (the operator's --pod-start-timeout 10m0s): "+
				"Unschedulable: 0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."),
			rule: "PodNotStarted",
		},
		"a volume that never mounts": {
			o: one(Host{Name: "host-0", Job: createdJob, Pod: creating, Steps: steps(creating)}, Observation{Created: t0, Now: t0.Add(startTimeout), PodStartTimeout: startTimeout}),
			want: Failed(stashv1beta1.ReasonPodNotStarted, `pod stash-backup-s-0-abcde of Job stash-backup-s-0 did not start step "pvc-backup-0" (function "pvc-backup") (ContainerCreating) `+
				"within 10m0s (the operator's --pod-start-timeout 10m0s): see the events of `kubectl describe pod stash-backup-s-0-abcde` (e.g. FailedMount)"),
			rule: "PodNotStarted",
		},
		"a volume's Secret does not exist, within the grace period": {
			o: one(Host{Name: "host-0", Job: createdJob, Pod: creating, Steps: steps(creating), MissingSources: []string{`Secret "repo-secret" (volume "secret-volume")`}},
				Observation{Created: t0, Now: t0.Add(20 * time.Second), PodStartTimeout: startTimeout, MissingSourceGrace: time.Minute}),
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message, RequeueAfter: 40 * time.Second},
		},
		"a volume's Secret does not exist after the grace period": {
			o: one(Host{Name: "host-0", Job: createdJob, Pod: creating, Steps: steps(creating),
				MissingSources: []string{`Secret "repo-secret" (volume "secret-volume")`, `PersistentVolumeClaim "data" (volume "stash-volume")`}},
				Observation{Created: t0, Now: t0.Add(time.Minute), PodStartTimeout: startTimeout, MissingSourceGrace: time.Minute}),
			want: Failed(stashv1beta1.ReasonVolumeSourceNotFound, `the pod of Job stash-backup-s-0 cannot start: Secret "repo-secret" (volume "secret-volume"), `+
				`PersistentVolumeClaim "data" (volume "stash-volume") does not exist in namespace demo (waited 1m0s): create it, or fix the object that names it`),
			rule: "VolumeSourceNotFound",
		},
		"a missing source no longer counts once a step started": {
			o: one(Host{Name: "host-0", Job: createdJob, Pod: runningPod, Steps: steps(runningPod), MissingSources: []string{`Secret "gone"`}},
				Observation{Created: t0, Now: t0.Add(time.Hour), MissingSourceGrace: time.Minute}),
			want: Running("stash-backup-s-0"),
		},
		"a started step ends the start timeout": {
			o:    one(Host{Name: "host-0", Job: createdJob, Pod: runningPod, Steps: steps(runningPod)}, Observation{Created: t0, Now: t0.Add(time.Hour), PodStartTimeout: startTimeout}),
			want: Running("stash-backup-s-0"),
		},
		"an image pull is judged by its own grace period": {
			o:    one(Host{Name: "host-0", Job: createdJob, Pod: pullFirst, Steps: steps(pullFirst)}, Observation{Created: t0, Now: t0.Add(time.Minute), ImagePullGrace: time.Hour, PodStartTimeout: 30 * time.Second}),
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Message: Running("stash-backup-s-0").Message, RequeueAfter: time.Hour - time.Minute + time.Second},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			want := tc.want
			want.Rule = tc.rule
			if diff := cmp.Diff(want, Decide(tc.o)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
	// Adding a rule means adding its rows here.
	decided := map[string]bool{}
	for _, tc := range tests {
		decided[tc.rule] = true
	}
	for _, r := range HostRules {
		if !decided[r.Name] {
			t.Errorf("no case of this table is decided by rule %q", r.Name)
		}
	}
}

func TestStopJob(t *testing.T) {
	suspended := job(nil)
	suspended.Spec.Suspend = ptr.To(true)
	succeeded := job(nil, jobCond(batchv1.JobComplete, "", ""))
	failedJob := job(nil, jobCond(batchv1.JobFailed, batchv1.JobReasonDeadlineExceeded, ""))
	for name, tc := range map[string]struct {
		v    Verdict
		job  *batchv1.Job
		want bool
	}{
		"image pull failed, Job active":        {Failed(stashv1beta1.ReasonImagePullFailed, ""), job(nil), true},
		"session timeOut, Job active":          {Failed(stashv1beta1.ReasonTimeout, ""), job(nil), true},
		"pod never started, Job active":        {Failed(stashv1beta1.ReasonPodNotStarted, ""), job(nil), true},
		"a volume source missing, Job active":  {Failed(stashv1beta1.ReasonVolumeSourceNotFound, ""), job(nil), true},
		"timeout by the Job's own deadline":    {Failed(stashv1beta1.ReasonTimeout, ""), failedJob, false},
		"already suspended":                    {Failed(stashv1beta1.ReasonImagePullFailed, ""), suspended, false},
		"Job gone":                             {Failed(stashv1beta1.ReasonImagePullFailed, ""), nil, false},
		"Job already complete":                 {Failed(stashv1beta1.ReasonTimeout, ""), succeeded, false},
		"a host failed: its pod records steps": {Failed(stashv1beta1.ReasonHostFailed, ""), job(nil), false},
		"a step failed: the pod has ended":     {Failed(stashv1beta1.ReasonStepFailed, ""), job(nil), false},
		"succeeded":                            {Verdict{Phase: stashv1beta1.SessionSucceeded, Reason: stashv1beta1.ReasonCompleted}, job(nil), false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := StopJob(tc.v, tc.job); got != tc.want {
				t.Fatalf("StopJob = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecideCombinesHosts(t *testing.T) {
	done := func(name string) Host {
		return Host{Name: name, Created: true, Report: &Report{Phase: stashv1beta1.SessionSucceeded}, Job: job(nil)}
	}
	failed := func(name, msg string) Host {
		return Host{Name: name, Created: true, Report: &Report{Phase: stashv1beta1.SessionFailed, Message: msg}, Job: job(nil)}
	}
	runningFor := func(name string, deadline *int64) Host { return Host{Name: name, Created: true, Job: job(deadline)} }
	tests := map[string]struct {
		hosts []Host
		want  Verdict
	}{
		"every host succeeded": {
			hosts: []Host{done("host-0"), done("host-1")},
			want:  Succeeded(),
		},
		"a queued host keeps the session running": {
			hosts: []Host{done("host-0"), {Name: "host-1"}},
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning,
				Message: "1 of 2 hosts are running (host-1); waiting for them to report"},
		},
		"a host that cannot be backed up fails the session, the others done": {
			hosts: []Host{done("host-0"), {Name: "host-1", Problem: "its volume is ReadWriteOncePod"}},
			want: Verdict{Phase: stashv1beta1.SessionFailed, Reason: stashv1beta1.ReasonHostUnavailable, Rule: "HostUnavailable",
				Message: "1 of 2 hosts failed: host host-1: its volume is ReadWriteOncePod"},
		},
		"one host still runs: the session runs, until the nearest deadline": {
			hosts: []Host{done("host-0"), runningFor("host-1", ptr.To[int64](600)), runningFor("host-2", ptr.To[int64](60))},
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning,
				Message: "2 of 3 hosts are running (host-1, host-2); waiting for them to report", RequeueAfter: 30 * time.Second},
		},
		"a failed host fails the session once the others are done, naming it": {
			hosts: []Host{done("host-0"), failed("host-1", "restic: no such file")},
			want:  Verdict{Phase: stashv1beta1.SessionFailed, Reason: stashv1beta1.ReasonHostFailed, Rule: "HostReported", Message: "1 of 2 hosts failed: host host-1: restic: no such file"},
		},
		"the first failure's reason, every failed host named": {
			hosts: []Host{{Name: "host-0", Created: true}, failed("host-1", "restic: locked")},
			want: Verdict{Phase: stashv1beta1.SessionFailed, Reason: stashv1beta1.ReasonJobDeleted, Rule: "JobDeleted",
				Message: "2 of 2 hosts failed: host host-0: the Job was deleted before every host reported; the session cannot finish; host host-1: restic: locked"},
		},
		"an unknown host and no failure": {
			hosts: []Host{done("host-0"), {Name: "host-1", Created: true, Report: &Report{Phase: stashv1beta1.SessionUnknown, Message: "Unknown"}, Job: job(nil)}},
			want:  Verdict{Phase: stashv1beta1.SessionUnknown, Reason: stashv1beta1.ReasonHostPhaseUnknown, Rule: "HostReported", Message: "host host-1: Unknown"},
		},
		"no host at all": {
			want: Failed(stashv1beta1.ReasonJobCreationFailed, "the session has no host to back up or restore"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := Observation{Hosts: tc.hosts, Created: t0, Now: t0.Add(30 * time.Second)}
			if diff := cmp.Diff(tc.want, Decide(o)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

// A target being readied holds every Job back; it gets until the pod
// start timeout.
func TestDecideWhilePreparing(t *testing.T) {
	queued := []Host{{Name: "host-0"}, {Name: "host-1"}}
	what := "the pods of Deployment web to end, stopped for the restore (1 left: web-1)"
	tests := map[string]struct {
		waited time.Duration
		want   Verdict
	}{
		"waiting, until the timeout": {
			waited: 4 * time.Minute,
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Rule: "TargetPreparing",
				Message: "waiting for " + what, RequeueAfter: 6 * time.Minute},
		},
		"not ready at the timeout: failed, saying what it waited for": {
			waited: 10 * time.Minute,
			want: Failed(stashv1beta1.ReasonTargetNotReady,
				"the target was still not ready 10m0s after the session was created (--pod-start-timeout 10m0s): "+what),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := Observation{Hosts: queued, Created: t0, Now: t0.Add(tc.waited), PodStartTimeout: 10 * time.Minute, Preparing: what}
			if diff := cmp.Diff(tc.want, Decide(o)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

// A session throttled by the operator's limit waits in Pending until one
// of its hosts has a Job; then its hosts decide, the queued ones waiting.
func TestDecideWhileThrottled(t *testing.T) {
	why := "waiting for a free slot: at most 10 backup Jobs run at once (the operator's --max-running-backup-jobs), older sessions first"
	running := Host{Name: "host-0", Created: true, Job: &batchv1.Job{}}
	tests := map[string]struct {
		hosts []Host
		want  Verdict
	}{
		"no Job yet: Pending": {hosts: []Host{{Name: "host-0"}, {Name: "host-1"}},
			want: Verdict{Phase: stashv1beta1.SessionPending, Reason: stashv1beta1.ReasonPending, Message: why, RequeueAfter: ThrottledRetry, Rule: "Throttled"}},
		"one host runs: Running": {hosts: []Host{running, {Name: "host-1"}},
			want: Verdict{Phase: stashv1beta1.SessionRunning, Reason: stashv1beta1.ReasonRunning, Rule: "JobQueued",
				Message: "host host-1 waits for its turn to start its Job"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Decide(Observation{Hosts: tc.hosts, Created: t0, Now: t0.Add(time.Minute), Throttled: why})
			if got.Phase != tc.want.Phase || got.Reason != tc.want.Reason || (tc.want.Rule == "Throttled" && !cmp.Equal(tc.want, got)) {
				t.Errorf("Decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Every rule of the chain is named once.
func TestHostRulesHaveUniqueNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range HostRules {
		if r.Name == "" || seen[r.Name] || r.Judge == nil {
			t.Errorf("rule %q: empty, repeated or without a Judge", r.Name)
		}
		seen[r.Name] = true
	}
}
