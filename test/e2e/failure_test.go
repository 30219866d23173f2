//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// customTask makes a Task named ns (unique to the test) with the given steps
// followed by the catalog's update-status, and the test's own Functions
// (Function documents without metadata, keyed by name). Everything is
// labelled with ns and deleted at the end.
func customTask(t *testing.T, ns string, functions map[string]string, steps string) string {
	t.Helper()
	var objects strings.Builder
	for name, spec := range functions {
		fmt.Fprintf(&objects, "apiVersion: stash.appscode.com/v1beta1\nkind: Function\nmetadata: {name: %s, labels: {stash-e2e: %s}}\nspec:\n%s---\n", name, ns, spec)
	}
	fmt.Fprintf(&objects, `apiVersion: stash.appscode.com/v1beta1
kind: Task
metadata: {name: %[1]s, labels: {stash-e2e: %[1]s}}
spec:
  steps:
%[2]s  - name: update-status
    params: [{name: outputDir, value: /tmp/output}]
  volumes:
  - name: secret-volume
    secret: {secretName: "${REPOSITORY_SECRET_NAME}"}
  - name: stash-volume
    persistentVolumeClaim: {claimName: "${TARGET_NAME}"}
`, ns, steps)
	mustKubectl(t, objects.String(), "apply", "-f", "-")
	t.Cleanup(func() {
		kubectl(t, "", "delete", "functions.stash.appscode.com,tasks.stash.appscode.com", "-l", "stash-e2e="+ns, "--wait=false")
	})
	return ns
}

// backupWithTask sets up a PVC with data, a local repository and a
// BackupConfiguration named custom-backup running task against them, waits
// until it is Ready, and returns the repository's directory.
func backupWithTask(t *testing.T, ns, task string) string {
	t.Helper()
	pvcWithData(t, ns, "source", true)
	repoDir := localRepository(t, ns, "local-repo")
	apply(t, ns, fmt.Sprintf(`apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: custom-backup}
spec:
  schedule: "0 0 1 1 *"
  task: {name: %s}
  repository: {name: local-repo}
  target:
    ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: source}
    volumeMounts: [{name: source, mountPath: /source/data}]
    paths: [/source/data]
  retentionPolicy: {name: keep-last-5, keepLast: 5, prune: true}
`, task))
	waitFor(t, 60*time.Second, "BackupConfiguration custom-backup Ready", func() (bool, error) {
		return jsonpath(t, ns, "backupconfiguration", "custom-backup", `.status.conditions[?(@.type=="Ready")].status`) == "True", nil
	})
	return repoDir
}

// requireFailed checks a finished session failed for reason with a message
// holding every one of wantInMessage.
func requireFailed(t *testing.T, ns, kind, name string, st sessionStatus, reason string, wantInMessage ...string) string {
	t.Helper()
	gotReason, message := st.condition()
	ok := st.Phase == "Failed" && gotReason == reason
	for _, w := range wantInMessage {
		ok = ok && strings.Contains(message, w)
	}
	if !ok {
		diagnose(t, ns, kind, name)
		t.Fatalf("%s %s: phase %q, reason %q, message:\n%s\nwant phase Failed, reason %s, a message containing %q",
			kind, name, st.Phase, gotReason, message, reason, wantInMessage)
	}
	return message
}

// A step whose command fails fails the session, which names the step, its
// exit code and the tail of its log; the later steps never run.
func TestFailingStepFailsTheSession(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "fail")
	task := customTask(t, ns, map[string]string{
		ns + "-fail": `  image: stash:latest
  command: [sh, -c]
  args: ["echo 'preparing ${TARGET_NAME}'; echo 'fatal: the warehouse is unreachable' >&2; exit 3"]
`}, "  - name: "+ns+"-fail\n")
	backupWithTask(t, ns, task)
	bs := triggerBackup(t, ns, "custom-backup")
	st := waitFinished(t, ns, "backupsession", bs, 5*time.Minute)
	step := ns + "-fail-0"
	message := requireFailed(t, ns, "backupsession", bs, st, "StepFailed",
		fmt.Sprintf("%q", step), "exit code 3", "fatal: the warehouse is unreachable", "preparing source")
	t.Logf("Failed as it should: %s", message)
	for _, s := range st.Steps {
		switch {
		case s.Name == step && (s.Phase != "Failed" || s.ExitCode == nil || *s.ExitCode != 3):
			t.Errorf("step %s: phase %q exit code %v, want Failed with 3", s.Name, s.Phase, s.ExitCode)
		case s.Name != step && (s.Phase == "Succeeded" || s.Phase == "Running"):
			t.Errorf("step %s after the failed one: phase %q, want it never run", s.Name, s.Phase)
		}
	}
	if len(st.Steps) != 2 {
		t.Errorf("status.steps has %d steps, want 2: %+v", len(st.Steps), st.Steps)
	}
}

