// Package testenv gives tests the real infrastructure they need: an envtest
// control plane (kube-apiserver + etcd), an S3 server, PostgreSQL and MariaDB,
// each started on 127.0.0.1 by the scripts in hack/ and stopped by PID.
//
// Missing infrastructure fails the test in CI (CI=true or STASH_REQUIRE_INFRA
// set) and skips it elsewhere, with a message saying how to get it. A broken
// setup must never turn CI green by skipping everything.
package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// SetupHint tells a developer how to get the infrastructure.
const SetupHint = `run: eval "$(sudo hack/setup-test-infra.sh | sed 's/^/export /')"`

// InfraRequired reports whether missing infrastructure is a failure rather
// than a reason to skip.
func InfraRequired() bool {
	return os.Getenv("CI") == "true" || os.Getenv("STASH_REQUIRE_INFRA") != ""
}

// skipInShortMode skips infrastructure tests under `go test -short` (make test-unit).
func skipInShortMode(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs real infrastructure; skipped in -short mode (run make test)")
	}
}

// Unavailable skips or fails t because what is missing.
func Unavailable(t testing.TB, what string) {
	t.Helper()
	msg := fmt.Sprintf("%s is not available: %s", what, SetupHint)
	if InfraRequired() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RepoRoot is the root of this repository, found from this file's location so
// that tests work from any package directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// LookBinary finds an infrastructure binary in $STASH_INFRA_BIN, then on PATH.
func LookBinary(name string) (string, error) {
	if dir := os.Getenv("STASH_INFRA_BIN"); dir != "" {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found in $STASH_INFRA_BIN or PATH", name)
	}
	return p, nil
}

// Binary is LookBinary that skips or fails t when the binary is missing.
func Binary(t testing.TB, name string) string {
	t.Helper()
	skipInShortMode(t)
	p, err := LookBinary(name)
	if err != nil {
		Unavailable(t, name)
	}
	return p
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// runScript runs hack/<script> with args and returns the KEY=VALUE pairs it
// printed on its last line of stdout.
func runScript(script string, env []string, args ...string) (map[string]string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(RepoRoot(), "hack", script)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("hack/%s %s: %w: %s", script, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	vars := map[string]string{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		for _, field := range strings.Fields(sc.Text()) {
			if k, v, ok := strings.Cut(field, "="); ok {
				vars[k] = v
			}
		}
	}
	return vars, nil
}

// stopServers stops what a start script started in dir, by PID.
func stopServers(dir string) {
	_ = exec.Command("bash", filepath.Join(RepoRoot(), "hack", "stop-servers.sh"), dir).Run()
}

// serverDir makes a directory for one server's data, outside the test's
// TempDir because databases drop privileges and need a world-traversable path.
func serverDir(t testing.TB, kind string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "stash-test-"+kind+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Run runs cmd to its end, as a user runs a command line, and returns its
// output and exit status; a command that could not be run at all fails t.
func Run(t testing.TB, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code = ExitCode(t, cmd.Run(), &out, &errb)
	return out.String(), errb.String(), code
}

// ExitCode is the exit status of a command that ended with err (what Run
// or Wait returned); an error other than a non-zero exit fails t, with the
// output so far.
func ExitCode(t testing.TB, err error, stdout, stderr fmt.Stringer) int {
	t.Helper()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("run: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	return -1
}
