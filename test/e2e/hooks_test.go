//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// recorder is backup-events, a Service whose pod records every request it
// gets (method, URI and body, a line each) in /tmp/www/calls: the stand-in
// for a user's webhook receiver.
const recorder = `apiVersion: v1
kind: Pod
metadata: {name: backup-events, labels: {app: backup-events}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: localhost/busybox:1
    imagePullPolicy: IfNotPresent
    command: [sh, -c]
    args:
    - |
      mkdir -p /tmp/www/cgi-bin
      printf '#!/bin/sh\nread -r body\necho "$REQUEST_METHOD $REQUEST_URI $body" >> /tmp/www/calls\nprintf "Content-Type: text/plain\\r\\n\\r\\nrecorded\\n"\n' > /tmp/www/cgi-bin/record
      chmod +x /tmp/www/cgi-bin/record
      touch /tmp/www/calls
      exec httpd -f -p 8080 -h /tmp/www
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: backup-events}
spec:
  selector: {app: backup-events}
  ports: [{name: http, port: 8080, targetPort: http}]
`

// calls are the requests backup-events recorded.
func calls(t *testing.T, ns string) []string {
	t.Helper()
	out := mustKubectl(t, "", "-n", ns, "exec", "backup-events", "--", "cat", "/tmp/www/calls")
	return strings.FieldsFunc(out, func(r rune) bool { return r == '\n' })
}

// stepMessage is the status.steps message of the step name of a session.
func stepMessage(st sessionStatus, name string) string {
	for _, s := range st.Steps {
		if s.Name == name {
			return s.Message
		}
	}
	return ""
}

// TestHooksReadme runs the README's hooks example as written (only the
// namespace and the repository directory differ): the pre hook's
// checkpoint and marker row run in the database pod before the dump, so
// the restored database holds the marker; the post hook's POST reaches
// backup-events. Then a pre hook that fails leaves no snapshot, and a post
// hook that cannot connect fails the session while the snapshot is kept.
func TestHooksReadme(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "hooks")
	postgresYAML := readmeYAML(t, "postgres.yaml")
	startPostgres(t, ns, "source-postgres", postgresYAML)
	apply(t, ns, recorder)
	waitPodReady(t, ns, "backup-events")
	psql(t, ns, "source-postgres", "postgres", "create database shop")
	psql(t, ns, "source-postgres", "shop", pgSampleData)
	psql(t, ns, "source-postgres", "shop", "create table backup_marks (at timestamptz, session text)") // the README's step
	repoDir := hostDir(t, "repo")
	password := "change-me-restic" // README's repository.yaml
	apply(t, ns, strings.ReplaceAll(readmeYAML(t, "repository.yaml"), "/var/lib/stash-demo-repo", repoDir))
	apply(t, ns, readmeYAML(t, "backup-with-hooks.yaml"))

	bs := triggerBackup(t, ns, "shop-backup")
	st := waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	t.Logf("backup %s with hooks Succeeded in %s", bs, st.SessionDuration)
	if msg := stepMessage(st, "pre-task-hook"); !strings.Contains(msg, "succeeded") || !strings.Contains(msg, "INSERT 0 1") {
		t.Errorf("the pre-task-hook step says %q; want its success and psql's output", msg)
	}
	if got := psql(t, ns, "source-postgres", "shop", "select session from backup_marks"); got != bs {
		t.Fatalf("backup_marks holds %q, want one row of %s", got, bs)
	}
	wantCall := fmt.Sprintf(`POST /cgi-bin/record {"session": %q}`, bs)
	if got := calls(t, ns); !slices.Contains(got, wantCall) {
		t.Fatalf("backup-events recorded %q; want %q", got, wantCall)
	}
	startPostgres(t, ns, "restored-postgres", strings.ReplaceAll(postgresYAML, "source-postgres", "restored-postgres"))
	apply(t, ns, readmeYAML(t, "restore.yaml"))
	waitSession(t, ns, "restoresession", "restored-postgres-restore", 5*time.Minute)
	if got := psql(t, ns, "restored-postgres", "shop", "select session from backup_marks"); got != bs {
		t.Fatalf("the restored backup_marks holds %q, want the marker the pre hook wrote before the dump, %s", got, bs)
	}
	t.Logf("the marker the pre hook wrote is in the restored database; backup-events got %s", wantCall)

	t.Run("a failing pre hook: nothing backed up", func(t *testing.T) {
		before := resticList(t, repoDir, password)
		mustKubectl(t, "", "-n", ns, "patch", "backupconfiguration", "shop-backup", "--type=json", "-p",
			`[{"op": "replace", "path": "/spec/hooks/preBackup/exec/command", "value": ["sh", "-c", "echo cannot freeze: disk busy >&2; exit 1"]}]`)
		bs := triggerBackup(t, ns, "shop-backup")
		st := waitFinished(t, ns, "backupsession", bs, 5*time.Minute)
		msg := requireFailed(t, ns, "backupsession", bs, st, "HookFailed", "pre hook", "exit code 1", "cannot freeze: disk busy")
		t.Logf("Failed as it should: %s", msg)
		if after := resticList(t, repoDir, password); len(after) != len(before) {
			t.Fatalf("restic lists %d snapshots after the failed pre hook, want the %d from before", len(after), len(before))
		}
	})

	t.Run("a post hook that cannot connect: the snapshot is kept", func(t *testing.T) {
		before := resticList(t, repoDir, password)
		mustKubectl(t, "", "-n", ns, "patch", "backupconfiguration", "shop-backup", "--type=json", "-p",
			`[{"op": "remove", "path": "/spec/hooks/preBackup"}, {"op": "replace", "path": "/spec/hooks/postBackupHooks/0/httpPost/host", "value": "127.0.0.1"}, {"op": "replace", "path": "/spec/hooks/postBackupHooks/0/httpPost/port", "value": 8081}]`)
		bs := triggerBackup(t, ns, "shop-backup")
		st := waitFinished(t, ns, "backupsession", bs, 5*time.Minute)
		msg := requireFailed(t, ns, "backupsession", bs, st, "HookFailed", "postBackup hook failed", "connection refused", "was taken and is kept")
		t.Logf("Failed as it should: %s", msg)
		if after := resticList(t, repoDir, password); len(after) != len(before)+1 {
			t.Fatalf("restic lists %d snapshots after the backup whose post hook failed, want %d: the snapshot is kept", len(after), len(before)+1)
		}
	})
}

