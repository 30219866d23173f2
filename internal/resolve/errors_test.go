package resolve_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stash-operator/stash/internal/resolve"
)

// Each case resolves testdata/errors/<name>.yaml (plus the catalog and the
// shared objects) and expects exactly these error lines, in order.
func TestResolveErrors(t *testing.T) {
	tests := map[string]struct {
		wantErrors []string
		wantKind   error // a sentinel or typed error the result must contain
	}{
		"missing-task": {wantErrors: []string{
			`BackupConfiguration "demo/app": spec.task.name: Task "pvc-bakup" not found (did you mean "pvc-backup"?)`,
		}},
		"missing-function": {wantErrors: []string{
			`task "broken" step 1 (function "update-statu"): spec.steps[1].name: Function "update-statu" not found (did you mean "update-status"?)`,
		}},
		"unresolved-two-steps": {wantErrors: []string{
			`task "two-problems" step 0 (function "needs-dir"): spec.args[1]: variable ${outputDir} has no value and no default`,
			`task "two-problems" step 1 (function "needs-bucket"): spec.args[0]: variable ${REPOSITORY_BUKET} has no value and no default (did you mean ${REPOSITORY_BUCKET}?)`,
		}},
		"bad-syntax": {wantErrors: []string{
			`task "bad-syntax" step 0 (function "bad-syntax"): spec.args[0]: bad substitution at offset 21 in "--bucket=${REPOSITORY BUCKET}": unexpected ' ' after variable name "REPOSITORY"`,
		}},
		"empty-steps": {wantErrors: []string{
			`task "nothing": spec.steps: the Task has no steps: add at least one step`,
		}},
		"unknown-volume": {wantErrors: []string{
			`task "wrong-volume" step 0 (function "mounts-secret"): spec.volumeMounts[0].name: volume "secret-volum" is not a volume of the Job (it has secret-volume, tmp-dir): add it to the Task's spec.volumes or fix the name (did you mean "secret-volume"?)`,
		}},
		"missing-repository": {wantErrors: []string{
			`BackupConfiguration "demo/app": spec.repository.name: Repository "demo/nowhere" not found`,
		}},
		"unset-secret-name": {wantErrors: []string{
			`task "pvc-backup": spec.volumes[0].secret.secretName: variable ${REPOSITORY_SECRET_NAME} has no value and no default: the Repository sets no spec.backend.storageSecretName`,
		}},
		"required-variable": {wantErrors: []string{
			`task "needs-region" step 0 (function "needs-region"): spec.args[0]: variable ${pgVersion}: set the param pgVersion in spec.task.params of the BackupConfiguration`,
		}},
		"volume-snapshotter": {wantErrors: []string{
			`BackupConfiguration "demo/app": spec.driver: driver VolumeSnapshotter (CSI VolumeSnapshots) is not supported yet: use driver Restic (the default) with a Task`,
			`BackupConfiguration "demo/app": spec.target.snapshotClassName: volume snapshots are not supported yet, so a snapshot class has no effect: remove it`,
		}},
		"unsupported-kind": {wantErrors: []string{
			`BackupConfiguration "demo/app": spec.target.ref: Widget "w" (apiVersion "example.com/v1") is not a kind this version backs up or restores: use an AppBinding, DaemonSet, Deployment, PersistentVolumeClaim, ReplicaSet, ReplicationController or StatefulSet`,
		}},
		"claim-task-on-workload": {wantErrors: []string{
			`BackupConfiguration "demo/app": spec.task.name: the Task "pvc-backup" mounts the target as a PersistentVolumeClaim "web" (its spec.volumes[1]), but the target is a Deployment: leave spec.task empty to run the catalog's workload-backup, which mounts the Deployment's own volumes`,
		}},
		"pre-hook-policy": {wantErrors: []string{
			`BackupConfiguration "demo/app": spec.hooks.postBackupHooks[0].httpGet.path: variable ${NO_SUCH_VARIABLE} has no value and no default`,
			`BackupConfiguration "demo/app": spec.hooks.preBackup.executionPolicy: a pre hook always runs, before any data moves: executionPolicy applies to post hooks only; remove it`,
		}},
		"restore-exec-hook-stopped": {wantErrors: []string{
			`RestoreSession "demo/app": spec.hooks.postRestore.exec: an exec hook runs in the Deployment's pod, and the Deployment is stopped for the restore: set spec.target.restoreWhileRunning: true, or use an HTTP or TCP hook`,
		}},
		"probe-on-init-container": {wantErrors: []string{
			`task "probed-first" step 0 (function "probed"): spec.runtimeSettings.livenessProbe: Kubernetes allows probes and lifecycle hooks only on a Job's main container, and every step but the last runs as an init-container: remove it from the Function, or make it the Task's last step`,
			`task "probed-first" step 0 (function "probed"): spec.runtimeSettings.lifecycle: Kubernetes allows probes`,
		}},
		"invoker-probe": {wantErrors: []string{
			`BackupConfiguration "demo/app": spec.runtimeSettings.container.readinessProbe: Kubernetes allows probes and lifecycle hooks only on a Job's main container, and every step but the last runs as an init-container, and runtimeSettings.container applies to every step: remove it`,
		}},
		"bad-timeout": {wantErrors: []string{
			`BackupConfiguration "demo/app": spec.timeOut: "forever" is not a positive duration such as 30m or 1h30m`,
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			objs := loadObjects(t, filepath.Join("testdata", "errors", name+".yaml"))
			res, err := resolveCase(t, objs)
			if err == nil {
				t.Fatalf("resolved without error; %d Jobs", len(res))
			}
			var all resolve.Errors
			if !errors.As(err, &all) {
				t.Fatalf("error %T is not resolve.Errors: %v", err, err)
			}
			if len(all) != len(tc.wantErrors) {
				t.Fatalf("got %d errors, want %d:\n%v", len(all), len(tc.wantErrors), err)
			}
			for i, want := range tc.wantErrors {
				if got := all[i].Error(); !strings.HasPrefix(got, want) {
					t.Errorf("error %d:\n got  %s\n want %s", i, got, want)
				}
			}
		})
	}
}

func TestNotFoundErrorsAreTyped(t *testing.T) {
	objs := loadObjects(t, filepath.Join("testdata", "errors", "missing-function.yaml"))
	_, err := resolveCase(t, objs)
	var nf *resolve.NotFoundError
	if !errors.As(err, &nf) || nf.Kind != "Function" || nf.Name != "update-statu" {
		t.Fatalf("want a NotFoundError for Function update-statu, got %v", err)
	}
	var fe *resolve.FieldError
	if !errors.As(err, &fe) || fe.Step != 1 || fe.Function != "update-statu" {
		t.Fatalf("want a FieldError at step 1, got %#v", fe)
	}
}
