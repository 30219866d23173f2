// Package compat_test runs the Stash v0.9 compatibility corpus
// (../shared/reference/upstream-v0.9/corpus, beside the checkout) through
// the resolver: every BackupConfiguration, BackupSession and RestoreSession
// of the v0.9 user guides and of the addons' examples and pages must
// resolve, with the default catalog, into one Job per host of its target,
// or be refused with an error that names what is not supported. The
// database invokers resolve with the v0.9 addons' own Functions and Tasks
// too, as for a user who keeps them installed.
package compat_test

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/defaultcatalog"
	"github.com/stash-operator/stash/internal/manifest"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/testenv"
)

// A resolveCase is one row of RESOLVE-CASES.tsv: an invoker, by flag and
// name, and the corpus documents it needs.
type resolveCase struct {
	id, flag, namespace, name string
	inputs                    []string // FILE#DOC
	notes                     string
}

// userFacing are the corpus categories users copied from: the user
// guides, and the addons' examples and documentation pages.
var userFacing = map[string]bool{"guide": true, "addon-example": true, "addon-md": true}

// guideCases are the cases whose invoker is an object of a user-facing
// category.
func guideCases(t *testing.T, dir string) []resolveCase {
	guide := map[string]bool{}
	for _, row := range testenv.ReadTSV(t, filepath.Join(dir, "INDEX.tsv"))[1:] { // the first row is the header
		if len(row) >= 6 && userFacing[row[5]] {
			guide[row[0]+"#"+row[1]] = true
		}
	}
	var cases []resolveCase
	for _, row := range testenv.ReadTSV(t, filepath.Join(dir, "RESOLVE-CASES.tsv")) {
		if len(row) < 6 {
			t.Fatalf("RESOLVE-CASES.tsv: short row %q", row)
		}
		if guide[row[0]] {
			cases = append(cases, resolveCase{id: row[0], flag: row[1], namespace: row[2], name: row[3],
				inputs: strings.Split(row[4], ";"), notes: row[5]})
		}
	}
	return cases
}

// upstreamCatalog: the v0.9 operator's and addons' Functions and Tasks.
// A user of this operator has its catalog instead, whose Functions run its
// own image.
func upstreamCatalog(input string) bool {
	return strings.Contains(input, "/templates/") || strings.HasPrefix(input, "stashed-stash/")
}

// A catalog is the Functions and Tasks a case resolves with.
type catalog int

const (
	// ourCatalog is the default catalog, which the operator installs.
	ourCatalog catalog = iota
	// upstreamCatalogs are the v0.9 operator's and addons' Functions and
	// Tasks of the corpus, as a v0.9 user who keeps them installed has them.
	upstreamCatalogs
)

