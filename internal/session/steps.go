package session

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/naming"
)

// containers lists a pod's containers in the order they run: the init
// containers, then the main one (the resolver puts the last step there).
func containers(spec corev1.PodSpec) []corev1.Container {
	return append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...)
}

// StepFunctions names the Function each container of a resolved Job runs.
// The resolver keeps the Task's step order and adds only the hook
// containers, which run no Function, so the n-th other container is the
// n-th step. Matching by order rather than by container name keeps this
// right when a long Function name was shortened with a hash.
func StepFunctions(spec corev1.PodSpec, taskSteps []string) map[string]string {
	functions := map[string]string{}
	next := 0
	for _, c := range containers(spec) {
		if c.Name == naming.PreTaskHookContainer || c.Name == naming.PostTaskHookContainer {
			continue
		}
		if next < len(taskSteps) {
			functions[c.Name] = taskSteps[next]
		}
		next++
	}
	return functions
}

// FunctionsOf reads back the Functions recorded in status.steps when the
// Job was created, so that later reconciles need not look at the Task
// (which may have been edited since).
func FunctionsOf(steps []stashv1beta1.StepStatus) map[string]string {
	functions := make(map[string]string, len(steps))
	for _, s := range steps {
		if s.Function != "" {
			functions[s.Name] = s.Function
		}
	}
	return functions
}

// Steps reports every container of the Job's pod template, in run order,
// from the pod's container statuses; pod may be nil (not created yet), and
// then every step is Pending. With FallbackToLogsOnError the termination
// message of a failed container is the tail of its log.
func Steps(spec corev1.PodSpec, functions map[string]string, pod *corev1.Pod) []stashv1beta1.StepStatus {
	statuses := map[string]corev1.ContainerStatus{}
	if pod != nil {
		for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
			statuses[cs.Name] = cs
		}
	}
	all := containers(spec)
	steps := make([]stashv1beta1.StepStatus, 0, len(all))
	for _, c := range all {
		s := stashv1beta1.StepStatus{Name: c.Name, Function: functions[c.Name], Phase: stashv1beta1.StepPending}
		if cs, ok := statuses[c.Name]; ok {
			fromState(&s, cs.State)
		}
		steps = append(steps, s)
	}
	return steps
}

func fromState(s *stashv1beta1.StepStatus, state corev1.ContainerState) {
	switch {
	case state.Terminated != nil:
		t := state.Terminated
		s.Phase = stashv1beta1.StepSucceeded
		if t.ExitCode != 0 || t.Reason == reasonOOMKilled {
			s.Phase = stashv1beta1.StepFailed
		}
		s.ExitCode = ptr.To(t.ExitCode)
		s.StartTime, s.FinishTime = timeOrNil(t.StartedAt), timeOrNil(t.FinishedAt)
		s.Reason, s.Message = t.Reason, t.Message
	case state.Running != nil:
		s.Phase = stashv1beta1.StepRunning
		s.StartTime = timeOrNil(state.Running.StartedAt)
	case state.Waiting != nil:
		s.Reason, s.Message = state.Waiting.Reason, state.Waiting.Message
	}
}

// UpdateSteps is the status.steps to record now: prev while there is
// nothing newer to say (no Job, or its pod is gone after having run),
// otherwise the pod's view.
func UpdateSteps(prev []stashv1beta1.StepStatus, spec *corev1.PodSpec, pod *corev1.Pod) []stashv1beta1.StepStatus {
	if spec == nil || (pod == nil && len(prev) > 0) {
		return prev
	}
	return Steps(*spec, FunctionsOf(prev), pod)
}

func timeOrNil(t metav1.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	return &metav1.Time{Time: t.Time}
}
