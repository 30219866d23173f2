package backupsession

import (
	"testing"

	"github.com/stash-operator/stash/internal/testenv"
)

// mayExec asks the API server whether the Jobs of invoker may exec in pod.
func mayExec(e *testenv.Env, invoker, pod string) bool {
	e.T.Helper()
	return jobsMay(e, invoker, "create", "", "pods", "exec", pod)
}

// The Jobs of an invoker with an exec hook may exec in the session's target
// pod and in no other; an invoker without exec hooks may exec nowhere.
func TestExecHooksMayExecInTheTargetPodOnly(t *testing.T) {
	e := startAsOperator(t)
	e.Apply("testdata/hooks.yaml")
	e.RunPod("web-1", "web", "node-a")
	e.RunPod("bystander", "other", "node-a")

	hooked := newSession(e, "web-hooked", "web-hooked-1")
	running := hostsWithJobs(e, hooked.Name, 1)
	if got := running.Status.Hosts[0].Pod; got != "web-1" {
		t.Fatalf("host-0's pod is %q, want web-1", got)
	}
	if !mayExec(e, "web-hooked", "web-1") {
		t.Errorf("the Jobs of web-hooked may not exec in web-1, the pod their preBackup hook execs in")
	}
	if mayExec(e, "web-hooked", "bystander") {
		t.Errorf("the Jobs of web-hooked may exec in bystander, a pod that is not their target")
	}

	plain := newSession(e, "web-backup", "web-backup-2")
	hostsWithJobs(e, plain.Name, 1)
	if mayExec(e, "web-backup", "web-1") {
		t.Errorf("the Jobs of web-backup, which has no exec hook, may exec in web-1")
	}
}