// load reads the case's documents, with the catalog cat.
func load(t *testing.T, dir string, c resolveCase, cat catalog) *resolve.Objects {
	t.Helper()
	objs := resolve.NewObjects()
	if cat == ourCatalog {
		fns, tasks, err := defaultcatalog.Load("stash:compat")
		if err != nil {
			t.Fatal(err)
		}
		for _, fn := range fns {
			objs.Add(fn, c.namespace)
		}
		for _, task := range tasks {
			objs.Add(task, c.namespace)
		}
	}
	for _, in := range c.inputs {
		if upstreamCatalog(in) && cat == ourCatalog {
			continue
		}
		file, doc, ok := strings.Cut(in, "#")
		if !ok {
			t.Fatalf("input %q names no document", in)
		}
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		docs, err := manifest.Split(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var index int
		fmt.Sscan(doc, &index)
		if index >= len(docs) {
			t.Fatalf("%s has %d documents, not %d", file, len(docs), index+1)
		}
		obj, err := manifest.Decode(docs[index].JSON)
		if err != nil {
			t.Fatalf("%s: a v0.9 manifest does not decode strictly: %v", in, err)
		}
		objs.Add(obj, c.namespace)
	}
	return objs
}

// The workloads the guides back up are not in the corpus: each is made
// here as the guide describes it, with the volumes its target names: a
// Deployment of one replica with a claim per volume, a StatefulSet of
// statefulSetReplicas with a claim template per volume, a DaemonSet with a
// hostPath volume, running on the nodes daemonSetNodes.
const statefulSetReplicas = 5

var daemonSetNodes = []string{"node-a", "node-b"}

func addWorkload(objs *resolve.Objects, namespace string, ref stashv1beta1.TargetRef, mounts []corev1.VolumeMount) {
	labels := map[string]string{"app": ref.Name}
	meta := metav1.ObjectMeta{Namespace: namespace, Name: ref.Name}
	var volumes []corev1.Volume
	var claims []corev1.PersistentVolumeClaim
	for _, m := range mounts {
		switch ref.Kind {
		case "StatefulSet":
			claims = append(claims, corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: m.Name}})
		case "DaemonSet":
			volumes = append(volumes, corev1.Volume{Name: m.Name, VolumeSource: corev1.VolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/" + m.Name}}})
		default:
			volumes = append(volumes, corev1.Volume{Name: m.Name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: m.Name + "-claim"}}})
		}
	}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Volumes: volumes, Containers: []corev1.Container{{Name: "app", Image: "busybox", VolumeMounts: mounts}}}}
	selector := &metav1.LabelSelector{MatchLabels: labels}
	var obj runtime.Object
	switch ref.Kind {
	case "Deployment":
		obj = &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: selector, Template: template}}
	case "StatefulSet":
		obj = &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](statefulSetReplicas),
			Selector: selector, Template: template, VolumeClaimTemplates: claims}}
	case "DaemonSet":
		obj = &appsv1.DaemonSet{ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Selector: selector, Template: template}}
		for _, node := range daemonSetNodes {
			objs.Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: ref.Name + "-" + node, Labels: labels},
				Spec:   corev1.PodSpec{NodeName: node},
				Status: corev1.PodStatus{Phase: corev1.PodRunning}}, namespace)
		}
	default:
		panic("no workload of kind " + ref.Kind)
	}
	obj.GetObjectKind().SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind(ref.Kind))
	objs.Add(obj, namespace)
}

// wantHosts are the hosts the target of a guide's invoker has, as v0.9
// named them.
func wantHosts(target *stashv1beta1.BackupTarget, restore *stashv1beta1.RestoreTarget) []string {
	var ref stashv1beta1.TargetRef
	var replicas *int32
	switch {
	case target != nil:
		ref, replicas = target.Ref, target.Replicas
	case restore != nil:
		ref, replicas = restore.Ref, restore.Replicas
	}
	count := 1
	switch ref.Kind {
	case "StatefulSet":
		count = statefulSetReplicas
		if replicas != nil {
			count = min(count, int(*replicas))
		}
	case "DaemonSet":
		return daemonSetNodes
	case "", "AppBinding":
		// A restore into volumeClaimTemplates (the claims alone, or a
		// database's, as Percona XtraDB Cluster's guide restores each
		// member): a host per replica.
		if replicas != nil && restore != nil && len(restore.VolumeClaimTemplates) > 0 {
			count = int(*replicas)
		}
	}
	hosts := make([]string, count)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("host-%d", i)
	}
	return hosts
}

// notInCatalog are the database engines of v0.9's addons that the catalog
// does not have, by their Tasks' name prefix, with why: an invoker naming
// one of their Tasks must be refused, saying the Task is not found.
var notInCatalog = map[string]string{
	"mongodb-":        "MongoDB (issue 17, item 4)",
	"elasticsearch-":  "Elasticsearch (not planned)",
	"percona-xtradb-": "Percona XtraDB Cluster's xtrabackup (not planned)",
}

// missingEngine is the why of notInCatalog for a Task name, if any.
func missingEngine(task string) (string, bool) {
	for prefix, why := range notInCatalog {
		if strings.HasPrefix(task, prefix) {
			return why, true
		}
	}
	return "", false
}

// restoredFrom are the hosts whose data another host restores, by case,
// as the guides' rules say ("host-3" and "host-4" get "host-1"'s data);
// every other host restores its own.
var restoredFrom = map[string]map[string]string{
	"stashed-docs/docs/examples/guides/latest/workloads/statefulset/adv_restoresession.yaml#0": {"host-3": "host-1", "host-4": "host-1"},
	"stashed-docs/docs/examples/guides/latest/workloads/statefulset/custom_restore.yaml#0":     {"host-3": "host-1", "host-4": "host-1"},
}

func isWorkload(kind string) bool {
	return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet"
}

