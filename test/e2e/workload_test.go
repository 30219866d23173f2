//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The workloads of these tests run localhost/busybox:1 (hack/build-images.sh).

// snapshot is what restic lists of one snapshot.
type snapshot struct {
	ShortID  string   `json:"short_id"`
	Hostname string   `json:"hostname"`
	Paths    []string `json:"paths"`
}

// resticList lists the snapshots of a local repository directory with the
// restic binary, independently of the operator.
func resticList(t *testing.T, dir, password string) []snapshot {
	t.Helper()
	out := restic(t, dir, password, "snapshots", "--json")
	var snaps []snapshot
	if err := json.Unmarshal(out, &snaps); err != nil {
		t.Fatalf("restic snapshots: %v: %s", err, out)
	}
	return snaps
}

func restic(t *testing.T, dir, password string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(filepath.Join(cacheDir(), "bin", "restic"), append([]string{"-r", dir, "--no-cache", "--no-lock"}, args...)...)
	cmd.Env = append(os.Environ(), "RESTIC_PASSWORD="+password)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("restic %s on %s: %v: %s", strings.Join(args, " "), dir, err, msg)
	}
	return out
}

// hostsOf are the hostnames of snapshots, sorted, one each.
func hostsOf(snaps []snapshot) []string {
	var hosts []string
	for _, s := range snaps {
		hosts = append(hosts, s.Hostname)
	}
	slices.Sort(hosts)
	return slices.Compact(hosts)
}

// snapshotTree restores the latest snapshot of host into a fresh directory
// with restic itself and returns the tree of path inside it.
func snapshotTree(t *testing.T, repoDir, host, path string) []string {
	t.Helper()
	target, err := os.MkdirTemp("", "stash-e2e-snapshot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(target) })
	restic(t, repoDir, resticPassword, "restore", "latest", "--host", host, "--target", target)
	return tree(t, filepath.Join(target, path))
}

// missingFrom are the entries of want that got does not have as they are.
func missingFrom(want, got []string) []string {
	var missing []string
	for _, w := range want {
		if _, found := slices.BinarySearch(got, w); !found {
			missing = append(missing, w)
		}
	}
	return missing
}

// conditionTime is when the condition typ of an object last changed.
func conditionTime(t *testing.T, ns, kind, name, typ string) time.Time {
	t.Helper()
	s := jsonpath(t, ns, kind, name, fmt.Sprintf(`.status.conditions[?(@.type=="%s")].lastTransitionTime`, typ))
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("%s %s condition %s: lastTransitionTime %q: %v", kind, name, typ, s, err)
	}
	return at
}

// createdAt is the object's creation time.
func createdAt(t *testing.T, ns, kind, name string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, jsonpath(t, ns, kind, name, ".metadata.creationTimestamp"))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// writer is a Deployment whose pod keeps writing to its claim: a new file
// every 0.2 s, never changing one it wrote, counting on from what the
// volume holds after a restart.
func writer(claim string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: writer}
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector: {matchLabels: {app: writer}}
  template:
    metadata: {labels: {app: writer}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: writer
        image: localhost/busybox:1
        imagePullPolicy: IfNotPresent
        command: [sh, -c]
        args:
        - |
          mkdir -p /data/live
          i=$(ls /data/live | wc -l)
          trap 'exit 0' TERM
          while true; do i=$((i+1)); echo "entry $i at $(date +%%s)" > /data/live/$i; sleep 0.2; done
        volumeMounts: [{name: data, mountPath: /data}]
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: %s}
`, claim)
}

// waitAvailable waits until the Deployment or StatefulSet has want ready replicas.
func waitAvailable(t *testing.T, ns, kind, name string, want int) {
	t.Helper()
	waitFor(t, 3*time.Minute, fmt.Sprintf("%s %s with %d ready replicas", kind, name, want), func() (bool, error) {
		return jsonpath(t, ns, kind, name, ".status.readyReplicas") == fmt.Sprint(want), nil
	})
}

// TestDeploymentBackupWhileWritingAndRestore backs up a Deployment, written
// as Stash v0.9 users wrote it (no Task), while its pod keeps writing; wipes
// the data; restores it. The restore stops the Deployment, and afterwards
// every file of the snapshot is back byte for byte and the Deployment runs
// its replica again.
func TestDeploymentBackupWhileWritingAndRestore(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "deploy")
	dir := pvcWithData(t, ns, "writer-data", true)
	static := tree(t, dir)
	repoDir := localRepository(t, ns, "local-repo")
	apply(t, ns, writer("writer-data"))
	waitAvailable(t, ns, "deployment", "writer", 1)
	apply(t, ns, `apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: writer-backup}
