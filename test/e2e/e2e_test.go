//go:build e2e

// Package e2e runs backup and restore scenarios against a real cluster: the
// single-node cluster of hack/local-cluster.sh, on this machine, with the
// images of hack/build-images.sh imported. It installs the operator from the
// Helm chart (charts/stash, equal to config/default by test/chart) and works
// in a namespace of its own.
//
//	TIERS=cluster bash hack/setup-test-infra.sh
//	eval "export $(bash hack/local-cluster.sh up | grep '^KUBECONFIG=')"
//	bash hack/build-images.sh
//	go test -tags e2e -count=1 -v ./test/e2e/      (or: make test-e2e)
//
// Run as root: the PersistentVolumes are hostPath directories the test
// writes and reads directly. Environment: KUBECONFIG (required), KUBECTL
// (default $STASH_CI_CACHE/bin/kubectl), STASH_CI_CACHE (default
// /var/cache/stash-ci, for kubectl and restic), E2E_KEEP (keep the
// namespace of a failed test).
//
// `make test` runs all of this (hack/test.sh): it brings the cluster up,
// builds the images, and takes the cluster down again if it brought it up.
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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stash-operator/stash/internal/docexamples"
	"github.com/stash-operator/stash/internal/testenv"
)

var kubectlPath = func() string {
	if p := os.Getenv("KUBECTL"); p != "" {
		return p
	}
	return filepath.Join(cacheDir(), "bin", "kubectl")
}()

// sessionJobs selects the Jobs of sessions, and their pods: not those of a
// Repository (the sync of its Snapshot objects, unlock, check).
const sessionJobs = "stash.appscode.com/invoker-kind"

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

var operator struct {
	sync.Mutex
	installed bool
}

// installOperator installs the chart once per run and waits for the
// operator and the catalog it installs.
func installOperator(t *testing.T) {
	t.Helper()
	operator.Lock()
	defer operator.Unlock()
	if operator.installed {
		return
	}
	// From the chart, as the README installs it: the CRDs first (helm
	// installs a chart's CRDs once and never upgrades them), then the
	// release, taking over what an earlier run applied with kubectl.
	chart := filepath.Join(repoRoot(t), "charts", "stash")
	mustKubectl(t, "", "apply", "--server-side", "--force-conflicts", "-f", filepath.Join(chart, "crds"))
	helm := exec.Command(filepath.Join(cacheDir(), "bin", "helm"), "upgrade", "--install", "stash", chart,
		"--namespace", "stash-system", "--create-namespace", "--take-ownership", "--wait", "--timeout", "3m")
	if out, err := helm.CombinedOutput(); err != nil {
		t.Fatalf("helm upgrade --install: %v\n%s", err, out)
	}
	// A rebuilt stash:latest is only picked up by a new pod.
	mustKubectl(t, "", "-n", "stash-system", "rollout", "restart", "deployment/stash-operator")
	mustKubectl(t, "", "-n", "stash-system", "rollout", "status", "deployment/stash-operator", "--timeout=180s")
	for _, object := range []string{"task/pvc-backup", "task/pvc-restore", "task/postgres-backup-15", "task/postgres-restore-15",
		"task/mysql-backup-10.11", "task/mysql-restore-10.11", "task/mysql-backup-8.0.14", "task/postgres-backup-11.1", "task/workload-backup", "task/workload-restore", "function/update-status"} {
		kind, name, _ := strings.Cut(object, "/")
		waitFor(t, 60*time.Second, "catalog "+object, func() (bool, error) {
			_, err := kubectl(t, "", "get", kind+".stash.appscode.com", name)
			return err == nil, nil
		})
	}
	operator.installed = true
}