// TestGuidesResolve resolves every invoker of the v0.9 user guides and of
// the addons' examples and pages.
func TestGuidesResolve(t *testing.T) {
	dir := testenv.V09Corpus(t)
	cases := guideCases(t, dir)
	if len(cases) == 0 {
		t.Fatal("no guide case in RESOLVE-CASES.tsv")
	}
	tally := map[string]int{}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			if strings.HasPrefix(c.notes, "no upstream ") {
				// The guide's invoker is made by auto-backup (a BackupBlueprint,
				// not implemented): its Repository is in no manifest.
				tally["skipped: "+c.notes]++
				t.Skip(c.notes)
			}
			objs := load(t, dir, c, ourCatalog)
			inv := invokerOf(t, objs, c)
			target, restoreTarget, driver, task := inv.target, inv.restoreTarget, inv.driver, inv.task
			ref, mounts := inv.ref()
			if isWorkload(ref.Kind) {
				addWorkload(objs, c.namespace, ref, mounts)
			}

			results, err := resolveOne(objs, c)
			if driver == stashv1beta1.VolumeSnapshotter {
				if err == nil || !strings.Contains(err.Error(), "spec.driver") || !strings.Contains(err.Error(), "VolumeSnapshotter") {
					t.Fatalf("a VolumeSnapshotter invoker: err %v; want it refused, naming spec.driver", err)
				}
				tally["refused: driver VolumeSnapshotter"]++
				return
			}
			if why, ok := missingEngine(task); ok {
				if want := fmt.Sprintf("Task %q not found", task); err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("an invoker of %s: err %v; want it refused with %q", why, err, want)
				}
				tally["not in the catalog: "+why]++
				return
			}
			if err != nil {
				t.Fatalf("does not resolve: %v", err)
			}
			hosts := wantHosts(target, restoreTarget)
			if len(results) != len(hosts) {
				t.Fatalf("%d Jobs, want one per host %v", len(results), hosts)
			}
			for i, res := range results {
				checkJob(t, res.Job, hosts[i], ref, mounts)
				if ref.Kind == "AppBinding" {
					checkDatabaseJob(t, res.Job, task, ref.Name)
				}
				if restoreTarget != nil {
					checkRestoreUsers(t, res.Job)
					source := cmp.Or(restoredFrom[c.id][hosts[i]], hosts[i])
					if !hasArg(res.Job, "--source-hostname="+source) {
						t.Errorf("Job %s (host %s) does not restore the snapshots of host %s", res.Job.Name, hosts[i], source)
					}
				}
			}
			kind := ref.Kind
			if kind == "" {
				kind = "volumeClaimTemplates"
			}
			tally[fmt.Sprintf("resolved: %s %s", strings.TrimPrefix(c.flag, "--"), kind)]++
		})
	}
	for what, n := range tally {
		t.Logf("%3d %s", n, what)
	}
}

// invoker is what a case's invoker names: its target (a backup's or a
// restore's), its driver and its Task.
type invoker struct {
	target        *stashv1beta1.BackupTarget
	restoreTarget *stashv1beta1.RestoreTarget
	driver        stashv1beta1.Snapshotter
	task          string
}

func invokerOf(t *testing.T, objs *resolve.Objects, c resolveCase) invoker {
	t.Helper()
	switch c.flag {
	case "--backup-configuration", "--backup-session":
		bcName := c.name
		if c.flag == "--backup-session" {
			bcName = objs.BackupSessions[c.namespace+"/"+c.name].Spec.Invoker.Name
		}
		bc := objs.BackupConfigurations[c.namespace+"/"+bcName]
		return invoker{target: bc.Spec.Target, driver: bc.Spec.Driver, task: bc.Spec.Task.Name}
	case "--restore-session":
		rs := objs.RestoreSessions[c.namespace+"/"+c.name]
		return invoker{restoreTarget: rs.Spec.Target, driver: rs.Spec.Driver, task: rs.Spec.Task.Name}
	}
	t.Fatalf("unknown flag %q", c.flag)
	return invoker{}
}

// ref is the invoker's target and the volumes it names.
func (inv invoker) ref() (stashv1beta1.TargetRef, []corev1.VolumeMount) {
	switch {
	case inv.target != nil:
		return inv.target.Ref, inv.target.VolumeMounts
	case inv.restoreTarget != nil:
		return inv.restoreTarget.Ref, inv.restoreTarget.VolumeMounts
	}
	return stashv1beta1.TargetRef{}, nil
}

