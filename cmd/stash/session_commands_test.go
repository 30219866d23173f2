package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/testenv"
)

// syncBuffer is a command's output that the test reads while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cliWorld is a namespace with the BackupConfiguration db-backup and a
// kubeconfig (in KUBECONFIG, as a user has it) whose context is that
// namespace. The test plays the operator: it writes the sessions' status.
type cliWorld struct {
	*testenv.Env
	kubeconfig string
	seen       map[string]bool // sessions already there
}

func newCLIWorld(t *testing.T) *cliWorld {
	e := testenv.NewEnv(t, time.Now())
	e.Apply("testdata/cli/backup.yaml")
	return &cliWorld{Env: e, kubeconfig: testenv.Shared(t).Kubeconfig(t, e.Namespace), seen: map[string]bool{}}
}

// with is w for the subtest t.
func (w *cliWorld) with(t *testing.T) *cliWorld {
	sub := *w
	sub.Env = w.Env.With(t)
	return &sub
}

// start runs stash with args, as the user of the world's kubeconfig.
func (w *cliWorld) start(args ...string) (cmd *exec.Cmd, stdout, stderr *syncBuffer) {
	w.T.Helper()
	cmd = exec.Command(stashBinary, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+w.kubeconfig)
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		w.T.Fatal(err)
	}
	return cmd, stdout, stderr
}

// run runs stash with args to its end.
func (w *cliWorld) run(args ...string) (stdout, stderr string, code int) {
	w.T.Helper()
	cmd, out, errb := w.start(args...)
	code = testenv.ExitCode(w.T, cmd.Wait(), out, errb)
	return out.String(), errb.String(), code
}

// newSession waits for a BackupSession the world has not seen yet.
func (w *cliWorld) newSession() *stashv1beta1.BackupSession {
	w.T.Helper()
	return w.waitNew(&stashv1beta1.BackupSessionList{}).(*stashv1beta1.BackupSession)
}

// newRestore waits for a RestoreSession the world has not seen yet.
func (w *cliWorld) newRestore() *stashv1beta1.RestoreSession {
	w.T.Helper()
	return w.waitNew(&stashv1beta1.RestoreSessionList{}).(*stashv1beta1.RestoreSession)
}

// waitNew waits until a List into list holds an object the world has not
// seen yet, and returns it.
func (w *cliWorld) waitNew(list client.ObjectList) client.Object {
	w.T.Helper()
	var found client.Object
	w.Eventually(fmt.Sprintf("a new item of %T", list), func() error {
		if err := w.Client.List(w.Ctx, list, client.InNamespace(w.Namespace)); err != nil {
			return err
		}
		items, err := apimeta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, item := range items {
			if obj := item.(client.Object); !w.seen[obj.GetName()] {
				found = obj
				w.seen[obj.GetName()] = true
				return nil
			}
		}
		return fmt.Errorf("none yet")
	})
	return found
}

// setStatus writes the session status of testdata/cli/<fixture>.yaml on
// session, as the operator would, with the session's own Job name.
func (w *cliWorld) setStatus(session interface {
	client.Object
	SessionStatus() *stashv1beta1.SessionStatus
}, fixture string) {
	w.T.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "cli", fixture+".yaml"))
	if err != nil {
		w.T.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte("JOB-0"), []byte(session.GetName()+"-0"))
	w.UpdateStatus(session, func() {
		st := session.SessionStatus()
		*st = stashv1beta1.SessionStatus{}
		if err := yaml.UnmarshalStrict(data, st); err != nil {
			w.T.Fatalf("%s: %v", fixture, err)
		}
	})
}

// waitOutput waits until the running command has printed want.
func (w *cliWorld) waitOutput(out *syncBuffer, want string) {
	w.T.Helper()
	w.Eventually("output "+want, func() error {
		if !strings.Contains(out.String(), want) {
			return fmt.Errorf("output so far: %s", out)
		}
		return nil
	})
}

