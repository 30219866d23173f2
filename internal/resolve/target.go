package resolve

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// The catalog Tasks a workload target runs when its invoker names none.
const (
	WorkloadBackupTask  = "workload-backup"
	WorkloadRestoreTask = "workload-restore"
)

// workloadKinds are the workload kinds, by API group: their volumes are
// backed up by Jobs that run beside their pods, one Job per host.
var workloadKinds = map[string][]string{
	"":           {"ReplicationController"},
	"apps":       {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"},
	"extensions": {"Deployment", "DaemonSet", "ReplicaSet"},
}

// IsWorkload reports whether ref names a workload (a Deployment,
// StatefulSet, DaemonSet, ReplicaSet or ReplicationController).
func IsWorkload(ref stashv1beta1.TargetRef) bool {
	return kindIn(workloadKinds, ref)
}

// kindIn reports whether ref's group and kind are in kinds.
func kindIn(kinds map[string][]string, ref stashv1beta1.TargetRef) bool {
	group := ""
	if g, _, ok := strings.Cut(ref.APIVersion, "/"); ok {
		group = g // "v1" alone is the core group
	}
	for _, k := range kinds[group] {
		if k == ref.Kind {
			return true
		}
	}
	return false
}

// mountTargetVolumes adds the host's target volumes to the pod and mounts
// them, at the target's volumeMounts, in every container: each step sees
// the data where the target's pods see it. A backup mounts them read-only:
// it must never change what it backs up.
func mountTargetVolumes(inv *invoker, pod *corev1.PodSpec) Errors {
	if inv.host.Volumes == nil {
		return nil
	}
	byName := map[string]corev1.Volume{}
	for _, v := range inv.host.Volumes {
		byName[v.Name] = v
	}
	var errs Errors
	for i, m := range inv.targetMounts {
		field := fmt.Sprintf("spec.target.volumeMounts[%d].name", i)
		v, ok := byName[m.Name]
		if !ok {
			errs = append(errs, &FieldError{Object: inv.object(), Step: -1, Field: field,
				Err: fmt.Errorf("the target has no volume %q to mount", m.Name)})
			continue
		}
		for _, existing := range pod.Volumes {
			if existing.Name == v.Name {
				errs = append(errs, &FieldError{Object: inv.object(), Step: -1, Field: field,
					Err: fmt.Errorf("the target's volume %q has the name of a volume of the Task (or of stash's own): the Job cannot mount both; rename the Task's volume", v.Name)})
			}
		}
		pod.Volumes = append(pod.Volumes, v)
		mount := m
		if !inv.restores() {
			mount.ReadOnly = true
		}
		for _, list := range [][]corev1.Container{pod.InitContainers, pod.Containers} {
			for j := range list {
				list[j].VolumeMounts = upsertMount(list[j].VolumeMounts, mount)
			}
		}
	}
	return errs
}

// placeOnNode makes the pod run on node, the node of the host's pod: a
// ReadWriteOnce volume can be mounted by a second pod only there. The
// requirement is added to the user's node affinity, if any.
func placeOnNode(pod *corev1.PodSpec, node string) {
	if node == "" {
		return
	}
	req := corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}
	if pod.Affinity == nil {
		pod.Affinity = &corev1.Affinity{}
	}
	if pod.Affinity.NodeAffinity == nil {
		pod.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := pod.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	terms := &na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(*terms) == 0 {
		*terms = []corev1.NodeSelectorTerm{{}}
	}
	for i := range *terms {
		(*terms)[i].MatchFields = append((*terms)[i].MatchFields, req)
	}
}

// podOrdinalEnv gives every container POD_ORDINAL, as Stash's restore did,
// when the host is a replica.
func podOrdinalEnv(pod *corev1.PodSpec, ordinal int) {
	if ordinal < 0 {
		return
	}
	for _, list := range [][]corev1.Container{pod.InitContainers, pod.Containers} {
		for j := range list {
			list[j].Env = upsertEnv(list[j].Env, corev1.EnvVar{Name: VarPodOrdinal, Value: strconv.Itoa(ordinal)})
		}
	}
}
