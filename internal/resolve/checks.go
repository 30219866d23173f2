package resolve

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// What the resolver refuses before building a Job: what Kubernetes would
// reject when the Job is created, and what the invoker asks for that this
// version does not do. Either would otherwise be accepted and then fail at
// 2 a.m., or worse, be ignored in silence.

// initContainerForbidden names the container fields Kubernetes forbids on an
// init container (it accepts probes only on restartable sidecars), with the
// path under a runtimeSettings.container where a user sets each.
var initContainerForbidden = []struct {
	field string
	set   func(c *corev1.Container) bool
}{
	{"livenessProbe", func(c *corev1.Container) bool { return c.LivenessProbe != nil }},
	{"readinessProbe", func(c *corev1.Container) bool { return c.ReadinessProbe != nil }},
	{"startupProbe", func(c *corev1.Container) bool { return c.StartupProbe != nil }},
	{"lifecycle", func(c *corev1.Container) bool { return c.Lifecycle != nil }},
}

// checkInitContainers reports every field that would put a probe or a
// lifecycle hook on an init container: a Function's runtimeSettings for any
// step but the last, or the invoker's runtimeSettings.container (applied to
// every container) when the Job has more than one (steps and hooks).
func checkInitContainers(inv *invoker, task string, steps []step) Errors {
	var errs Errors
	why := "Kubernetes allows probes and lifecycle hooks only on a Job's main container, and every step but the last runs as an init-container"
	for _, s := range steps[:len(steps)-1] {
		for _, f := range initContainerForbidden {
			if f.set(&s.container) {
				errs = append(errs, &FieldError{Object: fmt.Sprintf("task %q", task), Step: s.index, Function: s.function,
					Field: "spec.runtimeSettings." + f.field, Err: fmt.Errorf("%s: remove it from the Function, or make it the Task's last step", why)})
			}
		}
	}
	containers := len(steps)
	if len(inv.preHooks) > 0 {
		containers++
	}
	if len(inv.postHooks) > 0 {
		containers++
	}
	if c := inv.runtimeSettings.Container; c != nil && containers > 1 {
		probe := corev1.Container{LivenessProbe: c.LivenessProbe, ReadinessProbe: c.ReadinessProbe, Lifecycle: c.Lifecycle}
		for _, f := range initContainerForbidden {
			if f.set(&probe) {
				errs = append(errs, &FieldError{Object: inv.object(), Step: -1, Field: "spec.runtimeSettings.container." + f.field,
					Err: fmt.Errorf("%s, and runtimeSettings.container applies to every step: remove it", why)})
			}
		}
	}
	return errs
}

// jobTargetKinds are the kinds, besides workloads, whose Tasks the
// resolver runs as one Job: a claim and a database's AppBinding.
var jobTargetKinds = map[string][]string{
	"":                        {"PersistentVolumeClaim"},
	"appcatalog.appscode.com": {"AppBinding"},
}

// checkUnsupported reports what the invoker asks for that nothing here
// does: CSI volume snapshots, and a target of a kind no Task handles.
func checkUnsupported(inv *invoker) Errors {
	var errs Errors
	if inv.driver == stashv1beta1.VolumeSnapshotter {
		errs = append(errs, &FieldError{Object: inv.object(), Step: -1, Field: "spec.driver",
			Err: fmt.Errorf("driver VolumeSnapshotter (CSI VolumeSnapshots) is not supported yet: use driver Restic (the default) with a Task")})
	}
	if inv.snapshotClass != "" {
		errs = append(errs, &FieldError{Object: inv.object(), Step: -1, Field: "spec.target.snapshotClassName",
			Err: fmt.Errorf("volume snapshots are not supported yet, so a snapshot class has no effect: remove it")})
	}
	if ref := inv.target; ref.Kind != "" && !supportedKind(ref) {
		errs = append(errs, &FieldError{Object: inv.object(), Step: -1, Field: "spec.target.ref",
			Err: fmt.Errorf("%s %q (apiVersion %q) is not a kind this version backs up or restores: use an %s", ref.Kind, ref.Name, ref.APIVersion, kindList())})
	}
	return errs
}

// checkClaimTaskOnWorkload refuses a Task that mounts a claim named after a
// workload target (pvc-backup's ${TARGET_NAME}): it backs up claims, and
// the Job would wait for a claim that does not exist. Its volumes are the
// Task's, substituted.
func checkClaimTaskOnWorkload(inv *invoker, task string, volumes []corev1.Volume) Errors {
	if !IsWorkload(inv.target) {
		return nil
	}
	for i, v := range volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == inv.target.Name {
			return Errors{&FieldError{Object: inv.object(), Step: -1, Field: "spec.task.name",
				Err: fmt.Errorf("the Task %q mounts the target as a PersistentVolumeClaim %q (its spec.volumes[%d]), but the target is a %s: "+
					"leave spec.task empty to run the catalog's %s, which mounts the %s's own volumes", task, v.PersistentVolumeClaim.ClaimName, i, inv.target.Kind, inv.defaultTask, inv.target.Kind)}}
		}
	}
	return nil
}

// checkHooks refuses what a hook cannot mean: an executionPolicy on a pre
// hook (it always runs: it decides whether the backup may start).
func checkHooks(inv *invoker) Errors {
	var errs Errors
	if inv.stopsWorkload {
		for _, h := range inv.allHooks() {
			if h.handler.Exec != nil {
				errs = append(errs, &FieldError{Object: inv.object(), Step: -1, Field: append(h.field, field("exec")).String(),
					Err: fmt.Errorf("an exec hook runs in the %s's pod, and the %s is stopped for the restore: set spec.target.restoreWhileRunning: true, or use an HTTP or TCP hook", inv.target.Kind, inv.target.Kind)})
			}
		}
	}
	for _, h := range inv.preHooks {
		if h.handler.ExecutionPolicy != "" {
			errs = append(errs, &FieldError{Object: inv.object(), Step: -1, Field: append(h.field, field("executionPolicy")).String(),
				Err: fmt.Errorf("a pre hook always runs, before any data moves: executionPolicy applies to post hooks only; remove it")})
		}
	}
	return errs
}

func supportedKind(ref stashv1beta1.TargetRef) bool {
	return kindIn(jobTargetKinds, ref) || kindIn(workloadKinds, ref)
}

func kindList() string {
	seen := map[string]bool{}
	for _, m := range []map[string][]string{jobTargetKinds, workloadKinds} {
		for _, ks := range m {
			for _, k := range ks {
				seen[k] = true
			}
		}
	}
	kinds := make([]string, 0, len(seen))
	for k := range seen {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return strings.Join(kinds[:len(kinds)-1], ", ") + " or " + kinds[len(kinds)-1]
}
