package function

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/restic"
	"github.com/stash-operator/stash/internal/testenv"
)

// leaveLock makes restic, on a host named host, hold a lock of the
// repository of s and dies by SIGKILL, as a backup does whose pod is
// deleted: the lock stays behind. (A UTS namespace gives restic the host
// name it writes into the lock.) With exclusive it leaves instead the
// exclusive lock of a command that changes the repository (a forget or
// prune killed midway), which stops even a backup.
func leaveLock(t *testing.T, s Setup, host string, exclusive bool) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "root (unshare --uts, to give restic another host name)")
	}
	repo, err := s.NewRepo()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "RESTIC_REPOSITORY="+s.Bucket, "RESTIC_PASSWORD_FILE="+filepath.Join(s.SecretDir, "RESTIC_PASSWORD"))
	// backup --stdin holds its lock while it waits for input that never ends.
	holding := "backup --stdin --stdin-filename x --no-cache"
	if exclusive {
		// key passwd holds the exclusive lock while it reads the new password.
		holding = "key passwd --new-password-file /dev/stdin --no-cache"
	}
	cmd := exec.Command("unshare", "--uts", "sh", "-c", `hostname "$0" && exec "$1" $2`, host, s.ResticBinary, holding)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	ctx := context.Background()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		locks, err := repo.Locks(ctx)
		if err == nil && len(locks) == 1 && locks[0].Hostname == host {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restic on %s took no lock (locks %+v, %v)", host, locks, err)
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// A backup killed in a pod that is gone leaves its lock; the next backup
// (or restore) removes it at once, because the lock's pod has ended, instead
// of waiting out restic's lock wait and failing. A lock whose holder cannot
// be known is respected. Each Function opens the repository with its own
// first restic command: backup-pg's dump, cut off by the lock, runs again
// from its start and the snapshot holds all of it.
func TestBackupRemovesTheLockOfAnEndedPod(t *testing.T) {
	e := testenv.NewEnv(t, time.Now())
	ctx := e.Ctx
	// The Job of the killed backup is still there; its pod is not.
	job := stashJob("stash-backup-nightly-1767225600-0", true)
	e.Create(job)
	db := startPG(t)

	tests := map[string]struct {
		op        string // backup-pvc (default), backup-pg, restore-pvc
		host      string
		exclusive bool
		respected bool // the lock stays and the Function fails on it
	}{
		"the lock of a pod of an ended Job is removed": {host: job.Name + "-x7k2q"},
		"the lock of an unknown host is respected":     {host: "some-other-machine", respected: true},
		// The backup itself, which opens the repository, meets the lock.
		"an exclusive lock of a pod of an ended Job is removed":              {host: job.Name + "-p3m8z", exclusive: true},
		"an exclusive lock of an unknown host is respected":                  {host: "another-machine", exclusive: true, respected: true},
		"backup-pg: an exclusive lock of a pod of an ended Job is removed":   {op: "backup-pg", host: job.Name + "-q4w7e", exclusive: true},
		"backup-pg: an exclusive lock of an unknown host is respected":       {op: "backup-pg", host: "db-machine", exclusive: true, respected: true},
		"restore-pvc: an exclusive lock of a pod of an ended Job is removed": {op: "restore-pvc", host: job.Name + "-r5t6y", exclusive: true},
		"restore-pvc: an exclusive lock of an unknown host is respected":     {op: "restore-pvc", host: "restore-machine", exclusive: true, respected: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := localSetup(t, testPassword)
			s.Retention = v1alpha1.RetentionPolicy{KeepLast: 1, Prune: true} // forget and prune need the repository alone
			s.PodNamespace = e.Namespace
			s.LockHolder = PodHolder(e.Client, e.Namespace)
			s.LockWait = 5 * time.Second
			data := t.TempDir()
			if err := os.WriteFile(filepath.Join(data, "f"), []byte("data"), 0o644); err != nil {
				t.Fatal(err)
			}
			repo, err := s.NewRepo()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := repo.OpenOrInit(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.op == "restore-pvc" {
				if out := BackupPVC(ctx, BackupPVCOptions{Setup: s, BackupPaths: []string{data}}); out.HostBackupStats[0].Phase != "Succeeded" {
					t.Fatalf("backup to restore from: %s", out.HostBackupStats[0].Error)
				}
				if err := os.Remove(filepath.Join(data, "f")); err != nil {
					t.Fatal(err)
				}
			}
			leaveLock(t, s, tc.host, tc.exclusive)

			start := time.Now()
			var phase, failure string
			switch tc.op {
			case "backup-pg":
				h := BackupPG(ctx, BackupPGOptions{pgOptions(t, db, s)}).HostBackupStats[0]
				phase, failure = string(h.Phase), h.Error
			case "restore-pvc":
				h := RestorePVC(ctx, RestorePVCOptions{Setup: s, RestorePaths: []string{data}}).HostRestoreStats[0]
				phase, failure = string(h.Phase), h.Error
			default:
				h := BackupPVC(ctx, BackupPVCOptions{Setup: s, BackupPaths: []string{data}}).HostBackupStats[0]
				phase, failure = string(h.Phase), h.Error
			}
			if !tc.respected {
				if phase != "Succeeded" {
					t.Fatalf("%s: %s", phase, failure)
				}
				if locks, err := repo.Locks(ctx); err != nil || len(locks) != 0 {
					t.Fatalf("locks left: %+v (%v)", locks, err)
				}
				t.Logf("%s with the dead lock removed took %s", cmp.Or(tc.op, "backup-pvc"), time.Since(start).Round(time.Millisecond))
				switch tc.op {
				case "backup-pg":
					var dump bytes.Buffer
					if err := repo.Dump(ctx, restic.Latest, s.Host(), "/"+DumpFileName, &dump); err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(dump.String(), "PostgreSQL database cluster dump complete") {
						t.Fatalf("the snapshot's dump is incomplete (%d bytes, ends %q)", dump.Len(), dump.String()[max(0, dump.Len()-200):])
					}
				case "restore-pvc":
					if b, err := os.ReadFile(filepath.Join(data, "f")); err != nil || string(b) != "data" {
						t.Fatalf("restored file: %q, %v", b, err)
					}
				}
				return
			}
			if phase != "Failed" || !strings.Contains(failure, "locked") {
				t.Fatalf("%s (%s); want Failed, the repository locked", phase, failure)
			}
			if locks, err := repo.Locks(ctx); err != nil || len(locks) != 1 || locks[0].Hostname != tc.host {
				t.Fatalf("the respected lock is gone: %+v (%v)", locks, err)
			}
			if tc.op == "backup-pg" {
				if snaps := repoSnapshots(t, s); len(snaps) != 0 {
					t.Fatalf("a failed backup-pg left snapshots: %+v", snaps)
				}
			}
		})
	}
}

// stashJob is a suspended Job, labelled as stash's when ours.
func stashJob(name string, ours bool) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{Suspend: ptr.To(true), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: "stash:test"}}}}}}
	if ours {
		j.Labels = map[string]string{naming.ManagedByLabel: naming.ManagedByStash}
	}
	return j
}