spec:
  schedule: "0 0 1 1 *"
  repository: {name: local-repo}
  target:
    ref: {apiVersion: apps/v1, kind: Deployment, name: writer}
    volumeMounts: [{name: data, mountPath: /source/data}]
    paths: [/source/data]
  retentionPolicy: {name: keep-last-5, keepLast: 5, prune: true}
`)
	bs := triggerBackup(t, ns, "writer-backup")
	st := waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	took := conditionTime(t, ns, "backupsession", bs, "Succeeded").Sub(createdAt(t, ns, "backupsession", bs))
	t.Logf("FIGURE deployment backup: BackupSession created to Succeeded in %s (sessionDuration %s)", took, st.SessionDuration)
	if hosts := hostsOf(resticList(t, repoDir, resticPassword)); !slices.Equal(hosts, []string{"host-0"}) {
		t.Fatalf("snapshots of hosts %v, want [host-0]", hosts)
	}
	want := snapshotTree(t, repoDir, "host-0", "source/data")
	if missing := missingFrom(static, want); len(missing) > 0 {
		t.Fatalf("the snapshot lacks %d of the %d entries that were there before the writer started, e.g. %v", len(missing), len(static), missing[:min(5, len(missing))])
	}
	live := len(want) - len(static)
	if live < 2 {
		t.Fatalf("the snapshot holds %d of the writer's entries; want the live directory and files it wrote", live)
	}
	t.Logf("the snapshot holds %d entries, %d of them the writer's", len(want), live)

	// Data loss, while the Deployment runs: the writer may add a file to a
	// directory between RemoveAll's listing and its rmdir, so try again.
	waitFor(t, 30*time.Second, "the data removed while the writer runs", func() (bool, error) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				t.Logf("remove %s: %v; again", e.Name(), err)
				return false, nil
			}
		}
		return true, nil
	})
	restore := `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: writer-restore}
spec:
  repository: {name: local-repo}
  target:
    ref: {apiVersion: apps/v1, kind: Deployment, name: writer}
    volumeMounts: [{name: data, mountPath: /source/data}]
  rules:
  - paths: [/source/data]
