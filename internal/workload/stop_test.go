package workload

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Stop then Start gives back the workload exactly as it was, whatever its
// kind; the record of the stop lives on the workload in between.
func TestStopThenStartIsTheWorkloadAsItWas(t *testing.T) {
	const by = "demo/restore-web/uid-1"
	tests := map[string]struct {
		obj         Object
		stopped     func(Object) bool
		description string
	}{
		"a Deployment scales to zero and back": {
			obj:         &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{"keep": "me"}}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)}},
			stopped:     func(o Object) bool { return *o.(*appsv1.Deployment).Spec.Replicas == 0 },
			description: "scaled from 3 to 0 replicas",
		},
		"a StatefulSet with replicas unset (1)": {
			obj:         &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}},
			stopped:     func(o Object) bool { return *o.(*appsv1.StatefulSet).Spec.Replicas == 0 },
			description: "scaled from 1 to 0 replicas",
		},
		"a ReplicationController": {
			obj:         &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc"}, Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](2)}},
			stopped:     func(o Object) bool { return *o.(*corev1.ReplicationController).Spec.Replicas == 0 },
			description: "scaled from 2 to 0 replicas",
		},
		"a DaemonSet is kept off every node and put back": {
			obj: &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"}, Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{NodeSelector: map[string]string{"disk": "ssd"}}}}},
			stopped: func(o Object) bool {
				return o.(*appsv1.DaemonSet).Spec.Template.Spec.NodeSelector[NodeSelectorStopped] == "true"
			},
			description: "its pods kept off every node",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := tc.obj.DeepCopyObject().(Object)
			changed, desc, err := Stop(tc.obj, by)
			if err != nil || !changed || !tc.stopped(tc.obj) || !strings.HasPrefix(desc, tc.description) {
				t.Fatalf("Stop: changed %v, %q, %v; stopped %v", changed, desc, err, tc.stopped(tc.obj))
			}
			if StoppedBy(tc.obj) != by {
				t.Fatalf("the stop is not recorded: %v", tc.obj.GetAnnotations())
			}
			// Stopping again, as an operator restarted mid-way does, changes nothing.
			if changed, _, err := Stop(tc.obj, by); changed || err != nil {
				t.Fatalf("a second Stop changed %v, %v", changed, err)
			}
			if _, _, err := Stop(tc.obj.DeepCopyObject().(Object), "demo/other/uid-2"); err == nil {
				t.Fatal("another restore stopped a workload one already holds")
			}
			if changed, _, err := Start(tc.obj, "demo/other/uid-2"); changed || err != nil {
				t.Fatalf("another restore started it: %v, %v", changed, err)
			}
			if changed, _, err := Start(tc.obj, by); !changed || err != nil {
				t.Fatalf("Start: %v, %v", changed, err)
			}
			if diff := cmp.Diff(before, tc.obj); diff != "" {
				t.Errorf("after Stop and Start (-before +after):\n%s", diff)
			}
		})
	}
}
