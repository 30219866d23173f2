//go:build e2e

// Package e2e runs backup and restore scenarios against a real cluster: the
// single-node cluster of hack/local-cluster.sh, on this machine, with the
// images of hack/build-images.sh imported. It installs config/default (as
// `kubectl apply --server-side -k` does) and works in a namespace of its own.
//
//	TIERS=cluster bash hack/setup-test-infra.sh
//	eval "export $(bash hack/local-cluster.sh up | grep '^KUBECONFIG=')"
//	bash hack/build-images.sh
//	go test -tags e2e -count=1 -v ./test/e2e/      (or: make test-e2e)
//
// Run as root: the PersistentVolumes are hostPath directories the test
// writes and reads directly. Environment: KUBECONFIG (required), KUBECTL
// (default /var/cache/stash-ci/bin/kubectl).
package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

var kubectlPath = func() string {
	if p := os.Getenv("KUBECTL"); p != "" {
		return p
	}
	return "/var/cache/stash-ci/bin/kubectl"
}()

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func kubectl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(kubectlPath, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func mustKubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := kubectl(t, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func preflight(t *testing.T) {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG is not set: bring the cluster up with hack/local-cluster.sh up and export its KUBECONFIG")
	}
	if os.Geteuid() != 0 {
		t.Fatal("run as root: the test writes and reads the hostPath volumes directly")
	}
	if _, err := kubectl(t, "", "get", "--raw", "/readyz"); err != nil {
		t.Fatalf("the cluster does not answer: %v", err)
	}
}

var operatorOnce bool

// installOperator applies config/default and waits for the operator and the
// catalog Tasks it installs.
func installOperator(t *testing.T) {
	t.Helper()
	if operatorOnce {
		return
	}
	mustKubectl(t, "", "apply", "--server-side", "--force-conflicts", "-k", filepath.Join(repoRoot(t), "config", "default"))
	mustKubectl(t, "", "-n", "stash-system", "rollout", "status", "deployment/stash-operator", "--timeout=180s")
	for _, task := range []string{"pvc-backup", "pvc-restore"} {
		waitFor(t, 60*time.Second, "catalog Task "+task, func() (bool, error) {
			_, err := kubectl(t, "", "get", "task.stash.appscode.com", task)
			return err == nil, nil
		})
	}
	operatorOnce = true
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(time.Second)
	}
}

type sessionStatus struct {
	Phase           string `json:"phase"`
	SessionDuration string `json:"sessionDuration"`
	Conditions      []struct {
		Type, Status, Reason, Message string
	} `json:"conditions"`
	Steps []struct {
		Name, Phase, Reason, Message string
	} `json:"steps"`
}

// waitSession waits until the session is Succeeded; on failure or timeout it
// logs the status, the Jobs' pods' logs and the events, and fails.
func waitSession(t *testing.T, ns, kind, name string, timeout time.Duration) sessionStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var st sessionStatus
	last := ""
	for {
		out, err := kubectl(t, "", "-n", ns, "get", kind, name, "-o", "jsonpath={.status}")
		if err != nil {
			t.Fatal(err)
		}
		st = sessionStatus{}
		if strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("decode %s %s status: %v: %s", kind, name, err, out)
			}
		}
		if st.Phase != last {
			t.Logf("%s %s: phase %q", kind, name, st.Phase)
			last = st.Phase
		}
		switch st.Phase {
		case "Succeeded":
			return st
		case "Failed", "Unknown":
			diagnose(t, ns, kind, name)
			t.Fatalf("%s %s: %s", kind, name, st.Phase)
		}
		if time.Now().After(deadline) {
			diagnose(t, ns, kind, name)
			t.Fatalf("%s %s not Succeeded after %s (phase %q)", kind, name, timeout, st.Phase)
		}
		time.Sleep(2 * time.Second)
	}
}

func diagnose(t *testing.T, ns, kind, name string) {
	t.Helper()
	out, _ := kubectl(t, "", "-n", ns, "get", kind, name, "-o", "yaml")
	t.Logf("%s %s:\n%s", kind, name, out)
	out, _ = kubectl(t, "", "-n", ns, "get", "jobs,pods", "-o", "wide")
	t.Logf("jobs and pods:\n%s", out)
	pods, _ := kubectl(t, "", "-n", ns, "get", "pods", "-l", "job-name", "-o", "jsonpath={.items[*].metadata.name}")
	for _, p := range strings.Fields(pods) {
		out, _ = kubectl(t, "", "-n", ns, "logs", p, "--all-containers", "--prefix", "--tail=30")
		t.Logf("log tail of %s:\n%s", p, out)
	}
	out, _ = kubectl(t, "", "-n", ns, "get", "events", "--sort-by=.lastTimestamp")
	t.Logf("events:\n%s", out)
	out, _ = kubectl(t, "", "-n", "stash-system", "logs", "deployment/stash-operator", "--tail=30")
	t.Logf("operator log tail:\n%s", out)
}

// hostDir makes a directory on this machine (the node) that every uid can
// use: backup Jobs run as uid 65532.
func hostDir(t *testing.T, name string) string {
	t.Helper()
	base, err := os.MkdirTemp("/var/lib", "stash-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil { // not subject to the umask
		t.Fatal(err)
	}
	return dir
}

