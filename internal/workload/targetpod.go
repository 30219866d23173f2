package workload

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

// The pod of a target that is not a workload, where its hooks exec (and
// send HTTP or TCP requests that name no host): for an AppBinding, the
// database pod behind its Service, as Stash found it (a ready endpoint
// first); for a claim, the running pod that mounts it.

// PodBehindService is the pod of the Service's endpoints: a ready one if
// any, else a serving or any one; the first by name among equals. Empty
// when no endpoint is a pod.
func PodBehindService(endpointSlices []discoveryv1.EndpointSlice) string {
	type candidate struct {
		name string
		rank int // 0 ready, 1 serving, 2 other
	}
	var found []candidate
	for _, s := range endpointSlices {
		for _, e := range s.Endpoints {
			if e.TargetRef == nil || e.TargetRef.Kind != "Pod" {
				continue
			}
			rank := 2
			switch {
			case ptr.Deref(e.Conditions.Ready, false):
				rank = 0
			case ptr.Deref(e.Conditions.Serving, false):
				rank = 1
			}
			found = append(found, candidate{e.TargetRef.Name, rank})
		}
	}
	if len(found) == 0 {
		return ""
	}
	slices.SortFunc(found, func(a, b candidate) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return strings.Compare(a.name, b.name)
	})
	return found[0].name
}

// PodMountingClaim is a running pod that mounts the claim, the oldest
// ready one first; empty when none does.
func PodMountingClaim(pods []corev1.Pod, claim string) string {
	var mounting []corev1.Pod
	for _, p := range pods {
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
				mounting = append(mounting, p)
				break
			}
		}
	}
	if ps := sortedPods(runningPods(mounting)); len(ps) > 0 {
		return ps[0].Name
	}
	return ""
}