func wantIn(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

// The session commands against a real API server: trigger (also of a
// paused configuration) and its --wait to a failure (exit 1, with the
// reason) and to a success (exit 0), pause and resume, and describe; all
// with the kubeconfig's namespace, as kubectl reads it.
func TestSessionCommands(t *testing.T) {
	world := newCLIWorld(t)
	ns := world.Namespace

	t.Run("usage errors exit 2", func(t *testing.T) {
		w := world.with(t)
		for _, args := range [][]string{{"trigger"}, {"trigger", "a", "b"}, {"describe", "job", "x"}, {"pause", "--no-such-flag", "db-backup"}} {
			if _, stderr, code := w.run(args...); code != 2 {
				t.Errorf("stash %s: exit %d, want 2 (%s)", strings.Join(args, " "), code, stderr)
			}
		}
	})
	t.Run("a configuration that does not exist", func(t *testing.T) {
		w := world.with(t)
		_, stderr, code := w.run("trigger", "nope")
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		wantIn(t, "stderr", stderr, `BackupConfiguration "nope" not found in namespace "`+ns+`"`)
	})

	t.Run("pause, then trigger the paused configuration", func(t *testing.T) {
		w := world.with(t)
		for i, want := range []string{"backupconfiguration " + ns + "/db-backup paused", "was already paused"} {
			stdout, stderr, code := w.run("pause", "db-backup")
			if code != 0 {
				t.Fatalf("pause %d: exit %d: %s", i, code, stderr)
			}
			wantIn(t, "stdout", stdout, want)
		}
		var bc stashv1beta1.BackupConfiguration
		if err := w.Get("db-backup", &bc); err != nil || !bc.Spec.Paused {
			t.Fatalf("after pause: paused %v, %v", bc.Spec.Paused, err)
		}
		stdout, stderr, code := w.run("trigger", "db-backup")
		if code != 0 {
			t.Fatalf("trigger: exit %d: %s", code, stderr)
		}
		bs := w.newSession()
		wantIn(t, "stdout", stdout, "backupsession "+ns+"/"+bs.Name+" created")
		if bs.Spec.Invoker != (stashv1beta1.BackupInvokerRef{APIGroup: "stash.appscode.com", Kind: "BackupConfiguration", Name: "db-backup"}) ||
			bs.Labels[naming.InvokerNameLabel] != "db-backup" || bs.Labels["team"] != "shop" || !strings.HasPrefix(bs.Name, "db-backup-") {
			t.Errorf("the session is not the one the schedule would make: %s %v %+v", bs.Name, bs.Labels, bs.Spec.Invoker)
		}
	})

	var failed *stashv1beta1.BackupSession
	t.Run("trigger --wait follows a failing session and exits 1 with the reason", func(t *testing.T) {
		w := world.with(t)
		cmd, out, errb := w.start("trigger", "db-backup", "--wait")
		failed = w.newSession()
		w.setStatus(failed, "running")
		w.waitOutput(out, "host-0: step postgres-backup-15-0 Running")
		w.setStatus(failed, "failed")
		if code := testenv.ExitCode(t, cmd.Wait(), out, errb); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		wantIn(t, "stdout", out.String(), "backupsession "+ns+"/"+failed.Name+" created", "host-0: Job "+failed.Name+"-0",
			"host-0: step postgres-backup-15-0 Failed, exit 1 (Error) after 3s: backup-pg: pg_dumpall exited 1")
		wantIn(t, "stderr", errb.String(), "BackupSession "+ns+"/"+failed.Name+" Failed in 9s (StepFailed)",
			"stash describe backupsession "+failed.Name+" -n "+ns)
	})

	t.Run("describe shows the failed step, its log tail, the Events and what to do", func(t *testing.T) {
		w := world.with(t)
		// The operator writes events.k8s.io Events; describe reads them back.
		if err := w.Client.Create(w.Ctx, &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "bs-", Namespace: ns},
			EventTime:  metav1.NowMicro(), ReportingController: "stash.appscode.com/operator", ReportingInstance: "test",
			Action: "Run", Reason: "StepFailed", Type: corev1.EventTypeWarning, Note: "host host-0: step postgres-backup-15-0 exited 1",
			Regarding: corev1.ObjectReference{APIVersion: stashv1beta1.GroupVersion.String(), Kind: "BackupSession", Namespace: ns, Name: failed.Name},
		}); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := w.run("describe", "backupsession", failed.Name)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		want := []string{"Phase:          Failed", "Reason:         StepFailed",
			"Log tail of host-0, postgres-backup-15-0:", `password authentication failed for user "postgres"`,
			"Warning  StepFailed  host host-0: step postgres-backup-15-0 exited 1",
			"stash logs backupsession/" + failed.Name + " -n " + ns, "run it again: stash trigger db-backup -n " + ns}
		wantIn(t, "describe", stdout, want...)
		// The same page for bs/NAME (ages aside: a second may have passed).
		again, _, code := w.run("describe", "bs/"+failed.Name)
		if code != 0 {
			t.Errorf("describe bs/NAME: exit %d", code)
		}
		wantIn(t, "describe bs/NAME", again, want...)
	})

	t.Run("trigger --wait exits 0 when the session succeeds", func(t *testing.T) {
		w := world.with(t)
		cmd, out, errb := w.start("trigger", "db-backup", "--wait", "--namespace", ns, "--kubeconfig", w.kubeconfig)
		bs := w.newSession()
		w.setStatus(bs, "succeeded")
		if code := testenv.ExitCode(t, cmd.Wait(), out, errb); code != 0 {
			t.Errorf("exit %d, want 0: %s", code, errb)
		}
		wantIn(t, "stdout", out.String(), "step update-status-1 Succeeded after 2s", "BackupSession "+ns+"/"+bs.Name+" Succeeded in 11s")
	})

	t.Run("trigger --wait --timeout gives up waiting, not the session", func(t *testing.T) {
		w := world.with(t)
		_, stderr, code := w.run("trigger", "db-backup", "--wait", "--timeout", "2s")
		w.newSession()
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		wantIn(t, "stderr", stderr, "stopped waiting for BackupSession", "after 2s", "the session itself goes on")
	})

	t.Run("resume", func(t *testing.T) {
		w := world.with(t)
		if _, stderr, code := w.run("resume", "db-backup"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var bc stashv1beta1.BackupConfiguration
		if err := w.Get("db-backup", &bc); err != nil || bc.Spec.Paused {
			t.Fatalf("after resume: paused %v, %v", bc.Spec.Paused, err)
		}
	})
}

