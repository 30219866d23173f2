package session

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/naming"
)

var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

func at(d time.Duration) metav1.Time { return metav1.NewTime(t0.Add(d)) }

func atPtr(d time.Duration) *metav1.Time { t := at(d); return &t }

// podSpec is a Job's pod as the resolver builds it: steps in order, hooks
// around them, the last step as the main container.
func podSpec(names ...string) corev1.PodSpec {
	var spec corev1.PodSpec
	for _, n := range names[:len(names)-1] {
		spec.InitContainers = append(spec.InitContainers, corev1.Container{Name: n})
	}
	spec.Containers = []corev1.Container{{Name: names[len(names)-1]}}
	return spec
}

func terminated(name string, code int32, reason, msg string, start, end time.Duration) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, Reason: reason, Message: msg, StartedAt: at(start), FinishedAt: at(end)}}}
}

func running(name string, start time.Duration) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at(start)}}}
}

func waiting(name, reason, msg string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
}

func podWith(init []corev1.ContainerStatus, main ...corev1.ContainerStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stash-backup-s-0-abcde", CreationTimestamp: at(0)},
		Status:     corev1.PodStatus{StartTime: atPtr(time.Second), InitContainerStatuses: init, ContainerStatuses: main},
	}
}

func TestStepFunctions(t *testing.T) {
	tests := map[string]struct {
		spec  corev1.PodSpec
		steps []string
		want  map[string]string
	}{
		"steps in order": {
			spec:  podSpec("pvc-backup-0", "update-status-1"),
			steps: []string{"pvc-backup", "update-status"},
			want:  map[string]string{"pvc-backup-0": "pvc-backup", "update-status-1": "update-status"},
		},
		"hooks run no function": {
			spec:  podSpec(naming.PreTaskHookContainer, "pg-backup-0", naming.PostTaskHookContainer, "update-status-1"),
			steps: []string{"postgres-backup-15", "update-status"},
			want:  map[string]string{"pg-backup-0": "postgres-backup-15", "update-status-1": "update-status"},
		},
		"a shortened container name still gets its function": {
			spec:  podSpec("a-very-long-function-name-that-was-cut-1a2b3c4d", "update-status-1"),
			steps: []string{"a.very.long.function.name.that.was.cut.because.it.is.long", "update-status"},
			want: map[string]string{"a-very-long-function-name-that-was-cut-1a2b3c4d": "a.very.long.function.name.that.was.cut.because.it.is.long",
				"update-status-1": "update-status"},
		},
		"Task unknown": {spec: podSpec("x-0", "y-1"), want: map[string]string{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, StepFunctions(tc.spec, tc.steps)); diff != "" {
				t.Errorf("StepFunctions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSteps(t *testing.T) {
	spec := podSpec(naming.PreTaskHookContainer, "pvc-backup-0", "update-status-1")
	functions := map[string]string{"pvc-backup-0": "pvc-backup", "update-status-1": "update-status"}
	pending := func(name, function string) stashv1beta1.StepStatus {
		return stashv1beta1.StepStatus{Name: name, Function: function, Phase: stashv1beta1.StepPending}
	}
	hookDone := stashv1beta1.StepStatus{Name: naming.PreTaskHookContainer, Phase: stashv1beta1.StepSucceeded, ExitCode: ptr.To[int32](0),
		StartTime: atPtr(2 * time.Second), FinishTime: atPtr(3 * time.Second), Reason: "Completed"}

	tests := map[string]struct {
		pod  *corev1.Pod
		want []stashv1beta1.StepStatus
	}{
		"no pod yet": {
			want: []stashv1beta1.StepStatus{pending(naming.PreTaskHookContainer, ""), pending("pvc-backup-0", "pvc-backup"), pending("update-status-1", "update-status")},
		},
		"first step running": {
			pod: podWith([]corev1.ContainerStatus{terminated(naming.PreTaskHookContainer, 0, "Completed", "", 2*time.Second, 3*time.Second),
				running("pvc-backup-0", 4*time.Second)}, waiting("update-status-1", "PodInitializing", "")),
			want: []stashv1beta1.StepStatus{hookDone,
				{Name: "pvc-backup-0", Function: "pvc-backup", Phase: stashv1beta1.StepRunning, StartTime: atPtr(4 * time.Second)},
				{Name: "update-status-1", Function: "update-status", Phase: stashv1beta1.StepPending, Reason: "PodInitializing"}},
		},
		"step failed with a message": {
			pod: podWith([]corev1.ContainerStatus{terminated(naming.PreTaskHookContainer, 0, "Completed", "", 2*time.Second, 3*time.Second),
				terminated("pvc-backup-0", 3, "Error", "restic: repository not found\n", 4*time.Second, 9*time.Second)},
				waiting("update-status-1", "PodInitializing", "")),
			want: []stashv1beta1.StepStatus{hookDone,
				{Name: "pvc-backup-0", Function: "pvc-backup", Phase: stashv1beta1.StepFailed, ExitCode: ptr.To[int32](3),
					StartTime: atPtr(4 * time.Second), FinishTime: atPtr(9 * time.Second), Reason: "Error", Message: "restic: repository not found\n"},
				{Name: "update-status-1", Function: "update-status", Phase: stashv1beta1.StepPending, Reason: "PodInitializing"}},
		},
		"OOMKilled is a failure whatever the exit code": {
			pod: podWith([]corev1.ContainerStatus{terminated(naming.PreTaskHookContainer, 0, "Completed", "", 2*time.Second, 3*time.Second),
				terminated("pvc-backup-0", 0, "OOMKilled", "", 4*time.Second, 5*time.Second)}),
			want: []stashv1beta1.StepStatus{hookDone,
				{Name: "pvc-backup-0", Function: "pvc-backup", Phase: stashv1beta1.StepFailed, ExitCode: ptr.To[int32](0),
					StartTime: atPtr(4 * time.Second), FinishTime: atPtr(5 * time.Second), Reason: "OOMKilled"},
				pending("update-status-1", "update-status")},
		},
		"image pull back-off": {
			pod: podWith([]corev1.ContainerStatus{waiting(naming.PreTaskHookContainer, "ImagePullBackOff", `Back-off pulling image "stash:nope"`)}),
			want: []stashv1beta1.StepStatus{
				{Name: naming.PreTaskHookContainer, Phase: stashv1beta1.StepPending, Reason: "ImagePullBackOff", Message: `Back-off pulling image "stash:nope"`},
				pending("pvc-backup-0", "pvc-backup"), pending("update-status-1", "update-status")},
		},
		"all done": {
			pod: podWith([]corev1.ContainerStatus{terminated(naming.PreTaskHookContainer, 0, "Completed", "", 2*time.Second, 3*time.Second),
				terminated("pvc-backup-0", 0, "Completed", "", 4*time.Second, 5*time.Second)},
				terminated("update-status-1", 0, "Completed", "", 6*time.Second, 7*time.Second)),
			want: []stashv1beta1.StepStatus{hookDone,
				{Name: "pvc-backup-0", Function: "pvc-backup", Phase: stashv1beta1.StepSucceeded, ExitCode: ptr.To[int32](0),
					StartTime: atPtr(4 * time.Second), FinishTime: atPtr(5 * time.Second), Reason: "Completed"},
				{Name: "update-status-1", Function: "update-status", Phase: stashv1beta1.StepSucceeded, ExitCode: ptr.To[int32](0),
					StartTime: atPtr(6 * time.Second), FinishTime: atPtr(7 * time.Second), Reason: "Completed"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Steps(spec, functions, tc.pod)); diff != "" {
				t.Errorf("Steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateStepsKeepsWhatThePodNoLongerShows(t *testing.T) {
	spec := podSpec("pvc-backup-0", "update-status-1")
	prev := Steps(spec, map[string]string{"pvc-backup-0": "pvc-backup"},
		podWith([]corev1.ContainerStatus{terminated("pvc-backup-0", 0, "Completed", "", 0, time.Second)}, running("update-status-1", 2*time.Second)))
	if diff := cmp.Diff(prev, UpdateSteps(prev, &spec, nil)); diff != "" {
		t.Errorf("pod gone: steps changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(prev, UpdateSteps(prev, nil, nil)); diff != "" {
		t.Errorf("Job gone: steps changed (-want +got):\n%s", diff)
	}
	got := UpdateSteps(prev, &spec, podWith(nil))
	if got[0].Function != "pvc-backup" || got[0].Phase != stashv1beta1.StepPending {
		t.Errorf("a new pod: first step %+v, want Pending with its function kept", got[0])
	}
}
