package defaultcatalog

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	catalogfiles "github.com/stash-operator/stash/config/catalog"
	"github.com/stash-operator/stash/internal/manifest"
)

const testImage = "stash:v0.1.0"

// wantTasks is the catalog: each Task, the kind of job it makes and its data
// Function (same name): the stash sub-command and the flags after the common
// ones. Every Task's second and last step is update-status.
var wantTasks = map[string]struct {
	direction availability
	pvc       bool // backs up or restores a PVC: mounts the target volume
	root      bool // restores files, whose owners only root can set
	command   string
	flags     []string
}{
	"pvc-backup": {
		direction: inBackup, pvc: true, command: "backup-pvc",
		flags: []string{"--backup-paths=${TARGET_PATHS}"},
	},
	"pvc-restore": {
		direction: inRestore, pvc: true, root: true, command: "restore-pvc",
		flags: []string{
			"--restore-paths=${RESTORE_PATHS:=}",
			"--snapshots=${RESTORE_SNAPSHOTS:=}",
			"--source-hostname=${SOURCE_HOSTNAME:=}",
		},
	},
	"workload-backup": {
		direction: inBackup, command: "backup-pvc",
		flags: []string{"--backup-paths=${TARGET_PATHS}"},
	},
	"workload-restore": {
		direction: inRestore, root: true, command: "restore-pvc",
		flags: []string{
			"--restore-paths=${RESTORE_PATHS:=}",
			"--default-paths=${TARGET_PATHS:=}",
			"--snapshots=${RESTORE_SNAPSHOTS:=}",
			"--source-hostname=${SOURCE_HOSTNAME:=}",
		},
	},
	"postgres-backup": {
		direction: inBackup, command: "backup-pg",
		flags: []string{
			"--namespace=${NAMESPACE:=default}",
			"--appbinding=${TARGET_NAME:=}",
			"--pg-args=${pgArgs:=}",
			"--databases=${databases:=}",
			"--wait-timeout=${waitTimeout:=300}",
		},
	},
	"postgres-restore": {
		direction: inRestore, command: "restore-pg",
		flags: []string{
			"--namespace=${NAMESPACE:=default}",
			"--appbinding=${TARGET_NAME:=}",
			"--pg-args=${pgArgs:=}",
			"--database=${database:=}",
			"--wait-timeout=${waitTimeout:=300}",
			"--snapshot=${RESTORE_SNAPSHOTS:=}",
			"--source-hostname=${SOURCE_HOSTNAME:=}",
		},
	},
	"mysql-backup": {
		direction: inBackup, command: "backup-mysql",
		flags: []string{
			"--namespace=${NAMESPACE:=default}",
			"--appbinding=${TARGET_NAME:=}",
			"--mysql-args=${myArgs:=--all-databases}",
			"--wait-timeout=${waitTimeout:=300}",
		},
	},
	"mysql-restore": {
		direction: inRestore, command: "restore-mysql",
		flags: []string{
			"--namespace=${NAMESPACE:=default}",
			"--appbinding=${TARGET_NAME:=}",
			"--mysql-args=${myArgs:=}",
			"--wait-timeout=${waitTimeout:=300}",
			"--snapshot=${RESTORE_SNAPSHOTS:=}",
			"--source-hostname=${SOURCE_HOSTNAME:=}",
		},
	},
	"redis-backup": {
		direction: inBackup, command: "backup-redis",
		flags: []string{
			"--namespace=${NAMESPACE:=default}",
			"--appbinding=${TARGET_NAME:=}",
			"--redis-args=${redisArgs:=}",
			"--wait-timeout=${waitTimeout:=300}",
		},
	},
	"redis-restore": {
		direction: inRestore, command: "restore-redis",
		flags: []string{
			"--namespace=${NAMESPACE:=default}",
			"--appbinding=${TARGET_NAME:=}",
			"--redis-args=${redisArgs:=}",
			"--wait-timeout=${waitTimeout:=300}",
			"--snapshot=${RESTORE_SNAPSHOTS:=}",
			"--source-hostname=${SOURCE_HOSTNAME:=}",
		},
	},
}