`
	// The downtime, as a user sees it: from the Deployment's scale to zero
	// until it has a ready replica again, polled every 0.5 s.
	applied := time.Now()
	apply(t, ns, restore)
	var stoppedAt, startedAt, readyAt time.Time
	deadline := time.Now().Add(5 * time.Minute)
	for readyAt.IsZero() {
		if time.Now().After(deadline) {
			diagnose(t, ns, "restoresession", "writer-restore")
			t.Fatalf("the Deployment was not stopped and started within 5m (stopped %v, started %v)", stoppedAt, startedAt)
		}
		replicas := jsonpath(t, ns, "deployment", "writer", ".spec.replicas")
		switch {
		case stoppedAt.IsZero() && replicas == "0":
			stoppedAt = time.Now()
		case !stoppedAt.IsZero() && startedAt.IsZero() && replicas == "1":
			startedAt = time.Now()
		case !startedAt.IsZero() && jsonpath(t, ns, "deployment", "writer", ".status.readyReplicas") == "1":
			readyAt = time.Now()
		}
		time.Sleep(500 * time.Millisecond)
	}
	waitSession(t, ns, "restoresession", "writer-restore", 5*time.Minute)
	if missing := missingFrom(want, tree(t, dir)); len(missing) > 0 {
		t.Fatalf("%d of the snapshot's %d entries are not restored as they were, e.g. %v", len(missing), len(want), missing[:min(5, len(missing))])
	}
	t.Logf("every one of the snapshot's %d entries is restored byte for byte", len(want))
	if r := jsonpath(t, ns, "restoresession", "writer-restore", `.status.conditions[?(@.type=="WorkloadStopped")].reason`); r != "StartedAfterRestore" {
		t.Fatalf("WorkloadStopped reason %q, want StartedAfterRestore", r)
	}
	if replicas := jsonpath(t, ns, "deployment", "writer", ".spec.replicas"); replicas != "1" {
		t.Fatalf("the Deployment has %s replicas after the restore, want 1", replicas)
	}
	t.Logf("FIGURE deployment restore: stopped %s after the RestoreSession was applied; scaled back up %s after the stop, a ready replica %s after the stop",
		stoppedAt.Sub(applied).Round(100*time.Millisecond), startedAt.Sub(stoppedAt).Round(100*time.Millisecond), readyAt.Sub(stoppedAt).Round(100*time.Millisecond))
}

// TestStatefulSetReadme runs the README's "Back up a StatefulSet" as
// written (only the namespace and the repository directory differ): two
// replicas are two hosts, each with its own data; host-1's data is restored
// into the claim of a new StatefulSet's first replica.
func TestStatefulSetReadme(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "sts")
	repoDir := hostDir(t, "repo")
	apply(t, ns, strings.ReplaceAll(readmeYAML(t, "repository.yaml"), "/var/lib/stash-demo-repo", repoDir))
	sts := readmeYAML(t, "statefulset.yaml")
	apply(t, ns, sts)
	waitAvailable(t, ns, "statefulset", "web", 2)
	apply(t, ns, readmeYAML(t, "statefulset-backup.yaml"))
	bs := strings.TrimSpace(mustKubectl(t, readmeYAML(t, "statefulset-backupsession.yaml"), "-n", ns, "create", "-f", "-", "-o", "jsonpath={.metadata.name}"))
	st := waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	t.Logf("backup %s of 2 hosts Succeeded in %s", bs, st.SessionDuration)
	jobs := strings.Fields(mustKubectl(t, "", "-n", ns, "get", "jobs", "-l", "stash.appscode.com/invoker-name=web-backup",
		"-o", `jsonpath={range .items[*]}{.metadata.labels.stash\.appscode\.com/host}{" "}{end}`))
	slices.Sort(jobs)
	if !slices.Equal(jobs, []string{"host-0", "host-1"}) {
		t.Fatalf("Jobs of hosts %v, want one of host-0 and one of host-1", jobs)
	}
	password := "change-me-restic" // README's repository.yaml
	if hosts := hostsOf(resticList(t, repoDir, password)); !slices.Equal(hosts, []string{"host-0", "host-1"}) {
		t.Fatalf("snapshots of hosts %v, want host-0 and host-1", hosts)
	}
	// The repository exists now: the next backup runs both hosts at once,
	// each with its own retention, in one repository.
	bs = strings.TrimSpace(mustKubectl(t, readmeYAML(t, "statefulset-backupsession.yaml"), "-n", ns, "create", "-f", "-", "-o", "jsonpath={.metadata.name}"))
	st = waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	t.Logf("second backup %s, both hosts at once, Succeeded in %s", bs, st.SessionDuration)
	if n := len(resticList(t, repoDir, password)); n != 4 {
		t.Fatalf("restic lists %d snapshots after two backups of two hosts, want 4", n)
	}

	apply(t, ns, readmeYAML(t, "statefulset-restore.yaml"))
	waitSession(t, ns, "restoresession", "web-copy-restore", 5*time.Minute)
	copySTS := strings.NewReplacer("name: web}", "name: web-copy}", "app: web}", "app: web-copy}",
		"serviceName: web\n", "serviceName: web-copy\n", "replicas: 2", "replicas: 1").Replace(sts) // the README's sed
	apply(t, ns, copySTS)
	waitAvailable(t, ns, "statefulset", "web-copy", 1)
	if got := strings.TrimSpace(execIn(t, ns, "web-copy-0", "cat", "/usr/share/web/index.html")); got != "written by web-1" {
		t.Fatalf("web-copy-0 serves %q, want host-1's %q", got, "written by web-1")
	}
	if owners := jsonpath(t, ns, "pvc", "content-web-copy-0", ".metadata.ownerReferences"); owners != "" {
		t.Errorf("the restored claim has owners %s; want none (it outlives the RestoreSession)", owners)
	}
	t.Logf("web-copy-0 serves host-1's data")
}

// TestFailedHostFailsTheSession: of two StatefulSet replicas, the one whose
// path is missing fails the session, which names it; the other's snapshot
// is kept.
func TestFailedHostFailsTheSession(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "hostfail")
	repoDir := localRepository(t, ns, "local-repo")
	apply(t, ns, `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: pair}