// setUp checks the cluster, installs the operator and makes a namespace of
// the test's own, deleted at the end unless the test failed and E2E_KEEP is
// set.
func setUp(t *testing.T, prefix string) string {
	t.Helper()
	preflight(t)
	installOperator(t)
	ns := fmt.Sprintf("e2e-%s-%d", prefix, time.Now().UnixNano()%1e9)
	mustKubectl(t, "", "create", "namespace", ns)
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("E2E_KEEP") != "" {
			t.Logf("keeping namespace %s (E2E_KEEP)", ns)
			return
		}
		kubectl(t, "", "delete", "namespace", ns, "--wait=true", "--timeout=120s")
	})
	return ns
}

// apply applies manifests in ns.
func apply(t *testing.T, ns, manifests string) {
	t.Helper()
	mustKubectl(t, manifests, "-n", ns, "apply", "-f", "-")
}

const resticPassword = "e2e-restic-password"

// localRepository makes a host directory and a Repository of the local
// backend on it, with its Secret, and returns the directory.
func localRepository(t *testing.T, ns, name string) string {
	t.Helper()
	dir := hostDir(t, "repo")
	apply(t, ns, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: %[1]s-secret}
stringData: {RESTIC_PASSWORD: %[3]s}
---
apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata: {name: %[1]s}
spec:
  backend:
    local:
      mountPath: /safe/data
      hostPath: {path: %[2]s, type: Directory}
    storageSecretName: %[1]s-secret
`, name, dir, resticPassword))
	return dir
}

// triggerBackup creates a BackupSession of the BackupConfiguration bc, as
// `kubectl create` of the README's backupsession.yaml does, and returns its name.
func triggerBackup(t *testing.T, ns, bc string) string {
	t.Helper()
	name := mustKubectl(t, fmt.Sprintf(`apiVersion: stash.appscode.com/v1beta1
kind: BackupSession
metadata:
  generateName: %[1]s-
  labels:
    stash.appscode.com/invoker-name: %[1]s
    stash.appscode.com/invoker-type: BackupConfiguration
spec:
  invoker: {apiGroup: stash.appscode.com, kind: BackupConfiguration, name: %[1]s}
`, bc), "-n", ns, "create", "-f", "-", "-o", "jsonpath={.metadata.name}")
	return strings.TrimSpace(name)
}

var cli struct {
	once sync.Once
	path string
	err  error
}

// stashCLI runs the stash command line, built once from this checkout, as a
// user runs it (KUBECONFIG from the environment) in namespace ns, and
// returns its output and exit status.
func stashCLI(t *testing.T, ns string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cli.once.Do(func() {
		dir, err := os.MkdirTemp("", "stash-e2e-cli-")
		if err != nil {
			cli.err = err
			return
		}
		cli.path = filepath.Join(dir, "stash")
		build := exec.Command("go", "build", "-o", cli.path, "./cmd/stash")
		build.Dir = repoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			cli.err = fmt.Errorf("go build ./cmd/stash: %w: %s", err, out)
		}
	})
	if cli.err != nil {
		t.Fatal(cli.err)
	}
	stdout, stderr, code = testenv.Run(t, exec.Command(cli.path, append(args, "-n", ns)...))
	t.Logf("stash %s -n %s: exit %d\n%s%s", strings.Join(args, " "), ns, code, stdout, stderr)
	return stdout, stderr, code
}

// created is the name of the session (kind backupsession or
// restoresession) that `stash trigger` or `stash restore` printed it created.
func created(t *testing.T, kind, stdout string) string {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		if ref, ok := strings.CutPrefix(line, kind+" "); ok && strings.HasSuffix(ref, " created") {
			_, name, _ := strings.Cut(strings.TrimSuffix(ref, " created"), "/")
			return name
		}
	}
	t.Fatalf("stash printed no %s it created:\n%s", kind, stdout)
	return ""
}

// readmeYAML is the README quick start's YAML block that starts "# name".
func readmeYAML(t *testing.T, name string) string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := docexamples.Blocks(md)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	b, err := docexamples.Named(blocks, name)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	return b.Text
}

// jsonpath reads one field of an object.
func jsonpath(t *testing.T, ns, kind, name, path string) string {
	t.Helper()
	return strings.TrimSpace(mustKubectl(t, "", "-n", ns, "get", kind, name, "-o", "jsonpath={"+path+"}"))
}

// waitSnapshotCount waits until the Repository's status shows want snapshots.
func waitSnapshotCount(t *testing.T, ns, repository string, want int) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("Repository %s status.snapshotCount %d", repository, want), func() (bool, error) {
		return jsonpath(t, ns, "repository", repository, ".status.snapshotCount") == fmt.Sprint(want), nil
	})
}

// resticSnapshots lists the snapshots in a local repository directory with
// the restic binary itself, independently of what the operator reports.
func resticSnapshots(t *testing.T, dir, password string) []string {
	t.Helper()
	bin := filepath.Join(cacheDir(), "bin", "restic")
	cmd := exec.Command(bin, "-r", dir, "--no-cache", "--no-lock", "snapshots", "--json")
	cmd.Env = append(os.Environ(), "RESTIC_PASSWORD="+password)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("restic snapshots of %s: %v", dir, err)
	}
	var snaps []struct {
		ShortID string `json:"short_id"`
	}
	if err := json.Unmarshal(out, &snaps); err != nil {
		t.Fatalf("restic snapshots: %v: %s", err, out)
	}
	ids := make([]string, len(snaps))
	for i, s := range snaps {
		ids[i] = s.ShortID
	}
	return ids
}

func cacheDir() string {
	if d := os.Getenv("STASH_CI_CACHE"); d != "" {
		return d
	}
	return "/var/cache/stash-ci"
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
		Name, Function, Phase, Reason, Message string
		ExitCode                               *int32
	} `json:"steps"`
	Targets []struct {
		Stats []struct {
			Hostname, Phase, Error string
		} `json:"stats"`
	} `json:"targets"`
}

// waitFinished waits until the session reaches a final phase and returns
// its status; on timeout it logs the diagnosis and fails.
func waitFinished(t *testing.T, ns, kind, name string, timeout time.Duration) sessionStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		out, err := kubectl(t, "", "-n", ns, "get", kind, name, "-o", "jsonpath={.status}")
		if err != nil {
			t.Fatal(err)
		}
		var st sessionStatus
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
		case "Succeeded", "Failed", "Unknown", "Skipped":
			return st
		}
		if time.Now().After(deadline) {
			diagnose(t, ns, kind, name)
			t.Fatalf("%s %s not finished after %s (phase %q)", kind, name, timeout, st.Phase)
		}
		time.Sleep(2 * time.Second)
	}
}

// waitSession waits until the session is Succeeded; any other final phase
// logs the diagnosis and fails the test.
func waitSession(t *testing.T, ns, kind, name string, timeout time.Duration) sessionStatus {
	t.Helper()
	st := waitFinished(t, ns, kind, name, timeout)
	if st.Phase != "Succeeded" {
		diagnose(t, ns, kind, name)
		t.Fatalf("%s %s: %s", kind, name, st.Phase)
	}
	return st
}

// condition returns the session's Succeeded condition.
func (st sessionStatus) condition() (reason, message string) {
	for _, c := range st.Conditions {
		if c.Type == "Succeeded" {
			return c.Reason, c.Message
		}
	}
	return "", ""
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
	// An owner that is neither root nor the backups' user: only a restore
	// that runs as root can give it back.
	if err := os.Lchown(filepath.Join(dir, "hello.txt"), 1234, 2345); err != nil {
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

// tree describes every entry under dir: path, type, permission bits,
// owner, and sha256 of a file's content or a symlink's target.
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
		owner := "?"
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			owner = fmt.Sprintf("%d:%d", st.Uid, st.Gid)
		}
		out = append(out, fmt.Sprintf("%s %s %s %s", rel, info.Mode().String(), owner, sum))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
