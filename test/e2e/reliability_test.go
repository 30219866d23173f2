//go:build e2e

package e2e

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A Repository whose storage Secret does not exist: the BackupConfiguration
// says so (not Ready, naming the Secret), and a backup fails within about a
// minute, naming it, instead of a pod stuck in Init until the pod start
// timeout ten minutes later.
func TestMissingStorageSecretFailsFast(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "nosecret")
	pvcWithData(t, ns, "source", true)
	apply(t, ns, `apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata: {name: no-secret-repo}
spec:
  backend:
    local:
      mountPath: /safe/data
      hostPath: {path: `+hostDir(t, "repo")+`, type: Directory}
    storageSecretName: forgotten-secret
---
`+pvcBackupConfiguration("data-backup", "source", "no-secret-repo", 1))
	waitFor(t, 60*time.Second, "BackupConfiguration data-backup not Ready, naming the Secret", func() (bool, error) {
		reason := jsonpath(t, ns, "backupconfiguration", "data-backup", `.status.conditions[?(@.type=="Ready")].reason`)
		message := jsonpath(t, ns, "backupconfiguration", "data-backup", `.status.conditions[?(@.type=="Ready")].message`)
		return reason == "StorageSecretNotFound" && strings.Contains(message, `Secret "forgotten-secret" does not exist`), nil
	})

	start := time.Now()
	bs := triggerBackup(t, ns, "data-backup")
	st := waitFinished(t, ns, "backupsession", bs, 4*time.Minute)
	message := requireFailed(t, ns, "backupsession", bs, st, "VolumeSourceNotFound",
		`Secret "forgotten-secret" (volume "secret-volume") does not exist in namespace `+ns)
	t.Logf("Failed %s after the session was created: %s", time.Since(start).Round(time.Second), message)
	waitFor(t, 60*time.Second, "the Job stopped", func() (bool, error) {
		return mustKubectl(t, "", "-n", ns, "get", "jobs", "-o", "jsonpath={.items[*].spec.suspend}") == "true", nil
	})
}

// A backup whose restic is killed (SIGKILL: what the OOM killer does) fails,
// and the next backup, started at once, succeeds promptly: the killed
// restic's lock does not hold the repository (restic would wait 5 minutes
// for it, then fail: longer than the 4 minutes the next backup is given).
func TestKilledBackupThenAGoodOne(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "killed")
	dir := pvcWithData(t, ns, "source", true)
	writeLargeFile(t, filepath.Join(dir, "large.bin"), 768<<20) // long enough to be killed midway
	repoDir := localRepository(t, ns, "local-repo")
	apply(t, ns, pvcBackupConfiguration("data-backup", "source", "local-repo", 2))

	bs := triggerBackup(t, ns, "data-backup")
	waitFor(t, 3*time.Minute, "restic to run in the backup's pod", func() (bool, error) {
		return jsonpath(t, ns, "backupsession", bs, ".status.steps[0].phase") == "Running", nil
	})
	pod := strings.TrimSpace(mustKubectl(t, "", "-n", ns, "get", "pods", "-l", "job-name", "-o", "jsonpath={.items[0].metadata.name}"))
	// restic's backup, not the commands before it. The container's first
	// process (stash) cannot be killed from inside its PID namespace;
	// restic, its child, can.
	killRestic := `for p in /proc/[0-9]*; do case "$(readlink "$p/exe" 2>/dev/null)" in */restic)
  if tr '\0' ' ' < "$p/cmdline" | grep -q ' backup '; then kill -9 "${p#/proc/}" && echo "killed ${p#/proc/}"; fi ;; esac; done`
	waitFor(t, 2*time.Minute, "restic killed in pod "+pod, func() (bool, error) {
		out, err := kubectl(t, "", "-n", ns, "exec", pod, "-c", "pvc-backup-0", "--", "sh", "-c", killRestic)
		return err == nil && strings.Contains(out, "killed"), nil
	})
	first := waitFinished(t, ns, "backupsession", bs, 3*time.Minute)
	if first.Phase != "Failed" {
		t.Fatalf("the backup whose restic was killed is %s, want Failed", first.Phase)
	}
	reason, message := first.condition()
	t.Logf("the killed backup: %s: %s", reason, message)

	start := time.Now()
	second := triggerBackup(t, ns, "data-backup")
	st := waitSession(t, ns, "backupsession", second, 4*time.Minute)
	t.Logf("the next backup Succeeded %s after it was created (sessionDuration %s)", time.Since(start).Round(time.Second), st.SessionDuration)
	if ids := resticSnapshots(t, repoDir, resticPassword); len(ids) != 1 {
		t.Errorf("restic lists %d snapshots (%v), want the good backup's 1", len(ids), ids)
	}
}

// writeLargeFile writes size random bytes, readable by any uid.
func writeLargeFile(t *testing.T, p string, size int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(fmt.Errorf("write %s: %w", p, err))
	}
}
