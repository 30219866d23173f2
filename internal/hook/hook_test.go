package hook

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/function"
)

// fakeExec answers each command from a table: what the API server's
// pods/exec would return. A command "block" waits for its context.
type fakeExec struct {
	ran     []string // "pod/container: command"
	answers map[string]Output
}

func (f *fakeExec) Exec(ctx context.Context, _, pod, container string, command []string) (Output, error) {
	line := strings.Join(command, " ")
	f.ran = append(f.ran, pod+"/"+container+": "+line)
	if line == "block" {
		<-ctx.Done()
		return Output{}, ctx.Err()
	}
	return f.answers[line], nil
}

func targetPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "db", Ports: []corev1.ContainerPort{{Name: "admin", ContainerPort: 1}}}, {Name: "sidecar"}}},
		Status: corev1.PodStatus{PodIP: "127.0.0.1"}}
}

func execHook(command ...string) stashv1beta1.Handler {
	return stashv1beta1.Handler{Exec: &corev1.ExecAction{Command: command}}
}

func withPolicy(h stashv1beta1.Handler, p stashv1beta1.HookExecutionPolicy) stashv1beta1.Handler {
	h.ExecutionPolicy = p
	return h
}

func TestRunOrderPoliciesAndFailures(t *testing.T) {
	answers := map[string]Output{"fail": {ExitCode: 3, Text: "cannot freeze: disk busy\n"}, "ok": {Text: "frozen\n"}}
	sidecar := execHook("ok")
	sidecar.ContainerName = "sidecar"
	tests := map[string]struct {
		phase         string
		hooks         []stashv1beta1.Handler
		dataSucceeded bool
		wantRan       []string
		wantResults   []string
	}{
		"pre hooks run in order, in the target's first container unless named": {
			phase: PreBackup, hooks: []stashv1beta1.Handler{execHook("ok"), sidecar},
			wantRan:     []string{"db-0/db: ok", "db-0/sidecar: ok"},
			wantResults: []string{"hook 1 (exec [ok] in pod db-0, container db) succeeded in 0s: frozen", "hook 2 (exec [ok] in pod db-0, container sidecar) succeeded in 0s: frozen"},
		},
		"a failed pre hook stops the phase": {
			phase: PreRestore, hooks: []stashv1beta1.Handler{execHook("fail"), execHook("ok")},
			wantRan:     []string{"db-0/db: fail"},
			wantResults: []string{"hook 1 (exec [fail] in pod db-0, container db) failed after 0s: exit code 3: cannot freeze: disk busy"},
		},
		"post hooks all run, whatever the ones before did": {
			phase: PostBackup, dataSucceeded: true, hooks: []stashv1beta1.Handler{execHook("fail"), execHook("ok")},
			wantRan: []string{"db-0/db: fail", "db-0/db: ok"},
			wantResults: []string{"hook 1 (exec [fail] in pod db-0, container db) failed after 0s: exit code 3: cannot freeze: disk busy",
				"hook 2 (exec [ok] in pod db-0, container db) succeeded in 0s: frozen"},
		},
		"after a failed backup: Always and OnFailure run, OnSuccess does not": {
			phase: PostBackup, dataSucceeded: false,
			hooks:   []stashv1beta1.Handler{execHook("ok"), withPolicy(execHook("alert"), stashv1beta1.HookOnFailure), withPolicy(execHook("report"), stashv1beta1.HookOnSuccess)},
			wantRan: []string{"db-0/db: ok", "db-0/db: alert"},
			wantResults: []string{"hook 1 (exec [ok] in pod db-0, container db) succeeded in 0s: frozen", "hook 2 (exec [alert] in pod db-0, container db) succeeded in 0s",
				"hook 3 (exec [report] in pod db-0, container db) skipped: executionPolicy OnSuccess, and the backup failed"},
		},
		"after a restore that succeeded, OnFailure does not run": {
			phase: PostRestore, dataSucceeded: true, hooks: []stashv1beta1.Handler{withPolicy(execHook("alert"), stashv1beta1.HookOnFailure)},
			wantResults: []string{"hook 1 (exec [alert] in pod db-0, container db) skipped: executionPolicy OnFailure, and the restore succeeded"},
		},
		"a container the pod does not have": {
			phase: PreBackup, hooks: []stashv1beta1.Handler{{Exec: &corev1.ExecAction{Command: []string{"ok"}}, ContainerName: "dbb"}},
			wantResults: []string{`hook 1 (exec [ok] in pod db-0, container dbb) failed after 0s: pod db-0 has no container "dbb" (containerName); it has db, sidecar`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			exec := &fakeExec{answers: answers}
			r := &Runner{Phase: tc.phase, Namespace: "demo", Target: Target{Pod: targetPod()}, Exec: exec, Now: func() time.Time { return time.Unix(0, 0) }}
			var got []string
			for _, res := range r.Run(context.Background(), tc.hooks, tc.dataSucceeded) {
				got = append(got, res.String())
			}
			if diff := cmp.Diff(tc.wantResults, got); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRan, exec.ran); diff != "" {
				t.Errorf("commands run (-want +got):\n%s", diff)
			}
		})
	}
}