var commonFlags = []string{
	"--provider=${REPOSITORY_PROVIDER:=}",
	"--bucket=${REPOSITORY_BUCKET:=}",
	"--endpoint=${REPOSITORY_ENDPOINT:=}",
	"--region=${REPOSITORY_REGION:=}",
	"--path=${REPOSITORY_PREFIX:=}",
	"--secret-dir=/etc/repository/secret",
	"--scratch-dir=/tmp",
	"--enable-cache=${ENABLE_CACHE:=true}",
	"--max-connections=${MAX_CONNECTIONS:=0}",
	"--hostname=${HOSTNAME:=}",
	"--output-dir=${outputDir:=}",
}

var retentionFlags = []string{
	"--retention-keep-last=${RETENTION_KEEP_LAST:=0}",
	"--retention-keep-hourly=${RETENTION_KEEP_HOURLY:=0}",
	"--retention-keep-daily=${RETENTION_KEEP_DAILY:=0}",
	"--retention-keep-weekly=${RETENTION_KEEP_WEEKLY:=0}",
	"--retention-keep-monthly=${RETENTION_KEEP_MONTHLY:=0}",
	"--retention-keep-yearly=${RETENTION_KEEP_YEARLY:=0}",
	"--retention-keep-tags=${RETENTION_KEEP_TAGS:=}",
	"--retention-prune=${RETENTION_PRUNE:=false}",
	"--retention-dry-run=${RETENTION_DRY_RUN:=false}",
	"--check-repository=${REPOSITORY_CHECK:=true}",
	"--measure-repository=${REPOSITORY_MEASURE:=true}",
}

var updateStatusSpec = v1beta1.FunctionSpec{
	Args: []string{
		"update-status",
		"--namespace=${NAMESPACE:=default}",
		"--backupsession=${BACKUP_SESSION:=}",
		"--restoresession=${RESTORE_SESSION:=}",
		"--repository=${REPOSITORY_NAME:=}",
		"--target-kind=${TARGET_KIND:=}",
		"--target-name=${TARGET_NAME:=}",
		"--output-dir=${outputDir:=}",
	},
}

// wantFunctionSpecs is every catalog Function's spec, image left empty.
func wantFunctionSpecs() map[string]v1beta1.FunctionSpec {
	specs := map[string]v1beta1.FunctionSpec{"update-status": updateStatusSpec}
	for name, tc := range wantTasks {
		args := append([]string{tc.command}, commonFlags...)
		args = append(args, tc.flags...)
		if tc.direction == inBackup {
			args = append(args, retentionFlags...)
		}
		var mounts []corev1.VolumeMount
		if tc.pvc {
			mounts = append(mounts, corev1.VolumeMount{Name: "${targetVolume}", MountPath: "${TARGET_MOUNT_PATH}"})
		}
		mounts = append(mounts, corev1.VolumeMount{Name: "${secretVolume}", MountPath: "/etc/repository/secret", ReadOnly: true})
		spec := v1beta1.FunctionSpec{Args: args, VolumeMounts: mounts}
		if tc.root {
			spec.RuntimeSettings = &v1beta1.ContainerRuntimeSettings{SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](0), RunAsGroup: ptr.To[int64](0)}}
		}
		specs[name] = spec
	}
	return specs
}

func wantTaskSpec(name string, pvc bool) v1beta1.TaskSpec {
	data := v1beta1.FunctionRef{Name: name, Params: []v1beta1.Param{
		{Name: "outputDir", Value: "/tmp/output"},
		{Name: "secretVolume", Value: "secret-volume"},
	}}
	volumes := []corev1.Volume{{
		Name:         "secret-volume",
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "${REPOSITORY_SECRET_NAME}"}},
	}}
	if pvc {
		data.Params = append(data.Params, v1beta1.Param{Name: "targetVolume", Value: "stash-volume"})
		volumes = append(volumes, corev1.Volume{
			Name: "stash-volume",
			VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "${TARGET_NAME}"},
			},
		})
	}
	return v1beta1.TaskSpec{
		Steps: []v1beta1.FunctionRef{
			data,
			{Name: "update-status", Params: []v1beta1.Param{{Name: "outputDir", Value: "/tmp/output"}}},
		},
		Volumes: volumes,
	}
}

