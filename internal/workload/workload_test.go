package workload

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

var t0 = time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)

// pod is a pod of a workload on node, created age after t0; ready or not,
// or finished.
func pod(name, node string, age time.Duration, ready bool, phase corev1.PodPhase) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(age))},
		Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

func TestHosts(t *testing.T) {
	deleting := pod("web-old", "n9", 0, true, corev1.PodRunning)
	deleting.DeletionTimestamp = ptr.To(metav1.NewTime(t0))
	tests := map[string]struct {
		w        Workload
		replicas *int32
		pods     []corev1.Pod
		want     []Host
	}{
		"a Deployment is host-0, on its ready pod's node": {
			w:    Workload{Kind: Deployment, Name: "web", Replicas: 2},
			pods: []corev1.Pod{pod("web-b", "n2", time.Minute, false, corev1.PodRunning), pod("web-a", "n1", 2*time.Minute, true, corev1.PodRunning), deleting},
			want: []Host{{Name: "host-0", Ordinal: -1, Pod: "web-a", Node: "n1"}},
		},
		"a Deployment scaled to zero runs anywhere": {
			w:    Workload{Kind: Deployment, Name: "web"},
			want: []Host{{Name: "host-0", Ordinal: -1}},
		},
		"a ReplicationController: the oldest of the ready pods": {
			w:    Workload{Kind: ReplicationController, Name: "rc", Replicas: 2},
			pods: []corev1.Pod{pod("rc-y", "n2", time.Minute, true, corev1.PodRunning), pod("rc-x", "n1", 0, true, corev1.PodRunning)},
			want: []Host{{Name: "host-0", Ordinal: -1, Pod: "rc-x", Node: "n1"}},
		},
		"a StatefulSet: a host per replica, each on its pod's node": {
			w:    Workload{Kind: StatefulSet, Name: "db", Replicas: 3},
			pods: []corev1.Pod{pod("db-0", "n1", 0, true, corev1.PodRunning), pod("db-2", "n2", 0, true, corev1.PodRunning), pod("db-1", "n1", 0, false, corev1.PodSucceeded)},
			want: []Host{{Name: "host-0", Ordinal: 0, Pod: "db-0", Node: "n1"}, {Name: "host-1", Ordinal: 1}, {Name: "host-2", Ordinal: 2, Pod: "db-2", Node: "n2"}},
		},
		"target.replicas limits a StatefulSet's hosts": {
			w: Workload{Kind: StatefulSet, Name: "db", Replicas: 3}, replicas: ptr.To[int32](1),
			want: []Host{{Name: "host-0", Ordinal: 0}},
		},
		"a DaemonSet: a host per node, named after it, in node order": {
			w: Workload{Kind: DaemonSet, Name: "agent"},
			pods: []corev1.Pod{pod("agent-b", "node-b", 0, true, corev1.PodRunning), pod("agent-a", "node-a", time.Hour, true, corev1.PodRunning),
				pod("agent-pending", "", 0, false, corev1.PodPending)},
			want: []Host{{Name: "node-a", Ordinal: -1, Pod: "agent-a", Node: "node-a"}, {Name: "node-b", Ordinal: -1, Pod: "agent-b", Node: "node-b"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Hosts(tc.w, tc.replicas, tc.pods)); diff != "" {
				t.Errorf("Hosts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVolumes(t *testing.T) {
	pvc := corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "web-data"}}}
	host := corev1.Volume{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log/app"}}}
	scratch := corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	deploy := Workload{Kind: Deployment, Name: "web", Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Volumes: []corev1.Volume{pvc, host, scratch}}}}
	sts := Workload{Kind: StatefulSet, Name: "db", ClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}},
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Volumes: []corev1.Volume{host}}}}
	mount := func(names ...string) []corev1.VolumeMount {
		var m []corev1.VolumeMount
		for _, n := range names {
			m = append(m, corev1.VolumeMount{Name: n, MountPath: "/" + n})
		}
		return m
	}
	tests := map[string]struct {
		w       Workload
		mounts  []corev1.VolumeMount
		ordinal int
		want    []corev1.Volume
		wantErr string
	}{
		"the template's volumes, by name": {w: deploy, mounts: mount("data", "logs"), ordinal: -1, want: []corev1.Volume{pvc, host}},
		"a volume mounted twice is one volume": {w: deploy, mounts: append(mount("data"), corev1.VolumeMount{Name: "data", MountPath: "/b", SubPath: "b"}),
			ordinal: -1, want: []corev1.Volume{pvc}},
		"a StatefulSet replica's own claim": {w: sts, mounts: mount("data", "logs"), ordinal: 2, want: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-db-2"}}}, host}},
		"a volume the template does not have": {w: deploy, mounts: mount("date"), ordinal: -1,
			wantErr: `spec.target.volumeMounts[0].name: Deployment "web" has no volume "date" (it has data, logs, scratch)`},
		"an emptyDir cannot be reached": {w: deploy, mounts: mount("scratch"), ordinal: -1,
			wantErr: `spec.target.volumeMounts[0].name: volume "scratch" of Deployment "web" is an emptyDir`},
		"no volumeMounts": {w: sts, ordinal: 0,
			wantErr: "spec.target.volumeMounts: name the StatefulSet's volumes to back up (its pod template has data, logs)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Volumes(tc.w, tc.mounts, tc.ordinal)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Volumes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnshareable(t *testing.T) {
	vol := []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}}}
	claim := func(modes ...corev1.PersistentVolumeAccessMode) map[string]*corev1.PersistentVolumeClaim {
		return map[string]*corev1.PersistentVolumeClaim{"c": {Spec: corev1.PersistentVolumeClaimSpec{AccessModes: modes}}}
	}
	tests := map[string]struct {
		host   Host
		claims map[string]*corev1.PersistentVolumeClaim
		want   string
	}{
		"ReadWriteOnce is shared on the node":      {Host{Name: "host-0", Pod: "p"}, claim(corev1.ReadWriteOnce), ""},
		"ReadWriteOncePod with its pod running":    {Host{Name: "host-0", Pod: "p"}, claim(corev1.ReadWriteOncePod), `volume "data" is claim "c" of access mode ReadWriteOncePod, which pod p has mounted`},
		"ReadWriteOncePod while no pod runs is ok": {Host{Name: "host-0"}, claim(corev1.ReadWriteOncePod), ""},
		"an unknown claim is not judged here":      {Host{Name: "host-0", Pod: "p"}, nil, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Unshareable(tc.host, vol, tc.claims); !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
				t.Errorf("Unshareable = %q, want %q…", got, tc.want)
			}
		})
	}
}