// TestDatabaseInvokersResolveWithUpstreamCatalog resolves every database
// invoker of the v0.9 user guides and of the addons' examples and pages
// with the v0.9 addons' own Functions and Tasks instead of ours, as for a
// user who keeps them installed: each must resolve into one Job per host
// that runs the addon's image against the invoker's AppBinding, every
// variable (v0.9's ${VAR:=default} forms, ${secretVolume}) resolved.
func TestDatabaseInvokersResolveWithUpstreamCatalog(t *testing.T) {
	dir := testenv.V09Corpus(t)
	tally := map[string]int{}
	for _, c := range guideCases(t, dir) {
		if strings.HasPrefix(c.notes, "no upstream ") {
			continue // made by auto-backup: see TestGuidesResolve
		}
		objs := load(t, dir, c, upstreamCatalogs)
		inv := invokerOf(t, objs, c)
		ref, _ := inv.ref()
		if ref.Kind != "AppBinding" {
			continue
		}
		t.Run(c.id, func(t *testing.T) {
			task := objs.Tasks[inv.task]
			if task == nil {
				// The corpus holds one chart version per addon (postgres
				// 11.2, mysql 8.0.14, ...); TestGuidesResolve resolves the
				// other names with ours.
				tally["not in the corpus's addon charts: "+inv.task]++
				t.Skipf("the corpus has no upstream Task %q", inv.task)
			}
			results, err := resolveOne(objs, c)
			if err != nil {
				t.Fatalf("does not resolve with the upstream catalog: %v", err)
			}
			hosts := wantHosts(inv.target, inv.restoreTarget)
			if len(results) != len(hosts) {
				t.Fatalf("%d Jobs, want one per host %v", len(results), hosts)
			}
			for _, res := range results {
				checkUpstreamJob(t, res.Job, task, objs.Functions, ref.Name)
			}
			tally[fmt.Sprintf("resolved: %s %s", strings.TrimPrefix(c.flag, "--"), inv.task)]++
		})
	}
	if len(tally) == 0 {
		t.Fatal("no database invoker in the corpus's guide cases")
	}
	for what, n := range tally {
		t.Logf("%3d %s", n, what)
	}
}

// checkUpstreamJob checks a Job resolved with the upstream catalog: each of
// the Task's steps runs its Function's image, the data step against the
// AppBinding, and no ${ is left in what the containers run or mount.
func checkUpstreamJob(t *testing.T, job *batchv1.Job, task *stashv1beta1.Task, functions map[string]*stashv1beta1.Function, appBinding string) {
	t.Helper()
	pod := job.Spec.Template.Spec
	containers := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	images := map[string]bool{}
	for _, c := range containers {
		images[c.Image] = true
		texts := append(append([]string{}, c.Command...), c.Args...)
		for _, e := range c.Env {
			texts = append(texts, e.Value)
		}
		for _, m := range c.VolumeMounts {
			texts = append(texts, m.Name, m.MountPath)
		}
		for _, text := range texts {
			if strings.Contains(text, "${") {
				t.Errorf("Job %s: container %s has an unresolved variable: %q", job.Name, c.Name, text)
			}
		}
	}
	for _, v := range pod.Volumes {
		if strings.Contains(v.Name, "${") || (v.Secret != nil && strings.Contains(v.Secret.SecretName, "${")) {
			t.Errorf("Job %s: volume %q has an unresolved variable: %+v", job.Name, v.Name, v)
		}
	}
	for _, step := range task.Spec.Steps {
		fn := functions[step.Name]
		if fn == nil {
			t.Fatalf("Task %s names Function %s, which the corpus does not hold", task.Name, step.Name)
		}
		if !images[fn.Spec.Image] {
			t.Errorf("Job %s: no container runs Function %s's image %s (images %v)", job.Name, fn.Name, fn.Spec.Image, slices.Sorted(maps.Keys(images)))
		}
	}
	if !hasArg(job, "--appbinding="+appBinding) {
		t.Errorf("Job %s does not run against AppBinding %s", job.Name, appBinding)
	}
}

