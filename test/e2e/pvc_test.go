//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// hostPathVolume is a PersistentVolume on a host directory, pre-bound to a
// claim of the same name in ns, and the claim.
func hostPathVolume(ns, name, path string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata: {name: %[1]s-%[2]s}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: %[3]s, type: Directory}
  claimRef: {namespace: %[1]s, name: %[2]s}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: %[1]s-%[2]s
  resources: {requests: {storage: 1Gi}}
`, ns, name, path)
}

// pvcWithData makes a PVC named name on a fresh host directory filled with
// the sample tree, and returns the directory.
func pvcWithData(t *testing.T, ns, name string, fill bool) string {
	t.Helper()
	dir := hostDir(t, name)
	if fill {
		writeSampleTree(t, dir)
	}
	apply(t, ns, hostPathVolume(ns, name, dir))
	t.Cleanup(func() { kubectl(t, "", "delete", "pv", ns+"-"+name, "--wait=false") })
	waitFor(t, 60*time.Second, "PVC "+name+" Bound", func() (bool, error) {
		out, err := kubectl(t, "", "-n", ns, "get", "pvc", name, "-o", "jsonpath={.status.phase}")
		return err == nil && out == "Bound", nil
	})
	return dir
}

// pvcBackupConfiguration backs up the PVC claim of ns into repository with
// the catalog's pvc-backup Task, keeping the last keepLast snapshots; its
// schedule never fires during a test, so sessions are triggered by hand.
func pvcBackupConfiguration(name, claim, repository string, keepLast int) string {
	return fmt.Sprintf(`apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: %[1]s}
spec:
  schedule: "0 0 1 1 *"
  task: {name: pvc-backup}
  repository: {name: %[3]s}
  target:
    ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: %[2]s}
    volumeMounts: [{name: %[2]s, mountPath: /source/data}]
    paths: [/source/data]
  retentionPolicy: {name: keep-last-%[4]d, keepLast: %[4]d, prune: true}
`, name, claim, repository, keepLast)
}

// TestPVCBackupRestoreAndRetention backs up a PVC with the catalog's
// pvc-backup Task into a local repository and restores it into a second,
// empty PVC with pvc-restore: the two trees must be identical byte for byte.
// Two more backups then leave, with keepLast 2, two snapshots: in the
// Repository's status and in the repository itself.
func TestPVCBackupRestoreAndRetention(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "pvc")
	src := pvcWithData(t, ns, "source", true)
	dst := pvcWithData(t, ns, "restored", false)
	want := tree(t, src)
	repoDir := localRepository(t, ns, "local-repo")
	apply(t, ns, pvcBackupConfiguration("data-backup", "source", "local-repo", 2))

	bs := triggerBackup(t, ns, "data-backup")
	st := waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	t.Logf("backup %s Succeeded in %s", bs, st.SessionDuration)
	waitSnapshotCount(t, ns, "local-repo", 1)
	first := waitSnapshotObjects(t, ns, "local-repo", repoDir)
	if s := first["local-repo-"+resticSnapshots(t, repoDir, resticPassword)[0]]; s.hostname != "host-0" || s.paths != "/source/data" {
		t.Fatalf("kubectl get snapshots: %+v, want local-repo-<short id> of host-0 with path /source/data", first)
	}

	apply(t, ns, `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: data-restore}
spec:
  task: {name: pvc-restore}
  repository: {name: local-repo}
  target:
    ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: restored}
    volumeMounts: [{name: restored, mountPath: /source/data}]
  rules:
  - snapshots: [latest]
`)
	st = waitSession(t, ns, "restoresession", "data-restore", 5*time.Minute)
	t.Logf("restore Succeeded in %s", st.SessionDuration)
	if got := tree(t, dst); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("restored tree differs from the source\n--- source (%d entries)\n%s\n--- restored (%d entries)\n%s",
			len(want), strings.Join(want, "\n"), len(got), strings.Join(got, "\n"))
	}
	t.Logf("restored %d entries, identical to the source byte for byte", len(want))

	// Retention: two more backups with keepLast 2.
	for range 2 {
		bs := triggerBackup(t, ns, "data-backup")
		waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	}
	waitSnapshotCount(t, ns, "local-repo", 2)
	if ids := resticSnapshots(t, repoDir, resticPassword); len(ids) != 2 {
		t.Fatalf("restic lists %d snapshots in the repository (%v), want 2 after keepLast 2", len(ids), ids)
	}
	// The snapshot retention forgot goes from kubectl get snapshots too.
	kept := waitSnapshotObjects(t, ns, "local-repo", repoDir)
	stashCLI(t, ns, "snapshots", "local-repo")

	// kubectl delete snapshot forgets the snapshot in the repository.
	oldest := "local-repo-" + resticSnapshots(t, repoDir, resticPassword)[0]
	if _, ok := kept[oldest]; !ok {
		t.Fatalf("no Snapshot %s among %v", oldest, kept)
	}
	start := time.Now()
	mustKubectl(t, "", "-n", ns, "delete", "snapshot", oldest, "--timeout=2m")
	t.Logf("kubectl delete snapshot %s returned after %s", oldest, time.Since(start).Round(100*time.Millisecond))
	if ids := resticSnapshots(t, repoDir, resticPassword); len(ids) != 1 || "local-repo-"+ids[0] == oldest {
		t.Fatalf("restic lists %v after kubectl delete snapshot %s", ids, oldest)
	}
	waitSnapshotObjects(t, ns, "local-repo", repoDir)
}

type snapshotObject struct{ hostname, paths string }

// waitSnapshotObjects waits until kubectl get snapshots -l repository=NAME
// lists exactly the snapshots restic lists in repoDir, and returns them by
// name.
func waitSnapshotObjects(t *testing.T, ns, repository, repoDir string) map[string]snapshotObject {
	t.Helper()
	var got map[string]snapshotObject
	last := ""
	differ := func(ids []string) (bool, error) {
		if now := fmt.Sprintf("kubectl get snapshots lists %v, restic %v", got, ids); now != last {
			t.Log(now)
			last = now
		}
		return false, nil
	}
	waitFor(t, 90*time.Second, "kubectl get snapshots to list what restic lists", func() (bool, error) {
		out, err := kubectl(t, "", "-n", ns, "get", "snapshots", "-l", "repository="+repository, "-o",
			`jsonpath={range .items[*]}{.metadata.name} {.status.hostname} {.status.paths[*]}{"\n"}{end}`)
		if err != nil {
			return false, err
		}
		got = map[string]snapshotObject{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 {
				got[f[0]] = snapshotObject{hostname: f[1], paths: strings.Join(f[2:], " ")}
			}
		}
		ids := resticSnapshots(t, repoDir, resticPassword)
		if len(got) != len(ids) {
			return differ(ids)
		}
		for _, id := range ids {
			if _, ok := got[repository+"-"+id]; !ok {
				return differ(ids)
			}
		}
		return true, nil
	})
	return got
}