func TestPodHolder(t *testing.T) {
	e := testenv.NewEnv(t, time.Now())
	pod := func(name string, phase corev1.PodPhase, running bool, finalizer bool) {
		t.Helper()
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "stash:test"}}}}
		if finalizer {
			p.Finalizers = []string{"test.stash.appscode.com/keep"}
		}
		e.Create(p)
		state := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137}}
		if running {
			state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		}
		e.UpdateStatus(p, func() {
			p.Status.Phase = phase
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: state}}
		})
		if finalizer {
			if err := e.Client.Delete(e.Ctx, p); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Update(p, func() { p.Finalizers = nil }) })
		}
	}
	pod("stash-backup-a-1-0-abcde", corev1.PodSucceeded, false, false)
	pod("stash-backup-b-1-0-abcde", corev1.PodRunning, true, false)
	pod("stash-backup-c-1-0-abcde", corev1.PodRunning, false, true) // being deleted, its containers stopped
	pod("stash-backup-d-1-0-abcde", corev1.PodRunning, true, true)  // being deleted, still running
	e.Create(stashJob("stash-backup-e-1-0", true), stashJob("other-job", false))

	holder := PodHolder(e.Client, e.Namespace)
	for host, want := range map[string]restic.Holder{
		"stash-backup-a-1-0-abcde": restic.HolderGone,
		"stash-backup-b-1-0-abcde": restic.HolderRuns,
		"stash-backup-c-1-0-abcde": restic.HolderGone,
		"stash-backup-d-1-0-abcde": restic.HolderRuns,
		"stash-backup-e-1-0-x7k2q": restic.HolderGone,    // its Job is ours, the pod is gone
		"other-job-x7k2q":          restic.HolderUnknown, // not a Job of stash
		"stash-backup-f-1-0-x7k2q": restic.HolderUnknown, // no such Job here: another namespace's?
		"laptop":                   restic.HolderUnknown,
		"":                         restic.HolderUnknown,
	} {
		if got := holder(e.Ctx, host); got != want {
			t.Errorf("holder of %q = %d, want %d", host, got, want)
		}
	}
}
