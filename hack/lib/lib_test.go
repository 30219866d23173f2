// Package lib_test tests the shell helpers of hack/lib that every hack/
// script sources: they run in bash, here, as the scripts run them.
package lib_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bash runs script with the helpers of hack/lib sourced and returns its
// stdout, its stderr and its exit status.
func bash(t *testing.T, script string, env ...string) (stdout, stderr string, status int) {
	t.Helper()
	lib, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", "set -euo pipefail\nsource "+lib+"/common.sh\nsource "+lib+"/proc.sh\n"+script)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	return out.String(), errOut.String(), 0
}

// killRecorded kills the processes whose PID files are in dir, when the test
// ends.
func killRecorded(t *testing.T, dir string) {
	t.Cleanup(func() {
		files, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			if pid, err := strconv.Atoi(strings.Fields(string(b) + " x")[0]); err == nil && pid > 1 {
				if p, err := os.FindProcess(pid); err == nil {
					_ = p.Kill()
				}
			}
		}
	})
}

// The check right after a start must see the daemon, every time: matching
// /proc/PID/cmdline missed about one child in seven, whose exec had not
// happened yet, and local-cluster.sh up then said "exited".
func TestDaemonIsSeenRightAfterItsStart(t *testing.T) {
	dir := t.TempDir()
	killRecorded(t, dir)
	const starts = 200
	out, stderr, status := bash(t, fmt.Sprintf(`
missed=0
for i in $(seq %d); do
  pid=$(daemon_start "$DIR/d$i.pid" "$DIR/d.log" sleep 60)
  seen=$(daemon_pid "$DIR/d$i.pid") || { missed=$((missed + 1)); continue; }
  [ "$seen" = "$pid" ] || { echo "daemon_pid said $seen, daemon_start $pid" >&2; exit 1; }
done
echo "$missed"`, starts), "DIR="+dir)
	if status != 0 {
		t.Fatalf("exit status %d: %s", status, stderr)
	}
	if missed := strings.TrimSpace(out); missed != "0" {
		t.Errorf("daemon_pid right after daemon_start missed %s of %d daemons", missed, starts)
	}
}

// A daemon holds no descriptor of its starter but its own log: one that kept
// the write end of a pipe (| tee, a process substitution) kept its reader
// from ever seeing end-of-file, so `make demo | tee` never returned.
func TestDaemonHoldsNoInheritedDescriptor(t *testing.T) {
	dir := t.TempDir()
	killRecorded(t, dir)
	out, stderr, status := bash(t, `
exec 7>"$DIR/held-open"
exec 8> >(cat >/dev/null)
daemon_start "$DIR/d.pid" "$DIR/d.log" sleep 60`, "DIR="+dir)
	if status != 0 {
		t.Fatalf("exit status %d: %s", status, stderr)
	}
	pid := strings.TrimSpace(out)
	want := map[string]string{"0": "/dev/null", "1": filepath.Join(dir, "d.log"), "2": filepath.Join(dir, "d.log")}
	// Right after its start the daemon may still hold a file of its own
	// start-up (sleep reads /etc/locale.alias): look until it settles. An
	// inherited descriptor never goes away.
	var got map[string]string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		fds, err := os.ReadDir("/proc/" + pid + "/fd")
		if err != nil {
			t.Fatal(err)
		}
		got = map[string]string{}
		for _, fd := range fds {
			target, _ := os.Readlink(filepath.Join("/proc", pid, "fd", fd.Name()))
			got[fd.Name()] = target
		}
		if fmt.Sprint(sorted(got)) == fmt.Sprint(sorted(want)) || time.Now().After(deadline) {
			break
		}
	}
	if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
		t.Errorf("the daemon's descriptors are\n  %v\nwant only\n  %v", sorted(got), sorted(want))
	}
}

func sorted(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+" -> "+v)
	}
	sort.Strings(out)
	return out
}