// What the namespace's users may do with the CLI, under the roles of
// config/rbac/user_roles.yaml: an editor (stash-edit) triggers and pauses;
// a viewer (stash-view) describes, Events or not, and may not trigger.
func TestSessionCommandsUnderUserRoles(t *testing.T) {
	w := newCLIWorld(t)
	roles := w.Load(filepath.Join(testenv.RepoRoot(), "config", "rbac", "user_roles.yaml"))
	for _, role := range []string{"stash-edit", "stash-view"} {
		w.CreateIfMissing(roles["ClusterRole/"+role])
	}
	for user, role := range map[string]string{"alice": "stash-edit", "bob": "stash-view"} {
		w.Create(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}})
	}
	as := func(user string, args ...string) (string, string, int) {
		return w.run(append(args, "--as", user, "--as-group", "system:authenticated")...)
	}
	if _, stderr, code := as("alice", "pause", "db-backup"); code != 0 {
		t.Errorf("stash-edit pausing: exit %d: %s", code, stderr)
	}
	if _, stderr, code := as("alice", "trigger", "db-backup"); code != 0 {
		t.Errorf("stash-edit triggering: exit %d: %s", code, stderr)
	}
	bs := w.newSession()
	stdout, stderr, code := as("bob", "describe", "backupsession", bs.Name)
	if code != 0 {
		t.Errorf("stash-view describing: exit %d: %s", code, stderr)
	}
	wantIn(t, "describe as a viewer", stdout, "BackupSession:  "+w.Namespace+"/"+bs.Name, "Events:", "not readable")
	_, stderr, code = as("bob", "trigger", "db-backup")
	if code != 1 {
		t.Errorf("stash-view triggering: exit %d, want 1", code)
	}
	wantIn(t, "stderr", stderr, "forbidden")
}

