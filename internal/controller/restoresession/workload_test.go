package restoresession

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/lifecycle"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/testenv"
	"github.com/stash-operator/stash/internal/workload"
)

// operator runs the controller as the operator does, under its generated
// ClusterRole only; stop ends it, as a restarted operator's old process.
func operator(e *testenv.Env) (stop func()) {
	return e.StartManager(testenv.ManagerOptions{AsOperator: true}, func(mgr ctrl.Manager, clk clock.PassiveClock) error {
		return (&Reconciler{Runner: lifecycle.Runner{Deps: deps.Deps{Clock: clk}, ResolveOptions: testenv.ResolveOptions}}).SetupWithManager(mgr)
	})
}

// startWorkloads is an operator with the catalog and testdata/workloads.yaml.
func startWorkloads(t *testing.T) (*testenv.Env, func()) {
	t.Helper()
	e := testenv.NewEnv(t, time.Now())
	stop := operator(e)
	e.InstallCatalog()
	e.Apply("testdata/workloads.yaml")
	return e, stop
}

// createRestore creates the RestoreSession name of testdata/workload-restores.yaml.
func createRestore(e *testenv.Env, name string) *stashv1beta1.RestoreSession {
	e.T.Helper()
	rs := e.Load("testdata/workload-restores.yaml")["RestoreSession/"+name].(*stashv1beta1.RestoreSession)
	e.Create(rs)
	return rs
}

// stashAnnotations are obj's annotations of the stash.appscode.com domain.
func stashAnnotations(obj metav1.Object) []string {
	var out []string
	for k := range obj.GetAnnotations() {
		if strings.HasPrefix(k, "stash.appscode.com/") {
			out = append(out, k)
		}
	}
	return out
}

func restoredHost(host string) stashv1beta1.HostRestoreStats {
	return stashv1beta1.HostRestoreStats{Hostname: host, Phase: stashv1beta1.HostRestoreSucceeded, Duration: "3s"}
}

// stoppedCondition waits until the RestoreSession's WorkloadStopped
// condition has status and reason, and returns its message.
func stoppedCondition(e *testenv.Env, name string, status metav1.ConditionStatus, reason stashv1beta1.WorkloadReason) string {
	e.T.Helper()
	var msg string
	e.Eventually(fmt.Sprintf("%s has %s=%s (%s)", name, stashv1beta1.ConditionWorkloadStopped, status, reason), func() error {
		var rs stashv1beta1.RestoreSession
		if err := e.Get(name, &rs); err != nil {
			return err
		}
		c := conditions.Get(rs.Status.Conditions, stashv1beta1.ConditionWorkloadStopped)
		if c == nil || c.Status != status || c.Reason != string(reason) {
			return fmt.Errorf("condition %+v", c)
		}
		msg = c.Message
		return nil
	})
	return msg
}

// A Deployment is scaled to zero for its restore, with its replica count
// recorded on it, and no Job runs while one of its pods is left. An
// operator restarted in the middle still brings it back: the Deployment
// runs its 3 replicas again, the records and the finalizer are gone.
func TestRestoreStopsTheDeploymentAndARestartedOperatorStartsIt(t *testing.T) {
	e, stop := startWorkloads(t)
	pod := e.RunPod("web-1", "web", "node-a")
	rs := createRestore(e, "web-restore")

	var web appsv1.Deployment
	e.Eventually("web is scaled to zero, recorded", func() error {
		if err := e.Get("web", &web); err != nil {
			return err
		}
		ann := web.Annotations
		if ptr.Deref(web.Spec.Replicas, -1) != 0 || ann[workload.AnnotationReplicas] != "3" || ann[workload.AnnotationStoppedBy] == "" {
			return fmt.Errorf("replicas %v, annotations %v", web.Spec.Replicas, ann)
		}
		return nil
	})
	if msg := stoppedCondition(e, rs.Name, metav1.ConditionTrue, stashv1beta1.ReasonStoppedForRestore); msg == "" {
		t.Error("the WorkloadStopped condition says nothing")
	}
	e.WaitForEvent(rs.Name, "Normal StoppedForRestore: Deployment web stopped for the restore: scaled from 3 to 0 replicas")
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: naming.Restore.JobName(rs.Name, 0)}}
	e.Consistently("no Job while a pod of web is left", 2*time.Second, func() error {
		if e.Exists(job) {
			return fmt.Errorf("Job %s exists while pod %s runs", job.Name, pod.Name)
		}
		return nil
	})
	waiting, _ := waitFor(e, rs.Name, stashv1beta1.SessionRunning, stashv1beta1.ReasonRunning)
	if c := conditions.Get(waiting.Status.Conditions, stashv1beta1.ConditionSucceeded); !strings.Contains(c.Message, "1 left: web-1") {
		t.Errorf("while web-1 runs the session says %q; want it to name the pod it waits for", c.Message)
	}
	if err := e.Client.Delete(e.Ctx, pod, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	e.WaitForJob(job.Name)

	// The operator stops mid-restore and a new one takes over.
	stop()
	operator(e)
	report(e, rs.Name, restoredHost("host-0"))
	waitFor(e, rs.Name, stashv1beta1.SessionSucceeded, stashv1beta1.ReasonCompleted)
	e.Eventually("web runs its 3 replicas again, records gone", func() error {
		if err := e.Get("web", &web); err != nil {
			return err
		}
		if ptr.Deref(web.Spec.Replicas, -1) != 3 || stashAnnotations(&web) != nil {
			return fmt.Errorf("replicas %v, annotations %v", web.Spec.Replicas, web.Annotations)
		}
		return nil
	})
	stoppedCondition(e, rs.Name, metav1.ConditionFalse, stashv1beta1.ReasonStartedAfterRestore)
	e.Eventually("the finalizer is gone", func() error {
		var cur stashv1beta1.RestoreSession
		if err := e.Get(rs.Name, &cur); err != nil {
			return err
		}
		if controllerutil.ContainsFinalizer(&cur, Finalizer) {
			return fmt.Errorf("finalizers %v", cur.Finalizers)
		}
		return nil
	})
}