func TestRestoreHosts(t *testing.T) {
	hosts := []Host{{Name: "host-0"}, {Name: "host-1"}, {Name: "host-2"}}
	tests := map[string]struct {
		rules []stashv1beta1.Rule
		want  []string
	}{
		"no rules: every host":         {nil, []string{"host-0", "host-1", "host-2"}},
		"a catch-all rule: every host": {[]stashv1beta1.Rule{{Paths: []string{"/d"}}}, []string{"host-0", "host-1", "host-2"}},
		"only the hosts a rule names":  {[]stashv1beta1.Rule{{TargetHosts: []string{"host-1"}, SourceHost: "host-0"}}, []string{"host-1"}},
		"named hosts and the catch-all": {[]stashv1beta1.Rule{{TargetHosts: []string{"host-2"}, SourceHost: "host-1"}, {Paths: []string{"/d"}}},
			[]string{"host-0", "host-1", "host-2"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, h := range RestoreHosts(hosts, tc.rules) {
				got = append(got, h.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("RestoreHosts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaims(t *testing.T) {
	templates := []stashv1beta1.PersistentVolumeClaim{{
		PartialObjectMeta: stashv1beta1.PartialObjectMeta{Name: "data-fresh-${POD_ORDINAL}", Labels: map[string]string{"replica": "${POD_ORDINAL}"}},
		Spec:              corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
	}}
	claims, volumes := Claims(templates, "demo", 1)
	want := []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data-fresh-1", Namespace: "demo", Labels: map[string]string{"replica": "1"}},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}}}}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	wantVolumes := []corev1.Volume{{Name: "data-fresh", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-fresh-1"}}}}
	if diff := cmp.Diff(wantVolumes, volumes); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	if got := ClaimHosts(ptr.To[int32](2)); len(got) != 2 || got[1] != (Host{Name: "host-1", Ordinal: 1}) {
		t.Errorf("ClaimHosts(2) = %+v", got)
	}
}