func mustLoad(t *testing.T, image string) ([]*v1beta1.Function, []*v1beta1.Task) {
	t.Helper()
	functions, tasks, err := Load(image)
	if err != nil {
		t.Fatalf("Load(%q): %v", image, err)
	}
	return functions, tasks
}

// installed are the names a catalog object of the files is installed
// under: an engine's, once per version (the Task's step renamed alike).
func installed(name string) []string {
	for engine, versions := range Versions {
		if name == engine+"-backup" || name == engine+"-restore" {
			names := make([]string, len(versions))
			for i, v := range versions {
				names[i] = name + "-" + v
			}
			return names
		}
	}
	return []string{name}
}

func TestLoadNames(t *testing.T) {
	functions, tasks := mustLoad(t, testImage)
	var gotFns, gotTasks []string
	for _, fn := range functions {
		gotFns = append(gotFns, fn.Name)
	}
	for _, task := range tasks {
		gotTasks = append(gotTasks, task.Name)
	}
	var wantTaskNames []string
	for name := range wantTasks {
		wantTaskNames = append(wantTaskNames, installed(name)...)
	}
	slices.Sort(wantTaskNames)
	wantFnNames := slices.Sorted(slices.Values(append(slices.Clone(wantTaskNames), "update-status")))
	// Load promises name order, so compare as returned.
	if diff := cmp.Diff(wantFnNames, gotFns); diff != "" {
		t.Errorf("Function names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantTaskNames, gotTasks); diff != "" {
		t.Errorf("Task names (-want +got):\n%s", diff)
	}
	// The names Stash v0.9's addon charts installed, which its users' BackupConfigurations name.
	for _, v09 := range []string{"postgres-backup-11.1", "postgres-restore-11.2", "postgres-backup-9.6", "mysql-backup-8.0.14", "mysql-restore-5.7.25"} {
		if !slices.Contains(gotTasks, v09) {
			t.Errorf("no Task %q", v09)
		}
	}
}

func TestFunctionSpecs(t *testing.T) {
	functions, _ := mustLoad(t, testImage)
	got := map[string]*v1beta1.Function{}
	for _, fn := range functions {
		got[fn.Name] = fn
	}
	for base, want := range wantFunctionSpecs() {
		for _, name := range installed(base) {
			t.Run(name, func(t *testing.T) {
				fn, ok := got[name]
				if !ok {
					t.Fatalf("no Function %q", name)
				}
				want.Image = testImage
				if diff := cmp.Diff(want, fn.Spec); diff != "" {
					t.Errorf("spec (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestTaskSpecs(t *testing.T) {
	_, tasks := mustLoad(t, testImage)
	got := map[string]*v1beta1.Task{}
	for _, task := range tasks {
		got[task.Name] = task
	}
	for base, tc := range wantTasks {
		for _, name := range installed(base) {
			t.Run(name, func(t *testing.T) {
				task, ok := got[name]
				if !ok {
					t.Fatalf("no Task %q", name)
				}
				// The data step names the Function of the Task's own version.
				if diff := cmp.Diff(wantTaskSpec(name, tc.pvc), task.Spec); diff != "" {
					t.Errorf("spec (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// An engine's objects are expanded only when all four are defined, and a
// copy cannot take another object's name.
func TestExpandErrors(t *testing.T) {
	fn := func(name string) *v1beta1.Function {
		return &v1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	task := func(name string) *v1beta1.Task { return &v1beta1.Task{ObjectMeta: metav1.ObjectMeta{Name: name}} }
	all := func() ([]*v1beta1.Function, []*v1beta1.Task) {
		return []*v1beta1.Function{fn("db-backup"), fn("db-restore")}, []*v1beta1.Task{task("db-backup"), task("db-restore")}
	}
	tests := map[string]struct {
		edit     func(fns *[]*v1beta1.Function, tasks *[]*v1beta1.Task)
		versions []string
		want     string
	}{
		"no restore Task": {edit: func(_ *[]*v1beta1.Function, tasks *[]*v1beta1.Task) { *tasks = (*tasks)[:1] },
			versions: []string{"1"}, want: `catalog: no Task "db-restore"`},
		"no backup Function": {edit: func(fns *[]*v1beta1.Function, _ *[]*v1beta1.Task) { *fns = (*fns)[1:] },
			versions: []string{"1"}, want: `catalog: no Function "db-backup"`},
		"a copy named like a defined Function": {edit: func(fns *[]*v1beta1.Function, _ *[]*v1beta1.Task) { *fns = append(*fns, fn("db-backup-1")) },
			versions: []string{"1"}, want: `catalog: Function "db-backup-1" is defined twice`},
		"no version": {versions: []string{}, want: "catalog: engine db has no version"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fns, tasks := all()
			if tc.edit != nil {
				tc.edit(&fns, &tasks)
			}
			_, _, err := expand(fns, tasks, map[string][]string{"db": tc.versions})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// Each version's Task names that version's Function and nothing else is
// renamed; the definitions read from the files are not changed.
func TestExpandRenamesSteps(t *testing.T) {
	fns := []*v1beta1.Function{{ObjectMeta: metav1.ObjectMeta{Name: "db-backup"}}, {ObjectMeta: metav1.ObjectMeta{Name: "db-restore"}}, {ObjectMeta: metav1.ObjectMeta{Name: "update-status"}}}
	steps := func(names ...string) []v1beta1.FunctionRef {
		refs := make([]v1beta1.FunctionRef, len(names))
		for i, n := range names {
			refs[i] = v1beta1.FunctionRef{Name: n}
		}
		return refs
	}
	tasks := []*v1beta1.Task{
		{ObjectMeta: metav1.ObjectMeta{Name: "db-backup"}, Spec: v1beta1.TaskSpec{Steps: steps("db-backup", "update-status")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "db-restore"}, Spec: v1beta1.TaskSpec{Steps: steps("db-restore", "update-status")}},
	}
	gotFns, gotTasks, err := expand(fns, tasks, map[string][]string{"db": {"2", "1.0"}})
	if err != nil {
		t.Fatal(err)
	}
	var fnNames []string
	for _, f := range gotFns {
		fnNames = append(fnNames, f.Name)
	}
	if diff := cmp.Diff([]string{"db-backup-2", "db-backup-1.0", "db-restore-2", "db-restore-1.0", "update-status"}, fnNames); diff != "" {
		t.Errorf("Functions (-want +got):\n%s", diff)
	}
	gotSteps := map[string][]v1beta1.FunctionRef{}
	for _, task := range gotTasks {
		gotSteps[task.Name] = task.Spec.Steps
	}
	want := map[string][]v1beta1.FunctionRef{
		"db-backup-2": steps("db-backup-2", "update-status"), "db-backup-1.0": steps("db-backup-1.0", "update-status"),
		"db-restore-2": steps("db-restore-2", "update-status"), "db-restore-1.0": steps("db-restore-1.0", "update-status"),
	}
	if diff := cmp.Diff(want, gotSteps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if tasks[0].Spec.Steps[0].Name != "db-backup" || fns[0].Name != "db-backup" {
		t.Error("expand changed the definitions it copied")
	}
}

// TestEveryFileDecodesStrictly reads each file on its own: one object, of
// stash.appscode.com/v1beta1, named after the file, decoded strictly, with
// the placeholder image that Load replaces.
func TestEveryFileDecodesStrictly(t *testing.T) {
	files, err := fs.Glob(catalogfiles.FS, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2*len(wantTasks)+1 {
		t.Errorf("%d catalog files, want %d: %v", len(files), 2*len(wantTasks)+1, files)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			raw, err := fs.ReadFile(catalogfiles.FS, file)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := manifest.Split(strings.NewReader(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 {
				t.Fatalf("%d documents, want one object per file", len(docs))
			}
			gvk, err := manifest.GVK(docs[0].JSON)
			if err != nil {
				t.Fatal(err)
			}
			if gv := gvk.GroupVersion(); gv != v1beta1.GroupVersion {
				t.Errorf("apiVersion %s, want %s", gv, v1beta1.GroupVersion)
			}
			obj, err := manifest.Decode(docs[0].JSON)
			if err != nil {
				t.Fatal(err)
			}
			var name string
			switch v := obj.(type) {
			case *v1beta1.Function:
				name = v.Name
				if v.Spec.Image != "stash:latest" {
					t.Errorf("image %q, want the placeholder stash:latest", v.Spec.Image)
				}
			case *v1beta1.Task:
				name = v.Name
			default:
				t.Fatalf("decoded a %T", obj)
			}
			if want := strings.ToLower(gvk.Kind) + "-" + name + ".yaml"; file != want {
				t.Errorf("file holds %s %q; name it %s", gvk.Kind, name, want)
			}
		})
	}
}

func TestStepsNameCatalogFunctions(t *testing.T) {
	functions, tasks := mustLoad(t, testImage)
	known := map[string]bool{}
	for _, fn := range functions {
		known[fn.Name] = true
	}
	used := map[string]bool{}
	for _, task := range tasks {
		for i, step := range task.Spec.Steps {
			used[step.Name] = true
			if !known[step.Name] {
				t.Errorf("task %q step %d names Function %q, which is not in the catalog", task.Name, i, step.Name)
			}
		}
		if n := len(task.Spec.Steps); n == 0 || task.Spec.Steps[n-1].Name != "update-status" {
			t.Errorf("task %q: the last step must be update-status", task.Name)
		}
	}
	for _, fn := range functions {
		if !used[fn.Name] {
			t.Errorf("Function %q is used by no Task", fn.Name)
		}
	}
}

// TestMountsNameTaskVolumes checks that, once a step's params are in, each
// Function volume mount names a volume of the Task, and that each Task volume
// is mounted by some step.
func TestMountsNameTaskVolumes(t *testing.T) {
	functions, tasks := mustLoad(t, testImage)
	byName := map[string]*v1beta1.Function{}
	for _, fn := range functions {
		byName[fn.Name] = fn
	}
	for _, task := range tasks {
		t.Run(task.Name, func(t *testing.T) {
			volumes := map[string]bool{}
			for _, v := range task.Spec.Volumes {
				volumes[v.Name] = true
			}
			mounted := map[string]bool{}
			for i, step := range task.Spec.Steps {
				params := map[string]string{}
				for _, p := range step.Params {
					params[p.Name] = p.Value
				}
				for j, m := range byName[step.Name].Spec.VolumeMounts {
					name, err := evalWith(m.Name, params)
					if err != nil {
						t.Errorf("step %d volumeMounts[%d]: %v", i, j, err)
						continue
					}
					if !volumes[name] {
						t.Errorf("step %d volumeMounts[%d] names volume %q, which the Task does not have", i, j, name)
					}
					mounted[name] = true
				}
			}
			for name := range volumes {
				if !mounted[name] {
					t.Errorf("volume %q is mounted by no step", name)
				}
			}
		})
	}
}

func TestLoadSetsImage(t *testing.T) {
	_, baseTasks := mustLoad(t, "stash:latest")
	tests := map[string]string{
		"tag":                 "stash:v0.1.0",
		"registry and digest": "registry.example.com:5000/team/stash@sha256:" + strings.Repeat("ab", 32),
		"no tag":              "stash",
	}
	for name, image := range tests {
		t.Run(name, func(t *testing.T) {
			functions, tasks := mustLoad(t, image)
			for _, fn := range functions {
				if fn.Spec.Image != image {
					t.Errorf("Function %q image = %q, want %q", fn.Name, fn.Spec.Image, image)
				}
			}
			if diff := cmp.Diff(baseTasks, tasks); diff != "" {
				t.Errorf("the image changed the Tasks (-stash:latest +%s):\n%s", image, diff)
			}
		})
	}
}

func TestLoadReturnsFreshObjects(t *testing.T) {
	functions, tasks := mustLoad(t, testImage)
	functions[0].Spec.Args[0] = "changed"
	tasks[0].Spec.Steps[0].Name = "changed"
	again, againTasks := mustLoad(t, testImage)
	if again[0].Spec.Args[0] == "changed" || againTasks[0].Spec.Steps[0].Name == "changed" {
		t.Fatal("a caller's change to one Load's result shows in the next")
	}
}

func TestLoadRejects(t *testing.T) {
	const fn = "apiVersion: stash.appscode.com/v1beta1\nkind: Function\nmetadata: {name: f}\nspec: {image: x}\n"
	tests := map[string]struct {
		files   fstest.MapFS
		image   string
		wantErr string
	}{
		"empty image": {
			files:   fstest.MapFS{"f.yaml": {Data: []byte(fn)}},
			wantErr: "image must not be empty",
		},
		"no files": {
			files:   fstest.MapFS{"README.md": {Data: []byte("x")}},
			image:   testImage,
			wantErr: "no *.yaml files",
		},
		"unknown field": {
			files: fstest.MapFS{"f.yaml": {Data: []byte(
				"apiVersion: stash.appscode.com/v1beta1\nkind: Function\nmetadata: {name: f}\nspec: {image: x, arg: [a]}\n")}},
			image:   testImage,
			wantErr: `f.yaml: document 0: Function: unknown field "spec.arg"`,
		},
		"duplicate key": {
			files: fstest.MapFS{"t.yaml": {Data: []byte(
				"apiVersion: stash.appscode.com/v1beta1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps: []\n  steps: []\n")}},
			image:   testImage,
			wantErr: "catalog: t.yaml: document 0: yaml: unmarshal errors:\n  line 6: key \"steps\" already set in map",
		},
		"bad YAML": {
			files:   fstest.MapFS{"t.yaml": {Data: []byte("kind: [Task\n")}},
			image:   testImage,
			wantErr: "catalog: t.yaml: document 0: yaml: line 1: did not find expected ',' or ']'",
		},
		"kind of another group": {
			files:   fstest.MapFS{"c.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")}},
			image:   testImage,
			wantErr: "c.yaml: document 0: ConfigMap: " + manifest.ErrUnknownKind.Error(),
		},
		"our kind, not a Function or Task": {
			files: fstest.MapFS{"r.yaml": {Data: []byte(
				"apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {name: r}\n")}},
			image:   testImage,
			wantErr: "r.yaml: document 0: stash.appscode.com/v1alpha1 Repository is not a Function or Task of stash.appscode.com/v1beta1",
		},
		"Function in v1alpha1": {
			files: fstest.MapFS{"f.yaml": {Data: []byte(
				"apiVersion: stash.appscode.com/v1alpha1\nkind: Function\nmetadata: {name: f}\n")}},
			image:   testImage,
			wantErr: "f.yaml: document 0",
		},
		"no name": {
			files:   fstest.MapFS{"f.yaml": {Data: []byte("apiVersion: stash.appscode.com/v1beta1\nkind: Function\nspec: {image: x}\n")}},
			image:   testImage,
			wantErr: "f.yaml: document 0: Function without metadata.name",
		},
		"same Function twice": {
			files: fstest.MapFS{
				"a.yaml": {Data: []byte(fn)},
				"b.yaml": {Data: []byte(fn)},
			},
			image:   testImage,
			wantErr: `b.yaml: Function "f" is already defined in a.yaml`,
		},
		"same Function twice in one file": {
			files:   fstest.MapFS{"a.yaml": {Data: []byte(fn + "---\n" + fn)}},
			image:   testImage,
			wantErr: `a.yaml: Function "f" is already defined in a.yaml`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := load(tc.files, tc.image, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("load error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestLoadSortsAndSkipsOtherFiles: a Function and a Task may share a name,
// files other than *.yaml are ignored and results come sorted by name
// whatever the file order.
func TestLoadSortsAndSkipsOtherFiles(t *testing.T) {
	files := fstest.MapFS{
		"a.yaml": {Data: []byte("apiVersion: stash.appscode.com/v1beta1\nkind: Function\nmetadata: {name: zeta}\nspec: {image: x}\n" +
			"---\napiVersion: stash.appscode.com/v1beta1\nkind: Task\nmetadata: {name: zeta}\n")},
		"b.yaml": {Data: []byte("# only a comment\n---\napiVersion: stash.appscode.com/v1beta1\nkind: Function\nmetadata: {name: alpha}\n" +
			"---\napiVersion: stash.appscode.com/v1beta1\nkind: Task\nmetadata: {name: alpha}\n")},
		"embed.go": {Data: []byte("package catalog\n")},
		"c.yml":    {Data: []byte("not: [read\n")},
	}
	functions, tasks, err := load(files, testImage, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fn := range functions {
		got = append(got, "Function/"+fn.Name+"@"+fn.Spec.Image)
	}
	for _, task := range tasks {
		got = append(got, "Task/"+task.Name)
	}
	want := []string{"Function/alpha@" + testImage, "Function/zeta@" + testImage, "Task/alpha", "Task/zeta"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