// A hook that does not end within timeoutSeconds fails, saying so.
func TestHookTimeout(t *testing.T) {
	h := execHook("block")
	h.TimeoutSeconds = ptr.To[int32](1)
	r := &Runner{Phase: PreBackup, Target: Target{Pod: targetPod()}, Exec: &fakeExec{}}
	start := time.Now()
	res := r.Run(context.Background(), []stashv1beta1.Handler{h}, true)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the hook ran %s, past its 1 s timeout", took)
	}
	if len(res) != 1 || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "timed out after 1s (timeoutSeconds)") {
		t.Fatalf("results %+v: want a timeout", res)
	}
}

// An exec with no pod to run in fails clearly.
func TestExecWithoutPod(t *testing.T) {
	r := &Runner{Phase: PreBackup, Exec: &fakeExec{}}
	res := r.Run(context.Background(), []stashv1beta1.Handler{execHook("sync")}, true)
	if len(res) != 1 || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "no pod of the target ran") {
		t.Fatalf("results %+v", res)
	}
}

// HTTP hooks act as HTTP probes: 2xx and 3xx succeed; the pod's IP and
// named ports when the hook names neither host nor number.
func TestHTTPHooks(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		got = append(got, req.Method+" "+req.URL.RequestURI()+" host="+req.Host+" type="+req.Header.Get("Content-Type")+" x="+req.Header.Get("X-Stash")+" body="+string(body))
		if strings.HasPrefix(req.URL.Path, "/broken") {
			http.Error(w, "the flush failed", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	_, portText, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(portText)
	pod := targetPod()
	pod.Spec.Containers[0].Ports[0].ContainerPort = int32(port)

	tests := map[string]struct {
		hook    stashv1beta1.Handler
		want    string
		wantErr string
	}{
		"GET to the pod's named port, with a header": {
			hook: stashv1beta1.Handler{HTTPGet: &corev1.HTTPGetAction{Path: "/flush?wait=1", Port: intstr.FromString("admin"),
				HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Stash", Value: "1"}, {Name: "Host", Value: "db.example"}}}},
			want: "GET /flush?wait=1 host=db.example type= x=1 body=",
		},
		"POST of a body to a host and port": {
			hook: stashv1beta1.Handler{HTTPPost: &stashv1beta1.HTTPPostAction{Host: "127.0.0.1", Port: intstr.FromInt32(int32(port)), Path: "done",
				Body: `{"ok":true}`, HTTPHeaders: []corev1.HTTPHeader{{Name: "Content-Type", Value: "application/json"}}}},
			want: `POST /done host=127.0.0.1:` + portText + ` type=application/json x= body={"ok":true}`,
		},
		"POST of a form": {
			hook: stashv1beta1.Handler{HTTPPost: &stashv1beta1.HTTPPostAction{Port: intstr.FromInt32(int32(port)), Path: "/form",
				Form: []stashv1beta1.FormEntry{{Key: "phase", Values: []string{"postBackup"}}}}},
			want: "POST /form host=127.0.0.1:" + portText + " type=application/x-www-form-urlencoded x= body=phase=postBackup",
		},
		"a 500 fails, with the body": {
			hook:    stashv1beta1.Handler{HTTPGet: &corev1.HTTPGetAction{Path: "/broken", Port: intstr.FromInt32(int32(port))}},
			want:    "GET /broken host=127.0.0.1:" + portText + " type= x= body=",
			wantErr: "HTTP status 500 Internal Server Error: the flush failed",
		},
		"a port name the pod does not have": {
			hook:    stashv1beta1.Handler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("metrics")}},
			wantErr: `pod db-0 has no container port named "metrics"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got = nil
			r := &Runner{Phase: PostBackup, Target: Target{Pod: pod}}
			res := r.Run(context.Background(), []stashv1beta1.Handler{tc.hook}, true)[0]
			if tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
				t.Errorf("the server saw %q, want %q", got, tc.want)
			}
			switch {
			case tc.wantErr == "" && res.Err != nil:
				t.Errorf("failed: %s", res)
			case tc.wantErr != "" && (res.Err == nil || !strings.Contains(res.String(), tc.wantErr)):
				t.Errorf("result %q, want it to fail with %q", res, tc.wantErr)
			}
		})
	}
}

func TestTCPHook(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := l.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	defer l.Close()

	r := &Runner{Phase: PreBackup, Target: Target{Pod: targetPod()}}
	res := r.Run(context.Background(), []stashv1beta1.Handler{{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(open))}}}, true)
	if res[0].Err != nil {
		t.Errorf("open port: %s", res[0])
	}
	res = r.Run(context.Background(), []stashv1beta1.Handler{{TCPSocket: &corev1.TCPSocketAction{Host: "127.0.0.1", Port: intstr.FromInt32(int32(closedPort))}}}, true)
	if res[0].Err == nil || !strings.Contains(res[0].String(), "connection refused") {
		t.Errorf("closed port: %s; want connection refused", res[0])
	}
}

// A failed post hook fails the host in output.json, names the hook phase
// and keeps the snapshot; a failed pre hook is an error, and either way the
// summary is the termination message.
func TestRunRecordsFailures(t *testing.T) {
	backedUp := function.BackupOutput{HostBackupStats: []stashv1beta1.HostBackupStats{{Hostname: "host-0", Phase: stashv1beta1.HostBackupSucceeded,
		Snapshots: []stashv1beta1.SnapshotStats{{Name: "a1b2c3d4", Path: "/source/data"}}}}}
	hooks := []stashv1beta1.Handler{execHook("fail")}
	exec := &fakeExec{answers: map[string]Output{"fail": {ExitCode: 1, Text: "unfreeze: not frozen"}}}

	t.Run("post", func(t *testing.T) {
		dir := t.TempDir()
		if err := function.WriteBackupOutput(dir, backedUp); err != nil {
			t.Fatal(err)
		}
		o := Options{HookType: PostBackup, OutputDir: dir, TerminationLog: filepath.Join(dir, "termination-log")}
		r := &Runner{Phase: PostBackup, Target: Target{Pod: targetPod()}, Exec: exec, Now: func() time.Time { return time.Unix(0, 0) }}
		if err := o.run(context.Background(), r, hooks, io.Discard); err != nil {
			t.Fatalf("a post hook failure must be recorded, not returned: %v", err)
		}
		out, err := function.ReadBackupOutput(dir)
		if err != nil {
			t.Fatal(err)
		}
		h := out.HostBackupStats[0]
		wantErr := "postBackup: hook 1 (exec [fail] in pod db-0, container db) failed after 0s: exit code 1: unfreeze: not frozen; " +
			"the backup itself succeeded: snapshot a1b2c3d4 was taken and is kept"
		if h.Phase != stashv1beta1.HostBackupFailed || h.FailedHook != PostBackup || h.Error != wantErr || len(h.Snapshots) != 1 {
			t.Errorf("host %+v\nwant Failed, failedHook postBackup, error %q and the snapshot kept", h, wantErr)
		}
		if msg, _ := os.ReadFile(o.TerminationLog); !strings.HasPrefix(string(msg), "postBackup: hook 1") {
			t.Errorf("termination message %q", msg)
		}
	})
	t.Run("post without output.json", func(t *testing.T) {
		o := Options{HookType: PostBackup, OutputDir: t.TempDir()}
		r := &Runner{Phase: PostBackup, Target: Target{Pod: targetPod()}, Exec: exec}
		if err := o.run(context.Background(), r, hooks, io.Discard); err == nil || !strings.Contains(err.Error(), "cannot be recorded") {
			t.Fatalf("err %v: want the failure returned, since nothing can record it", err)
		}
	})
	t.Run("pre", func(t *testing.T) {
		dir := t.TempDir()
		o := Options{HookType: PreBackup, TerminationLog: filepath.Join(dir, "termination-log")}
		r := &Runner{Phase: PreBackup, Target: Target{Pod: targetPod()}, Exec: exec}
		err := o.run(context.Background(), r, hooks, io.Discard)
		if !errors.Is(err, ErrHookFailed) || !strings.Contains(err.Error(), "unfreeze: not frozen") {
			t.Fatalf("err %v: want ErrHookFailed with the hook's output", err)
		}
		if msg, _ := os.ReadFile(o.TerminationLog); !strings.Contains(string(msg), "exit code 1") {
			t.Errorf("termination message %q", msg)
		}
	})
}
