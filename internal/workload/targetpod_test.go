package workload

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

func TestPodBehindService(t *testing.T) {
	endpoint := func(pod string, ready, serving bool) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready), Serving: ptr.To(serving)}}
	}
	tests := map[string]struct {
		slices []discoveryv1.EndpointSlice
		want   string
	}{
		"a ready endpoint before a serving one, in any slice": {
			slices: []discoveryv1.EndpointSlice{{Endpoints: []discoveryv1.Endpoint{endpoint("db-a", false, true)}},
				{Endpoints: []discoveryv1.Endpoint{endpoint("db-b", true, true)}}},
			want: "db-b",
		},
		"among ready ones, the first by name": {
			slices: []discoveryv1.EndpointSlice{{Endpoints: []discoveryv1.Endpoint{endpoint("db-2", true, true), endpoint("db-1", true, true)}}},
			want:   "db-1",
		},
		"none ready: a serving one, then any": {
			slices: []discoveryv1.EndpointSlice{{Endpoints: []discoveryv1.Endpoint{endpoint("db-x", false, false), endpoint("db-y", false, true)}}},
			want:   "db-y",
		},
		"endpoints that are not pods": {
			slices: []discoveryv1.EndpointSlice{{Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.9"}}}}},
		},
		"no slice": {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := PodBehindService(tc.slices); got != tc.want {
				t.Errorf("PodBehindService = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPodMountingClaim(t *testing.T) {
	mounting := func(name, claim string, age time.Duration, ready bool, phase corev1.PodPhase) corev1.Pod {
		p := pod(name, "n1", age, ready, phase)
		p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
		return p
	}
	pods := []corev1.Pod{
		mounting("other", "other-claim", 0, true, corev1.PodRunning),
		mounting("done", "data", 0, false, corev1.PodSucceeded),
		mounting("young", "data", time.Hour, true, corev1.PodRunning),
		mounting("old", "data", time.Minute, true, corev1.PodRunning),
	}
	if got := PodMountingClaim(pods, "data"); got != "old" {
		t.Errorf("PodMountingClaim = %q, want the oldest running ready pod that mounts it, old", got)
	}
	if got := PodMountingClaim(pods, "nobody"); got != "" {
		t.Errorf("PodMountingClaim of a claim no pod mounts = %q", got)
	}
}
