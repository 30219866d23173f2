//go:build e2e

package e2e

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
		return mustKubectl(t, "", "-n", ns, "get", "jobs", "-l", sessionJobs, "-o", "jsonpath={.items[*].spec.suspend}") == "true", nil
	})
}

// A backup whose restic is killed (SIGKILL: what the OOM killer does) fails,
// and the next backup, started at once, succeeds promptly: the killed
// restic's lock does not hold the repository (restic would wait 5 minutes
// for it, then fail: longer than the 4 minutes the next backup is given).
func TestKilledBackupThenAGoodOne(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "killed")
	repoDir, bs := startLongBackup(t, ns)
	waitFor(t, 3*time.Minute, "restic to run in the backup's pod", func() (bool, error) {
		return jsonpath(t, ns, "backupsession", bs, ".status.steps[0].phase") == "Running", nil
	})
	pod := strings.TrimSpace(mustKubectl(t, "", "-n", ns, "get", "pods", "-l", sessionJobs, "-o", "jsonpath={.items[0].metadata.name}"))
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

// startLongBackup triggers a backup of a PVC that holds a file large
// enough for the backup to be killed midway, into local-repo, and returns
// the repository's directory and the session.
func startLongBackup(t *testing.T, ns string) (repoDir, session string) {
	t.Helper()
	dir := pvcWithData(t, ns, "source", true)
	writeLargeFile(t, filepath.Join(dir, "large.bin"), 768<<20)
	repoDir = localRepository(t, ns, "local-repo")
	apply(t, ns, pvcBackupConfiguration("data-backup", "source", "local-repo", 2))
	return repoDir, triggerBackup(t, ns, "data-backup")
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

// A backup Job whose pod is killed outright (its first process, stash, by
// SIGKILL from the node, so the kernel kills restic too and nobody removes
// its lock) leaves its lock in the repository; `stash unlock` removes it,
// because the lock's pod has ended, and `stash check` then finds the
// repository sound.
func TestUnlockClearsTheLockOfAKilledJob(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "unlock")
	repoDir, bs := startLongBackup(t, ns)
	waitFor(t, 3*time.Minute, "restic to lock the repository", func() (bool, error) {
		if jsonpath(t, ns, "backupsession", bs, ".status.steps[0].phase") != "Running" {
			return false, nil
		}
		if _, err := os.Stat(filepath.Join(repoDir, "config")); err != nil {
			return false, nil // not initialised yet
		}
		return len(strings.Fields(string(restic(t, repoDir, resticPassword, "list", "locks")))) > 0, nil
	})
	pod := strings.TrimSpace(mustKubectl(t, "", "-n", ns, "get", "pods", "-l", sessionJobs, "-o", "jsonpath={.items[0].metadata.name}"))
	uid := jsonpath(t, ns, "pod", pod, ".metadata.uid")
	killed := killContainerInit(t, uid, "stash")
	t.Logf("killed stash (pid %d) of pod %s", killed, pod)
	if st := waitFinished(t, ns, "backupsession", bs, 3*time.Minute); st.Phase != "Failed" {
		t.Fatalf("the killed backup is %s, want Failed", st.Phase)
	}
	locks := strings.Fields(string(restic(t, repoDir, resticPassword, "list", "locks")))
	if len(locks) == 0 {
		t.Fatal("the killed Job left no lock: nothing for stash unlock to do")
	}

	stdout, stderr, code := stashCLI(t, ns, "unlock", "local-repo", "--timeout", "3m")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("removed %d lock(s)", len(locks))) || !strings.Contains(stdout, pod) ||
		!strings.Contains(stdout, "its pod has ended") {
		t.Fatalf("stash unlock: exit %d\n%s%s", code, stdout, stderr)
	}
	if left := strings.Fields(string(restic(t, repoDir, resticPassword, "list", "locks"))); len(left) != 0 {
		t.Fatalf("restic lists locks %v after stash unlock", left)
	}
	stdout, stderr, code = stashCLI(t, ns, "check", "local-repo", "--timeout", "3m")
	if code != 0 || !strings.Contains(stdout, "restic check found no errors") {
		t.Fatalf("stash check: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := jsonpath(t, ns, "repository", "local-repo", ".status.integrity"); got != "true" {
		t.Fatalf("Repository status.integrity %q after stash check, want true", got)
	}
}

// killContainerInit kills with SIGKILL, from the node (this machine), the
// process named name of the pod with uid: found by the pod's cgroup.
func killContainerInit(t *testing.T, uid, name string) int {
	t.Helper()
	ids := []string{uid, strings.ReplaceAll(uid, "-", "_")} // as the cgroupfs and systemd drivers write it
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		comm, err := os.ReadFile(filepath.Join(p, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		cg, err := os.ReadFile(filepath.Join(p, "cgroup"))
		if err != nil || !strings.Contains(string(cg), ids[0]) && !strings.Contains(string(cg), ids[1]) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", pid, err)
		}
		return pid
	}
	t.Fatalf("no process %s in a cgroup of pod %s", name, uid)
	return 0
}