// writeSampleTree fills dir with files of assorted sizes (empty, small,
// several MiB of random bytes), nested directories and a symlink, all
// readable by any uid.
func writeSampleTree(t *testing.T, dir string) {
	t.Helper()
	write := func(rel string, data []byte, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	write("empty", nil, 0o644)
	write("hello.txt", []byte("hello, stash\n"), 0o644)
	write("script.sh", []byte("#!/bin/sh\necho hi\n"), 0o755)
	write("blobs/random-6MiB.bin", random(6<<20), 0o644)
	write("blobs/random-1KiB.bin", random(1024), 0o600|0o044)
	for i := range 50 {
		write(fmt.Sprintf("deep/a/b/c/file-%02d.txt", i), bytes.Repeat([]byte(fmt.Sprintf("line %d\n", i)), i*37), 0o644)
	}
	if err := os.Symlink("hello.txt", filepath.Join(dir, "link-to-hello")); err != nil {
		t.Fatal(err)
	}
	// Directories readable and searchable by uid 65532.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return err
	})
}

// tree describes every entry under dir: path, type, permission bits, and
// sha256 of a file's content or a symlink's target.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		var sum string
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			sum = "-> " + target
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(data)
			sum = fmt.Sprintf("%d bytes sha256 %s", len(data), hex.EncodeToString(h[:]))
		}
		out = append(out, fmt.Sprintf("%s %s %s", rel, info.Mode().String(), sum))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestPVCBackupRestore backs up a PVC with the catalog's pvc-backup Task
// into a local repository, restores it into a second, empty PVC with
// pvc-restore, and requires the two trees to be identical byte for byte.
func TestPVCBackupRestore(t *testing.T) {
	preflight(t)
	installOperator(t)

	stamp := time.Now().Unix()
	ns := fmt.Sprintf("e2e-pvc-%d", stamp)
	mustKubectl(t, "", "create", "namespace", ns)
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("E2E_KEEP") != "" {
			t.Logf("keeping namespace %s (E2E_KEEP)", ns)
			return
		}
		kubectl(t, "", "delete", "namespace", ns, "--wait=true", "--timeout=120s")
		kubectl(t, "", "delete", "pv", ns+"-source", ns+"-restored", "--wait=false")
	})

	src, dst, repo := hostDir(t, "source"), hostDir(t, "restored"), hostDir(t, "repo")
	writeSampleTree(t, src)
	want := tree(t, src)

	pv := func(name, path string) string {
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
	mustKubectl(t, pv("source", src)+"---\n"+pv("restored", dst)+fmt.Sprintf(`---
apiVersion: v1
kind: Secret
metadata: {name: repo-secret, namespace: %[1]s}
stringData: {RESTIC_PASSWORD: e2e-password}
---
apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata: {name: local-repo, namespace: %[1]s}
spec:
  backend:
    local:
      mountPath: /safe/data
      hostPath: {path: %[2]s, type: Directory}
    storageSecretName: repo-secret
---
apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: data-backup, namespace: %[1]s}
spec:
  schedule: "0 0 1 1 *"
  task: {name: pvc-backup}
  repository: {name: local-repo}
  target:
    ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: source}
    volumeMounts: [{name: source, mountPath: /source/data}]
    paths: [/source/data]
  retentionPolicy: {name: keep-last-2, keepLast: 2, prune: true}
`, ns, repo), "apply", "-f", "-")

	for _, pvc := range []string{"source", "restored"} {
		waitFor(t, 60*time.Second, "PVC "+pvc+" Bound", func() (bool, error) {
			out, err := kubectl(t, "", "-n", ns, "get", "pvc", pvc, "-o", "jsonpath={.status.phase}")
			return err == nil && out == "Bound", nil
		})
	}

	bs := fmt.Sprintf("data-backup-%d", time.Now().Unix())
	mustKubectl(t, fmt.Sprintf(`apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata:
  name: %[2]s
  namespace: %[1]s
  labels:
    app.kubernetes.io/component: stash-backup
    app.kubernetes.io/managed-by: stash.appscode.com
    stash.appscode.com/invoker-name: data-backup
    stash.appscode.com/invoker-type: BackupConfiguration
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: data-backup}
`, ns, bs), "apply", "-f", "-")
	st := waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	t.Logf("backup %s Succeeded in %s", bs, st.SessionDuration)

	waitFor(t, 60*time.Second, "Repository status.snapshotCount 1", func() (bool, error) {
		out, err := kubectl(t, "", "-n", ns, "get", "repository", "local-repo", "-o", "jsonpath={.status.snapshotCount}")
		return err == nil && out == "1", nil
	})

	rs := fmt.Sprintf("data-restore-%d", time.Now().Unix())
	mustKubectl(t, fmt.Sprintf(`apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  task: {name: pvc-restore}
  repository: {name: local-repo}
  target:
    ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: restored}
    volumeMounts: [{name: restored, mountPath: /source/data}]
  rules:
  - snapshots: [latest]
`, ns, rs), "apply", "-f", "-")
	st = waitSession(t, ns, "restoresession", rs, 5*time.Minute)
	t.Logf("restore %s Succeeded in %s", rs, st.SessionDuration)

	got := tree(t, dst)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("restored tree differs from the source\n--- source (%d entries)\n%s\n--- restored (%d entries)\n%s",
			len(want), strings.Join(want, "\n"), len(got), strings.Join(got, "\n"))
	}
	t.Logf("restored %d entries, identical to the source byte for byte", len(got))
}