// A RestoreSession deleted mid-restore starts its workload again before it
// goes.
func TestDeletedRestoreStartsTheWorkload(t *testing.T) {
	e, _ := startWorkloads(t)
	rs := createRestore(e, "web-restore")
	e.WaitForJob(naming.Restore.JobName(rs.Name, 0))
	if err := e.Client.Delete(e.Ctx, rs); err != nil {
		t.Fatal(err)
	}
	e.Eventually("the RestoreSession is gone and web runs its 3 replicas", func() error {
		if e.Exists(rs) {
			return fmt.Errorf("RestoreSession %s still exists", rs.Name)
		}
		var web appsv1.Deployment
		if err := e.Get("web", &web); err != nil {
			return err
		}
		if ptr.Deref(web.Spec.Replicas, -1) != 3 || stashAnnotations(&web) != nil {
			return fmt.Errorf("replicas %v, annotations %v", web.Spec.Replicas, web.Annotations)
		}
		return nil
	})
}

// A DaemonSet is stopped by a node selector no node matches, each node's
// Job runs on that node, and its own selector comes back afterwards.
func TestRestoreStopsTheDaemonSetByNodeSelector(t *testing.T) {
	e, _ := startWorkloads(t)
	e.RunPod("agent-x", "agent", "node-a")
	e.RunPod("agent-y", "agent", "node-b")
	rs := createRestore(e, "agent-restore")
	var agent appsv1.DaemonSet
	e.Eventually("agent's pods are kept off every node", func() error {
		if err := e.Get("agent", &agent); err != nil {
			return err
		}
		if sel := agent.Spec.Template.Spec.NodeSelector; sel[workload.NodeSelectorStopped] == "" {
			return fmt.Errorf("node selector %v", sel)
		}
		return nil
	})
	for _, name := range []string{"agent-x", "agent-y"} { // the DaemonSet controller's part
		if err := e.Client.Delete(e.Ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: e.Namespace, Name: name}}, client.GracePeriodSeconds(0)); err != nil {
			t.Fatal(err)
		}
	}
	for i, node := range []string{"node-a", "node-b"} {
		job := e.WaitForJob(naming.Restore.JobName(rs.Name, i))
		if job.Labels[naming.HostLabel] != node {
			t.Errorf("Job %s is of host %q, want %q", job.Name, job.Labels[naming.HostLabel], node)
		}
	}
	report(e, rs.Name, restoredHost("node-a"), restoredHost("node-b"))
	waitFor(e, rs.Name, stashv1beta1.SessionSucceeded, stashv1beta1.ReasonCompleted)
	e.Eventually("agent's own node selector is back", func() error {
		if err := e.Get("agent", &agent); err != nil {
			return err
		}
		if sel := agent.Spec.Template.Spec.NodeSelector; !maps.Equal(sel, map[string]string{"disk": "ssd"}) || stashAnnotations(&agent) != nil {
			return fmt.Errorf("node selector %v, annotations %v", sel, agent.Annotations)
		}
		return nil
	})
}

// A restore into volumeClaimTemplates makes a claim per ordinal, with
// ${POD_ORDINAL} resolved, owned by nobody (the restored data outlives the
// RestoreSession, as in v0.9), and each host's Job mounts its own.
func TestRestoreIntoVolumeClaimTemplates(t *testing.T) {
	e, _ := startWorkloads(t)
	rs := createRestore(e, "clone-restore")
	for i := range 2 {
		job := e.WaitForJob(naming.Restore.JobName(rs.Name, i))
		name := fmt.Sprintf("restore-data-%d", i)
		var claim corev1.PersistentVolumeClaim
		if err := e.Get(name, &claim); err != nil {
			t.Fatalf("claim %s: %v", name, err)
		}
		if len(claim.OwnerReferences) != 0 || claim.Labels["copy"] != fmt.Sprint(i) {
			t.Errorf("claim %s: owners %v, labels %v; want none, and copy=%d", name, claim.OwnerReferences, claim.Labels, i)
		}
		found := false
		for _, v := range job.Spec.Template.Spec.Volumes {
			found = found || (v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == name)
		}
		if !found {
			t.Errorf("Job %s does not mount claim %s", job.Name, name)
		}
	}
	report(e, rs.Name, restoredHost("host-0"), restoredHost("host-1"))
	waitFor(e, rs.Name, stashv1beta1.SessionSucceeded, stashv1beta1.ReasonCompleted)
}