// stepTimes are the start and finish of each step of a session, by name.
func stepTimes(t *testing.T, ns, kind, name string) map[string][2]time.Time {
	t.Helper()
	var steps []struct {
		Name       string    `json:"name"`
		StartTime  time.Time `json:"startTime"`
		FinishTime time.Time `json:"finishTime"`
	}
	if err := json.Unmarshal([]byte(jsonpath(t, ns, kind, name, ".status.steps")), &steps); err != nil {
		t.Fatal(err)
	}
	times := map[string][2]time.Time{}
	for _, s := range steps {
		times[s.Name] = [2]time.Time{s.StartTime, s.FinishTime}
	}
	return times
}

// TestHookStepsAndRestoreHooks: a Task whose steps are freeze, pvc-backup,
// unfreeze and update-status (the seed's hook steps) runs them in that
// order; a RestoreSession's preRestore and postRestore hooks run before
// and after its restore.
func TestHookStepsAndRestoreHooks(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "hooksteps")
	apply(t, ns, recorder)
	waitPodReady(t, ns, "backup-events")
	step := func(name, say string) string {
		return fmt.Sprintf(`  image: localhost/busybox:1
  command: [sh, -c]
  args: ["echo %s ${TARGET_NAME}; sleep 1"]
`, say)
	}
	task := customTask(t, ns, map[string]string{ns + "-freeze": step("freeze", "freezing"), ns + "-unfreeze": step("unfreeze", "unfreezing")},
		"  - name: "+ns+"-freeze\n"+
			"  - name: pvc-backup\n    params: [{name: outputDir, value: /tmp/output}, {name: secretVolume, value: secret-volume}, {name: targetVolume, value: stash-volume}]\n"+
			"  - name: "+ns+"-unfreeze\n")
	backupWithTask(t, ns, task)
	bs := triggerBackup(t, ns, "custom-backup")
	waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	times := stepTimes(t, ns, "backupsession", bs)
	order := []string{ns + "-freeze-0", "pvc-backup-1", ns + "-unfreeze-2", "update-status-3"}
	for i := 1; i < len(order); i++ {
		prev, cur := times[order[i-1]], times[order[i]]
		if prev[1].IsZero() || cur[0].IsZero() || cur[0].Before(prev[1]) {
			t.Fatalf("step %s started %s, before step %s finished %s: want %v in order", order[i], cur[0], order[i-1], prev[1], order)
		}
	}
	t.Logf("the steps ran in order: %v", order)

	pvcWithData(t, ns, "restored", false)
	apply(t, ns, `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: hooked-restore}
spec:
  task: {name: pvc-restore}
  repository: {name: local-repo}
  target:
    ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: restored}
    volumeMounts: [{name: restored, mountPath: /source/data}]
  hooks:
    preRestore:
      httpGet: {host: backup-events, port: 8080, path: "/cgi-bin/record?before=${RESTORE_SESSION}"}
    postRestoreHooks:
    - httpPost: {host: backup-events, port: 8080, path: /cgi-bin/record, body: "after ${RESTORE_SESSION}"}
  rules:
  - snapshots: [latest]
`)
	waitSession(t, ns, "restoresession", "hooked-restore", 5*time.Minute)
	want := []string{"GET /cgi-bin/record?before=hooked-restore ", "POST /cgi-bin/record after hooked-restore"}
	if got := calls(t, ns); !slices.Equal(got, want) {
		t.Fatalf("backup-events recorded %q, want %q in that order", got, want)
	}
}