// A step whose image does not exist fails the session once the image-pull
// grace period (2 minutes by default) is over, with the reason.
func TestMissingImageFailsTheSession(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "image")
	task := customTask(t, ns, map[string]string{
		ns + "-noimage": `  image: localhost/stash-e2e-does-not-exist:0
  command: ["true"]
`}, "  - name: "+ns+"-noimage\n")
	backupWithTask(t, ns, task)
	bs := triggerBackup(t, ns, "custom-backup")
	st := waitFinished(t, ns, "backupsession", bs, 6*time.Minute)
	message := requireFailed(t, ns, "backupsession", bs, st, "ImagePullFailed", "cannot get its image", "grace period")
	t.Logf("Failed as it should: %s", message)
	// The Job is stopped, so its pod does not stay behind, retrying the pull.
	waitFor(t, 90*time.Second, "the failed session's pod to be gone", func() (bool, error) {
		pods := mustKubectl(t, "", "-n", ns, "get", "pods", "-l", sessionJobs, "-o", "jsonpath={.items[*].metadata.name}")
		return strings.TrimSpace(pods) == "", nil
	})
	if suspended := mustKubectl(t, "", "-n", ns, "get", "jobs", "-l", sessionJobs, "-o", "jsonpath={.items[*].spec.suspend}"); suspended != "true" {
		t.Errorf("Job spec.suspend %q, want true (one Job, stopped)", suspended)
	}
}

// Deleting the operator's pod while a backup runs does not disturb it: the
// new operator picks the session up, it finishes once, with one Job, one pod
// and one snapshot. Not parallel: the other tests' sessions would be
// disturbed too.
func TestOperatorRestartDuringBackup(t *testing.T) {
	ns := setUp(t, "restart")
	// A slow first step, long enough for the operator to be replaced while
	// the Job runs, then the catalog's pvc-backup Function as its Task runs it.
	task := customTask(t, ns, map[string]string{
		ns + "-slow": `  image: stash:latest
  command: [sh, -c]
  args: ["echo waiting; sleep 25; echo done"]
`}, "  - name: "+ns+"-slow\n"+`  - name: pvc-backup
    params:
    - {name: outputDir, value: /tmp/output}
    - {name: secretVolume, value: secret-volume}
    - {name: targetVolume, value: stash-volume}
`)
	repoDir := backupWithTask(t, ns, task)
	bs := triggerBackup(t, ns, "custom-backup")
	waitFor(t, 2*time.Minute, "the slow step to run", func() (bool, error) {
		return jsonpath(t, ns, "backupsession", bs, ".status.steps[0].phase") == "Running", nil
	})
	mustKubectl(t, "", "-n", "stash-system", "delete", "pod", "-l", "app.kubernetes.io/name=stash-operator", "--wait=false")
	t.Log("deleted the operator's pod while the session runs")
	mustKubectl(t, "", "-n", "stash-system", "rollout", "status", "deployment/stash-operator", "--timeout=180s")

	st := waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	t.Logf("backup %s Succeeded in %s after the operator was replaced", bs, st.SessionDuration)
	if jobs := strings.Fields(mustKubectl(t, "", "-n", ns, "get", "jobs", "-l", sessionJobs, "-o", "jsonpath={.items[*].metadata.name}")); len(jobs) != 1 {
		t.Errorf("%d backup Jobs in the namespace (%v), want exactly 1", len(jobs), jobs)
	}
	if pods := strings.Fields(mustKubectl(t, "", "-n", ns, "get", "pods", "-l", sessionJobs, "-o", "jsonpath={.items[*].metadata.name}")); len(pods) != 1 {
		t.Errorf("%d backup Job pods in the namespace (%v), want exactly 1", len(pods), pods)
	}
	if ids := resticSnapshots(t, repoDir, resticPassword); len(ids) != 1 {
		t.Errorf("restic lists %d snapshots (%v), want 1: the backup ran more than once", len(ids), ids)
	}
	if n := len(st.Targets); n != 1 || len(st.Targets[0].Stats) != 1 {
		t.Errorf("status.targets: %+v, want one target with one host", st.Targets)
	}
	for reason, want := range map[string]int{"Running": 1, "Completed": 1} {
		if got := eventCount(t, ns, bs, reason); got != want {
			t.Errorf("%d Events %s for BackupSession %s, want %d: the session was announced more than once", got, reason, bs, want)
		}
	}
}

// eventCount is how many times an Event of reason was recorded for the
// object name, counting an Event's repetitions.
func eventCount(t *testing.T, ns, name, reason string) int {
	t.Helper()
	out := mustKubectl(t, "", "-n", ns, "get", "events", "--field-selector", "involvedObject.name="+name+",reason="+reason, "-o", "json")
	var list struct {
		Items []struct {
			Count int `json:"count"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Items {
		n += max(e.Count, 1)
	}
	return n
}