func resolveOne(objs *resolve.Objects, c resolveCase) ([]*resolve.Result, error) {
	opts := resolve.Options{Image: "stash:compat"}
	switch c.flag {
	case "--backup-session":
		return objs.ResolveBackupSession(c.namespace, c.name, opts)
	case "--restore-session":
		return objs.ResolveRestoreSession(c.namespace, c.name, opts)
	default:
		return objs.ResolveBackupConfiguration(c.namespace, c.name, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), opts)
	}
}

// checkJob checks that the Job of host mounts, in its last container (the
// step that backs up or restores), the target's volumes where the target
// says, and runs where the host's pod runs.
func checkJob(t *testing.T, job *batchv1.Job, host string, ref stashv1beta1.TargetRef, mounts []corev1.VolumeMount) {
	t.Helper()
	if got := job.Labels[naming.HostLabel]; got != host {
		t.Errorf("Job %s is of host %q, want %q", job.Name, got, host)
	}
	pod := job.Spec.Template.Spec
	containers := append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...)
	for _, m := range mounts {
		if !mountedSomewhere(containers, m.MountPath) {
			t.Errorf("Job %s (host %s): no step mounts the target's volume %q at %s", job.Name, host, m.Name, m.MountPath)
		}
	}
	if ref.Kind == "DaemonSet" {
		if err := onNode(pod, host); err != nil {
			t.Errorf("Job %s: %v", job.Name, err)
		}
	}
}

// databaseCommands are the stash sub-commands of the catalog's database
// Tasks, by Task name prefix.
var databaseCommands = map[string]string{
	"postgres-backup-": "backup-pg", "postgres-restore-": "restore-pg",
	"mysql-backup-": "backup-mysql", "mysql-restore-": "restore-mysql",
}

// checkDatabaseJob checks that the Job of a database Task (a v0.9 addon's
// name included) runs the catalog's command for its engine against the
// invoker's AppBinding.
func checkDatabaseJob(t *testing.T, job *batchv1.Job, task, appBinding string) {
	t.Helper()
	var command string
	for prefix, c := range databaseCommands {
		if strings.HasPrefix(task, prefix) {
			command = c
		}
	}
	if command == "" {
		t.Fatalf("Task %q is not a database Task of the catalog", task)
	}
	pod := job.Spec.Template.Spec
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		if len(c.Args) > 0 && c.Args[0] == command {
			if !slices.Contains(c.Args, "--appbinding="+appBinding) {
				t.Errorf("Job %s: container %s runs %s but not against AppBinding %s: %q", job.Name, c.Name, command, appBinding, c.Args)
			}
			return
		}
	}
	t.Errorf("Job %s of Task %s: no container runs %s", job.Name, task, command)
}

// checkRestoreUsers checks that a restore Job runs as root only the step
// that restores files (restic restore sets their owners), and nothing else:
// not the database restores, the hooks or update-status.
func checkRestoreUsers(t *testing.T, job *batchv1.Job) {
	t.Helper()
	pod := job.Spec.Template.Spec
	if sc := pod.SecurityContext; sc != nil && sc.RunAsUser != nil {
		t.Errorf("Job %s: the pod runs as user %d, want each container as its own", job.Name, *sc.RunAsUser)
	}
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		root := c.SecurityContext != nil && ptr.Deref(c.SecurityContext.RunAsUser, -1) == 0
		restoresFiles := len(c.Args) > 0 && c.Args[0] == "restore-pvc"
		if root != restoresFiles {
			t.Errorf("Job %s: container %s (%v) runs as root: %v, want %v", job.Name, c.Name, c.Args[:min(1, len(c.Args))], root, restoresFiles)
		}
	}
}

func hasArg(job *batchv1.Job, arg string) bool {
	pod := job.Spec.Template.Spec
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		if slices.Contains(c.Args, arg) {
			return true
		}
	}
	return false
}

func mountedSomewhere(containers []corev1.Container, path string) bool {
	for _, c := range containers {
		for _, m := range c.VolumeMounts {
			if m.MountPath == path {
				return true
			}
		}
	}
	return false
}

// onNode checks that the pod can run only on node.
func onNode(pod corev1.PodSpec, node string) error {
	a := pod.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return errors.New("no required node affinity: a DaemonSet host's Job must run on its node")
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == "metadata.name" && len(f.Values) == 1 && f.Values[0] == node {
				return nil
			}
		}
	}
	return fmt.Errorf("the node affinity %+v does not pin node %q", a.NodeAffinity, node)
}
