package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/stash-operator/stash/internal/defaultcatalog"
)

// catalogTargets are the targets of the catalog's Tasks, by the Task name's
// prefix: spec.target of an invoker (testdata/catalog-targets.yaml holds
// the objects they need), and what shows that each Job's data step works
// on it: the claim it mounts, or an argument.
var catalogTargets = map[string]struct{ target, wantClaim, wantArg string }{
	"pvc-": {
		target:    "ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: app-data}\n    volumeMounts: [{name: app-data, mountPath: /source/data}]",
		wantClaim: "app-data",
	},
	"workload-": {
		target:    "ref: {apiVersion: apps/v1, kind: Deployment, name: web}\n    volumeMounts: [{name: data, mountPath: /data}]",
		wantClaim: "web-data",
	},
	"postgres-": {target: "ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: shop-postgres}", wantArg: "--appbinding=shop-postgres"},
	"mysql-":    {target: "ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: shop-mysql}", wantArg: "--appbinding=shop-mysql"},
	"redis-":    {target: "ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: cache}", wantArg: "--appbinding=cache"},
}

// mountsClaim reports whether container c of job mounts the claim.
func mountsClaim(job *batchv1.Job, c corev1.Container, claim string) bool {
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim &&
			slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == v.Name }) {
			return true
		}
	}
	return false
}

// TestResolveEveryCatalogTask runs `stash resolve`, with the catalog it
// embeds, for every Task of the catalog (every versioned name included)
// invoked on its target kind: each must resolve into a Job whose data step
// runs against that target.
func TestResolveEveryCatalogTask(t *testing.T) {
	_, tasks, err := defaultcatalog.Load("stash:test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, task := range tasks {
		t.Run(task.Name, func(t *testing.T) {
			var target, wantClaim, wantArg string
			for prefix, tc := range catalogTargets {
				if strings.HasPrefix(task.Name, prefix) {
					target, wantClaim, wantArg = tc.target, tc.wantClaim, tc.wantArg
				}
			}
			if target == "" {
				t.Fatalf("Task %s has no target in catalogTargets: add its target kind", task.Name)
			}
			var invoker, flag string
			switch {
			case strings.Contains(task.Name, "-backup"):
				invoker, flag = "kind: BackupConfiguration\nmetadata: {name: inv}\nspec:\n  schedule: \"0 1 * * *\"\n"+
					"  retentionPolicy: {name: keep, keepLast: 3, prune: true}\n", "--backup-configuration"
			case strings.Contains(task.Name, "-restore"):
				invoker, flag = "kind: RestoreSession\nmetadata: {name: inv}\nspec:\n  rules: [{snapshots: [latest]}]\n", "--restore-session"
			default:
				t.Fatalf("Task %s is neither a backup nor a restore", task.Name)
			}
			doc := "apiVersion: stash.appscode.com/v1beta1\n" + invoker +
				fmt.Sprintf("  task: {name: %s}\n  repository: {name: repo}\n  target:\n    %s\n", task.Name, target)
			file := filepath.Join(dir, task.Name+".yaml")
			if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := runStash(t, "resolve", "-f", "testdata/catalog-targets.yaml", "-f", file, flag, "inv", "--image", "stash:test")
			if code != 0 {
				t.Fatalf("stash resolve %s: exit %d:\n%s\n%s", task.Name, code, stderr, doc)
			}
			if jobs := checkCreated(t, stdout); jobs != 1 {
				t.Fatalf("%d Jobs, want 1 (one host):\n%s", jobs, stdout)
			}
			var job batchv1.Job
			if err := yaml.Unmarshal([]byte(stdout), &job); err != nil {
				t.Fatal(err)
			}
			data := job.Spec.Template.Spec.InitContainers[0] // the first step; update-status is the last
			if data.Image != "stash:test" {
				t.Errorf("Job %s: the data step %s runs image %s, want stash:test", job.Name, data.Name, data.Image)
			}
			if wantArg != "" && !slices.Contains(data.Args, wantArg) {
				t.Errorf("Job %s: the data step %s runs %q, want the argument %q", job.Name, data.Name, data.Args, wantArg)
			}
			if wantClaim != "" && !mountsClaim(&job, data, wantClaim) {
				t.Errorf("Job %s: the data step %s does not mount claim %s: %+v", job.Name, data.Name, wantClaim, job.Spec.Template.Spec.Volumes)
			}
		})
	}
}