// stash restore against a real API server: from a configuration (its
// Repository, the paired Task, another target), from a Repository, the
// errors that create nothing, and --wait.
func TestRestoreCommand(t *testing.T) {
	world := newCLIWorld(t)
	world.InstallCatalog()
	ns := world.Namespace

	t.Run("from a configuration, into another target", func(t *testing.T) {
		w := world.with(t)
		stdout, stderr, code := w.run("restore", "db-backup", "--snapshot", "latest", "--target", "appbinding/db-copy")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		rs := w.newRestore()
		wantIn(t, "stdout", stdout, "restoresession "+ns+"/"+rs.Name+" created")
		want := stashv1beta1.RestoreSessionSpec{
			Driver:     stashv1beta1.ResticSnapshotter, // the API server's default
			Repository: corev1.LocalObjectReference{Name: "repo"},
			Task:       stashv1beta1.TaskRef{Name: "postgres-restore-15"},
			Target:     &stashv1beta1.RestoreTarget{Ref: stashv1beta1.TargetRef{APIVersion: "appcatalog.appscode.com/v1alpha1", Kind: "AppBinding", Name: "db-copy"}},
			Rules:      []stashv1beta1.Rule{{Snapshots: []string{"latest"}}},
		}
		if diff := cmp.Diff(want, rs.Spec); diff != "" {
			t.Errorf("RestoreSession spec (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(rs.Name, "db-copy-restore-") {
			t.Errorf("name %q, want it to start db-copy-restore-", rs.Name)
		}
	})

	t.Run("what cannot succeed creates nothing", func(t *testing.T) {
		w := world.with(t)
		for _, tc := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"restore", "db-backup"}, 2, "--snapshot is required"},
			{[]string{"restore", "db-backup", "--snapshot", "latest", "--task", "nope-restore"}, 1, `restore Task "nope-restore" not found`},
			{[]string{"restore", "repository/repo", "--snapshot", "latest"}, 2, "--target KIND/NAME is required"},
			{[]string{"restore", "repository/repo", "--snapshot", "latest", "--target", "pvc/data"}, 2, "--task is required to restore into PersistentVolumeClaim/data"},
			{[]string{"restore", "repository/nope", "--snapshot", "latest", "--target", "pvc/data", "--task", "pvc-restore"}, 1, `Repository "nope" not found in namespace "` + ns + `"`},
			{[]string{"restore", "nope", "--snapshot", "latest"}, 1, `BackupConfiguration "nope" not found`},
			{[]string{"restore", "db-backup", "--snapshot", "latest", "--target", "configmap/x"}, 2, "not one Stash restores into"},
		} {
			_, stderr, code := w.run(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("stash %s: exit %d, stderr %q; want exit %d saying %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
			}
		}
		var list stashv1beta1.RestoreSessionList
		if err := w.Client.List(w.Ctx, &list, client.InNamespace(ns)); err != nil || len(list.Items) != len(w.seen) {
			t.Errorf("%d RestoreSessions (%v), want only the %d made before", len(list.Items), err, len(w.seen))
		}
	})

	t.Run("from a Repository, followed with --wait", func(t *testing.T) {
		w := world.with(t)
		cmd, out, errb := w.start("restore", "repository/repo", "--snapshot", "4bd7a1f2", "--target", "pvc/data", "--task", "pvc-restore", "--wait")
		rs := w.newRestore()
		if rs.Spec.Task.Name != "pvc-restore" || rs.Spec.Target.Ref.Kind != "PersistentVolumeClaim" || rs.Spec.Rules[0].Snapshots[0] != "4bd7a1f2" {
			t.Errorf("spec %+v", rs.Spec)
		}
		w.setStatus(rs, "succeeded")
		if code := testenv.ExitCode(t, cmd.Wait(), out, errb); code != 0 {
			t.Errorf("exit %d, want 0: %s", code, errb)
		}
		wantIn(t, "stdout", out.String(), "RestoreSession "+ns+"/"+rs.Name+" Succeeded in 11s")
	})
}