// A PID file names our process only while that very process runs: not
// after it exited (a zombie included), and not when its PID now belongs
// to another process.
func TestDaemonPIDIsOnlyThatProcess(t *testing.T) {
	dir := t.TempDir()
	// A child that has exited but is not reaped yet: a zombie.
	zombie := exec.Command("sleep", "0.2")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = zombie.Wait() })
	start := startTime(t, zombie.Process.Pid)
	waitForState(t, zombie.Process.Pid, "Z")

	cases := map[string]string{
		"a zombie":                      fmt.Sprintf("%d %s", zombie.Process.Pid, start),
		"a live process, other start":   fmt.Sprintf("%d 1", os.Getpid()),
		"a PID without its start time":  strconv.Itoa(os.Getpid()),
		"a PID that nothing runs under": "4194304 1",
		"an empty file":                 "",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".pid")
			if err := os.WriteFile(f, []byte(content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, _, status := bash(t, `daemon_pid "$F"`, "F="+f)
			if status == 0 {
				t.Errorf("daemon_pid of %q printed %q and succeeded; want a failure", content, out)
			}
		})
	}
	t.Run("this test's own process", func(t *testing.T) {
		f := filepath.Join(dir, "self.pid")
		self := fmt.Sprintf("%d %s\n", os.Getpid(), startTime(t, os.Getpid()))
		if err := os.WriteFile(f, []byte(self), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, status := bash(t, `daemon_pid "$F"`, "F="+f)
		if status != 0 || strings.TrimSpace(out) != strconv.Itoa(os.Getpid()) {
			t.Errorf("daemon_pid = %q, exit status %d (%s); want %d", out, status, stderr, os.Getpid())
		}
	})
}

// daemon_stop ends what it started, with SIGKILL for a daemon that ignores
// SIGTERM, and removes the PID files.
func TestDaemonStop(t *testing.T) {
	dir := t.TempDir()
	killRecorded(t, dir)
	out, stderr, status := bash(t, `
daemon_start "$DIR/polite.pid" "$DIR/d.log" sleep 60 >/dev/null
daemon_start "$DIR/stubborn.pid" "$DIR/d.log" bash -c 'trap "" TERM; while :; do sleep 0.1; done' >/dev/null
cp "$DIR/polite.pid" "$DIR/polite.was"; cp "$DIR/stubborn.pid" "$DIR/stubborn.was"
daemon_stop 1 "$DIR/polite.pid" "$DIR/stubborn.pid"
for f in polite stubborn; do
  if daemon_pid "$DIR/$f.was" >/dev/null; then echo "$f still runs"; fi
  if [ -e "$DIR/$f.pid" ]; then echo "$f.pid still there"; fi
done`, "DIR="+dir)
	if status != 0 || strings.TrimSpace(out) != "" {
		t.Fatalf("exit status %d, stdout %q, stderr %s", status, out, stderr)
	}
	for _, want := range []string{"stopped polite", "stubborn (pid", "ignored SIGTERM for 1s: SIGKILL", "stopped stubborn"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("daemon_stop's log lacks %q:\n%s", want, stderr)
		}
	}
}

// A failing step of the demo shows why it failed, not only that it did:
// its progress is filtered, its reason is not.
func TestRunLoggedShowsTheReasonOfAFailure(t *testing.T) {
	failing := `run_logged "$DIR/up.log" 'started|cluster up' bash -c '
echo "[local-cluster 0.1s] started etcd (pid 1)" >&2
echo "[local-cluster 0.2s] some detail nobody needs" >&2
echo "[local-cluster 0.3s] ERROR: etcd exited; the last lines of etcd.log:" >&2
echo "flag provided but not defined: -bogus" >&2
echo "KUBECONFIG=/nowhere"
exit 3'`
	cases := map[string]struct {
		script     string
		wantStatus int
		wantStdout string
		want       []string
		notWant    []string
	}{
		"failure": {
			script: failing, wantStatus: 3, wantStdout: "KUBECONFIG=/nowhere",
			want: []string{"started etcd (pid 1)", "(exit status 3)", "ERROR: etcd exited", "flag provided but not defined: -bogus"},
		},
		"success": {
			script:     `run_logged "$DIR/up.log" 'started' bash -c 'echo "started etcd" >&2; echo "detail" >&2; echo out'`,
			wantStdout: "out", want: []string{"started etcd"}, notWant: []string{"detail", "failed"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			out, stderr, status := bash(t, tc.script, "DIR="+dir)
			if status != tc.wantStatus || strings.TrimSpace(out) != tc.wantStdout {
				t.Errorf("exit status %d, stdout %q; want %d, %q", status, out, tc.wantStatus, tc.wantStdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(stderr, w) {
					t.Errorf("stderr has %q:\n%s", w, stderr)
				}
			}
			if whole, err := os.ReadFile(filepath.Join(dir, "up.log")); err != nil || !strings.Contains(string(whole), "detail") {
				t.Errorf("the log file does not hold the whole stderr (%v):\n%s", err, whole)
			}
		})
	}
}

// The Dockerfile and hack/build-images.sh build the stash image from one
// recipe, hack/image; what the Dockerfile must spell out itself is equal to
// it and to hack/versions.env.
func TestDockerfileFollowsTheImageRecipe(t *testing.T) {
	recipe := readEnv(t, "../image/stash.env")
	versions := readEnv(t, "../versions.env")
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(dockerfile), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{
		"FROM debian:" + recipe["SUITE"] + "-slim",
		"ARG RESTIC_VERSION=" + versions["RESTIC_VERSION"],
		"COPY hack/image/stash.env hack/image/stash-rootfs.sh /tmp/image/",
		"&& apt-get install -y --no-install-recommends $PACKAGES \\",
		"&& sh /tmp/image/stash-rootfs.sh / \\",
		"USER " + recipe["IMAGE_USER"],
		"WORKDIR " + recipe["IMAGE_WORKDIR"],
		`ENTRYPOINT ["` + recipe["IMAGE_ENTRYPOINT"] + `"]`,
	} {
		if !lines[want] {
			t.Errorf("the Dockerfile has no line %q", want)
		}
	}
}

var assignment = regexp.MustCompile(`^([A-Z_]+)="?([^"]*)"?$`)

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := assignment.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
			env[m[1]] = m[2]
		}
	}
	return env
}

