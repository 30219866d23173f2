package podsecurity

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func pod(mutate func(*corev1.PodSpec)) *corev1.PodSpec {
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "pvc-backup-0", Image: "stash", SecurityContext: RestrictedContainer()}},
		Containers:     []corev1.Container{{Name: "update-status-1", Image: "stash", SecurityContext: RestrictedContainer()}},
		Volumes:        []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
	}
	if mutate != nil {
		mutate(spec)
	}
	return spec
}

func rootRestore(spec *corev1.PodSpec) {
	spec.InitContainers[0].Name = "pvc-restore-0"
	spec.InitContainers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: ptr.To[int64](0), RunAsGroup: ptr.To[int64](0)}
}

func TestRefusal(t *testing.T) {
	restricted := map[string]string{EnforceLabel: "restricted"}
	tests := map[string]struct {
		labels map[string]string
		spec   *corev1.PodSpec
		want   []string // in the refusal; nil: admitted
	}{
		"restricted admits the stash image's containers":     {labels: restricted, spec: pod(nil)},
		"no label: the cluster default, taken as privileged": {spec: pod(rootRestore)},
		"baseline admits a root restore":                     {labels: map[string]string{EnforceLabel: "baseline"}, spec: pod(rootRestore)},
		"restricted refuses a root restore, and says why it is root": {labels: restricted, spec: pod(rootRestore), want: []string{
			`namespace "demo" enforces Pod Security "restricted" (label pod-security.kubernetes.io/enforce)`,
			`container "pvc-restore-0" runs as root`, "to restore the files' owners",
			"pod-security.kubernetes.io/enforce=baseline", "runtimeSettings.container.securityContext",
		}},
		"a root pod security context counts for containers that do not say": {labels: restricted, spec: pod(func(s *corev1.PodSpec) {
			s.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)}
			s.InitContainers[0].SecurityContext = nil
			s.Containers[0].SecurityContext = nil
		}), want: []string{`containers "pvc-backup-0", "update-status-1" run as root`}},
		"restricted refuses a hostPath repository": {labels: restricted, spec: pod(func(s *corev1.PodSpec) {
			s.Volumes = append(s.Volumes, corev1.Volume{Name: "stash-local-backend", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv"}}})
		}), want: []string{`volume "stash-local-backend" uses restricted volume type "hostPath"`, "the volumes of the Repository's backend", "label the namespace with a level that allows it"}},
		"a third-party image without a security context": {labels: restricted, spec: pod(func(s *corev1.PodSpec) {
			s.InitContainers[0].SecurityContext = nil
		}), want: []string{"allowPrivilegeEscalation != false", `container "pvc-backup-0"`, "runtimeSettings.container.securityContext"}},
		"an unparsable level is taken as restricted, as the API server does": {labels: map[string]string{EnforceLabel: "strict"}, spec: pod(rootRestore),
			want: []string{`enforces Pod Security "restricted"`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Refusal("demo", tc.labels, &metav1.ObjectMeta{}, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if got != "" {
					t.Fatalf("refused: %s", got)
				}
				return
			}
			if got == "" {
				t.Fatal("admitted")
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("refusal lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