spec:
  replicas: 2
  serviceName: pair
  selector: {matchLabels: {app: pair}}
  template:
    metadata: {labels: {app: pair}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: pair
        image: localhost/busybox:1
        imagePullPolicy: IfNotPresent
        command: [sh, -c]
        args:
        - |
          [ "$(hostname)" = pair-0 ] && mkdir -p /data/app && echo kept > /data/app/state
          trap 'exit 0' TERM
          while true; do sleep 1; done
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: pair-backup}
spec:
  schedule: "0 0 1 1 *"
  repository: {name: local-repo}
  target:
    ref: {apiVersion: apps/v1, kind: StatefulSet, name: pair}
    volumeMounts: [{name: data, mountPath: /source/data}]
    paths: [/source/data/app]
  retentionPolicy: {name: keep-last-5, keepLast: 5, prune: true}
`)
	waitAvailable(t, ns, "statefulset", "pair", 2)
	bs := triggerBackup(t, ns, "pair-backup")
	st := waitFinished(t, ns, "backupsession", bs, 5*time.Minute)
	reason, message := st.condition()
	if st.Phase != "Failed" || !strings.Contains(message, "host host-1") || strings.Contains(message, "host host-0") {
		diagnose(t, ns, "backupsession", bs)
		t.Fatalf("BackupSession %s: phase %q, reason %q, message %q; want Failed naming host-1 only", bs, st.Phase, reason, message)
	}
	t.Logf("Failed as it should: %s: %s", reason, message)
	if hosts := hostsOf(resticList(t, repoDir, resticPassword)); !slices.Equal(hosts, []string{"host-0"}) {
		t.Fatalf("snapshots of hosts %v, want host-0's, kept", hosts)
	}
}

// TestDaemonSetHostIsTheNode backs up a DaemonSet's hostPath volume: its
// host is the node, by name. A restore stops the DaemonSet (no pod on any
// node), restores the files and brings its pod back.
func TestDaemonSetHostIsTheNode(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "dmn")
	dir := hostDir(t, "logs")
	writeSampleTree(t, dir)
	want := tree(t, dir)
	repoDir := localRepository(t, ns, "local-repo")
	apply(t, ns, fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: agent
        image: localhost/busybox:1
        imagePullPolicy: IfNotPresent
        command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]
        volumeMounts: [{name: logs, mountPath: /var/log/agent}]
      volumes:
      - name: logs
        hostPath: {path: %s, type: Directory}
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: agent-backup}
spec:
  schedule: "0 0 1 1 *"
  repository: {name: local-repo}
  target:
    ref: {apiVersion: apps/v1, kind: DaemonSet, name: agent}
    volumeMounts: [{name: logs, mountPath: /source/logs}]
    paths: [/source/logs]
  retentionPolicy: {name: keep-last-5, keepLast: 5, prune: true}
`, dir))
	waitFor(t, 3*time.Minute, "DaemonSet agent ready on the node", func() (bool, error) {
		return jsonpath(t, ns, "daemonset", "agent", ".status.numberReady") == "1", nil
	})
	node := strings.TrimSpace(mustKubectl(t, "", "get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"))
	bs := triggerBackup(t, ns, "agent-backup")
	waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	if hosts := hostsOf(resticList(t, repoDir, resticPassword)); !slices.Equal(hosts, []string{node}) {
		t.Fatalf("snapshots of hosts %v, want the node's, [%s]", hosts, node)
	}
	if got := jsonpath(t, ns, "backupsession", bs, ".status.hosts[0].name"); got != node {
		t.Fatalf("status.hosts[0].name %q, want the node %q", got, node)
	}

	if err := os.RemoveAll(filepath.Join(dir, "deep")); err != nil {
		t.Fatal(err)
	}
	apply(t, ns, `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: agent-restore}
spec:
  repository: {name: local-repo}
  target:
    ref: {apiVersion: apps/v1, kind: DaemonSet, name: agent}
    volumeMounts: [{name: logs, mountPath: /source/logs}]
  rules:
  - paths: [/source/logs]
`)
	waitSession(t, ns, "restoresession", "agent-restore", 5*time.Minute)
	if got := tree(t, dir); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("restored tree differs:\n--- before (%d)\n%s\n--- after (%d)\n%s", len(want), strings.Join(want, "\n"), len(got), strings.Join(got, "\n"))
	}
	waitFor(t, 3*time.Minute, "DaemonSet agent back on the node", func() (bool, error) {
		sel := jsonpath(t, ns, "daemonset", "agent", ".spec.template.spec.nodeSelector")
		return sel == "" && jsonpath(t, ns, "daemonset", "agent", ".status.numberReady") == "1", nil
	})
	t.Logf("DaemonSet agent restored on node %s and running again", node)
}