// startTime is field 22 of /proc/PID/stat.
func startTime(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndex(s, ")")+1:])[19]
}

func waitForState(t *testing.T, pid int, state string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil {
			s := string(b)
			if strings.Fields(s[strings.LastIndex(s, ")")+1:])[0] == state {
				return
			}
		}
	}
	t.Fatalf("process %d never reached state %s", pid, state)
}

// Two test runs on one machine: cleaning up the first stops the processes
// that name its directory and removes it, and leaves the second run's
// process and directory alone.
func TestRunTmpCleanupLeavesOtherRuns(t *testing.T) {
	out, stderr, status := bash(t, `
a=$(run_tmp_create); b=$(run_tmp_create)
perl -e 'sleep 60' "$a/apiserver" >/dev/null 2>&1 & pa=$!
perl -e 'sleep 60' "$b/apiserver" >/dev/null 2>&1 & pb=$!
sleep 0.2
run_tmp_cleanup "$a"
wait "$pa" 2>/dev/null || true
alive() { kill -0 "$1" 2>/dev/null && echo alive || echo gone; }
echo "a: $(alive "$pa") $([ -d "$a" ] && echo kept || echo removed)"
echo "b: $(alive "$pb") $([ -d "$b" ] && echo kept || echo removed) $(stat -c %a "$b")"
run_tmp_cleanup "$b"
`)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	want := "a: gone removed\nb: alive kept 1777\n"
	if out != want {
		t.Errorf("got\n%swant\n%s", out, want)
	}
}

// The bridge keeps its MAC while pods' veths come and go: a bridge takes the
// lowest MAC of its ports unless its own was set, and pods then sent to the
// gateway's old MAC until their ARP entry expired (DNS lookups stalled 10 s
// in e2e). network_up runs in a network namespace of its own, as root.
func TestBridgeKeepsItsMACWhilePortsComeAndGo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a bridge and veths in a new network namespace")
	}
	for _, tool := range []string{"unshare", "ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	lib, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	script := `set -euo pipefail
source ` + lib + `/common.sh
source ` + lib + `/cluster-host.sh
bridge=testbr0 gw=10.250.0.1 pod_cidr=10.250.0.0/24 svc_cidr=10.251.0.0/24
mac() { ip -br link show dev "$bridge" | awk '{print $3}'; }
ip link set lo up
network_up 2>/dev/null
echo "up: $(mac)"
# A port whose MAC is lower than the bridge's, then its removal.
ip link add vtest0 address 02:00:00:00:00:01 type veth peer name vtest1
ip link set vtest0 master "$bridge" up
ip link set vtest1 up
echo "port added: $(mac)"
ip link del vtest0
echo "port removed: $(mac)"
network_up 2>/dev/null
echo "up again: $(mac)"
`
	cmd := exec.Command("unshare", "--net", "bash", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "up: 02:00:0a:fa:00:01\nport added: 02:00:0a:fa:00:01\nport removed: 02:00:0a:fa:00:01\nup again: 02:00:0a:fa:00:01\n"
	if string(out) != want {
		t.Errorf("got\n%swant\n%s", out, want)
	}
}
