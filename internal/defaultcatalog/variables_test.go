package defaultcatalog

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	catalogfiles "github.com/stash-operator/stash/config/catalog"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/resolve/subst"
)

// availability says in which jobs a built-in variable always has a value.
type availability uint8

const (
	inBackup  availability = 1 << iota // every backup job
	inRestore                          // every restore job
)

func (a availability) String() string {
	switch a {
	case inBackup:
		return "backup"
	case inRestore:
		return "restore"
	}
	return fmt.Sprintf("availability(%d)", uint8(a))
}

// builtins are the variable names of reference §3.3. The value says in which
// jobs the variable is always set; 0 marks a name that is known but not
// always set (only for some providers, only when a retention rule is given,
// only for hooks or BackupBlueprints, or a later addition), so a catalog
// Function that uses it must give an inline default.
var builtins = map[string]availability{
	"NAMESPACE":                  inBackup | inRestore,
	"BACKUP_SESSION":             inBackup,
	"RESTORE_SESSION":            inRestore,
	"REPOSITORY_NAME":            inBackup | inRestore,
	"REPOSITORY_PROVIDER":        inBackup | inRestore,
	"REPOSITORY_BUCKET":          inBackup | inRestore,
	"REPOSITORY_PREFIX":          inBackup | inRestore,
	"REPOSITORY_ENDPOINT":        0, // s3 and rest only
	"REPOSITORY_REGION":          0, // s3 only
	"MAX_CONNECTIONS":            inBackup | inRestore,
	"REPOSITORY_URL":             inBackup | inRestore,
	"HOSTNAME":                   inBackup | inRestore,
	"SOURCE_HOSTNAME":            inRestore,
	"TARGET_NAME":                inBackup | inRestore,
	"TARGET_KIND":                inBackup,
	"TARGET_PATHS":               inBackup,
	"TARGET_MOUNT_PATH":          inBackup | inRestore,
	"TARGET_APP_REPLICAS":        inRestore,
	"RESTORE_PATHS":              inRestore,
	"RESTORE_SNAPSHOTS":          inRestore,
	"ENABLE_CACHE":               inBackup | inRestore,
	"INTERIM_DATA_DIR":           inBackup | inRestore,
	"PROMETHEUS_PUSHGATEWAY_URL": inBackup | inRestore,
	"PROMETHEUS_JOB_NAME":        inBackup | inRestore,
	"STASH_DOCKER_REGISTRY":      inBackup | inRestore,
	"STASH_DOCKER_IMAGE":         inBackup | inRestore,
	"STASH_IMAGE_TAG":            inBackup | inRestore,
	// Stash sets REPOSITORY_SECRET_NAME only when the Repository names a
	// Secret. The shipped Tasks use it without a default on purpose: restic
	// cannot open a repository without the password the Secret holds, so a
	// Repository without one must fail resolution, not mount a Secret "".
	"REPOSITORY_SECRET_NAME": inBackup | inRestore,

	// Set only when the BackupConfiguration's retention policy sets them.
	"RETENTION_KEEP_LAST":    0,
	"RETENTION_KEEP_HOURLY":  0,
	"RETENTION_KEEP_DAILY":   0,
	"RETENTION_KEEP_WEEKLY":  0,
	"RETENTION_KEEP_MONTHLY": 0,
	"RETENTION_KEEP_YEARLY":  0,
	"RETENTION_KEEP_TAGS":    0,
	"RETENTION_PRUNE":        0,
	"RETENTION_DRY_RUN":      0,

	// Ours, set in every backup Job (package maintenance); catalog
	// Functions default them to Stash v0.9's every-backup behaviour.
	"REPOSITORY_CHECK":   inBackup,
	"REPOSITORY_MEASURE": inBackup,

	// Hooks, BackupBlueprints and volumeClaimTemplates only.
	"HOOK_TYPE":           0,
	"TARGET_API_VERSION":  0,
	"TARGET_NAMESPACE":    0,
	"TARGET_RESOURCE":     0,
	"TARGET_APP_VERSION":  0,
	"TARGET_APP_TYPE":     0,
	"TARGET_APP_GROUP":    0,
	"TARGET_APP_RESOURCE": 0,
	"POD_ORDINAL":         0,

	// Later additions listed in §3.3.
	"REPOSITORY_NAMESPACE":        0,
	"REPOSITORY_SECRET_NAMESPACE": 0,
	"REPOSITORY_INSECURE_TLS":     0,
	"INVOKER_KIND":                0,
	"INVOKER_NAME":                0,
	"ADDON_IMAGE":                 0,
	"EXCLUDE_PATTERNS":            0,
	"INCLUDE_PATTERNS":            0,
	"DRIVER_ARGS":                 0,
	"LICENSE_APISERVICE":          0,
}

// upperSnake is the shape of built-in names. User params are lowerCamel by
// convention, so an UPPER_SNAKE name that is not a built-in is almost
// certainly a misspelt one, which an inline default would otherwise hide.
var upperSnake = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// checkVariables returns, in a stable order, every problem with the ${...}
// variables of the given Tasks and of the Functions their steps name. Every
// string of every Task spec and, once per step that uses it, every string of
// the Function's spec is checked. A variable must be:
//   - a built-in always set in the Task's kind of job (directions), or
//   - for a Function, a param of the Task step that uses it (Task strings
//     see no step params, as in the resolver), or
//   - written with an inline default (nested defaults are checked too).
//
// Moreover an UPPER_SNAKE name must be a built-in, and every step param must
// be used by its Function.
func checkVariables(functions []*v1beta1.Function, tasks []*v1beta1.Task, directions map[string]availability) []string {
	byName := map[string]*v1beta1.Function{}
	for _, fn := range functions {
		byName[fn.Name] = fn
	}
	var problems []string
	for _, task := range tasks {
		dir, ok := directions[task.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("task %q: not known to be a backup or a restore Task", task.Name))
			continue
		}
		where := fmt.Sprintf("task %q", task.Name)
		walkStrings("spec", reflect.ValueOf(task.Spec), func(path, s string) {
			problems = append(problems, checkString(where+": "+path, s, dir, nil)...)
		})
		for i, step := range task.Spec.Steps {
			where := fmt.Sprintf("task %q step %d (function %q)", task.Name, i, step.Name)
			fn, ok := byName[step.Name]
			if !ok {
				problems = append(problems, where+": no such Function in the catalog")
				continue
			}
			params := map[string]bool{}
			for _, p := range step.Params {
				params[p.Name] = true
			}
			used := map[string]bool{}
			walkStrings("spec", reflect.ValueOf(fn.Spec), func(path, s string) {
				problems = append(problems, checkString(where+": "+path, s, dir, params)...)
				refs, _ := subst.References(s) // a syntax error is reported by checkString
				for _, r := range refs {
					used[r] = true
				}
			})
			for j, p := range step.Params {
				if !used[p.Name] {
					problems = append(problems, fmt.Sprintf("%s: spec.steps[%d].params[%d]: param %q is not used by the Function", where, i, j, p.Name))
				}
			}
		}
	}
	return problems
}

// checkString checks one string field; see checkVariables.
func checkString(where, s string, dir availability, params map[string]bool) []string {
	refs, err := subst.References(s)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", where, err)}
	}
	var problems []string
	for _, r := range refs {
		if _, known := builtins[r]; upperSnake.MatchString(r) && !known && !params[r] {
			problems = append(problems, fmt.Sprintf("%s: variable ${%s} is not a built-in variable (reference §3.3)", where, r))
		}
	}
	// With every variable absent, every default is expanded, so each
	// variable reported here is one that must have a value.
	_, err = subst.Eval(s, nil)
	for _, e := range splitJoined(err) {
		var unresolved *subst.UnresolvedError
		var required *subst.RequiredError
		name := ""
		switch {
		case errors.As(e, &unresolved):
			name = unresolved.Variable
		case errors.As(e, &required):
			name = required.Variable
		default:
			problems = append(problems, fmt.Sprintf("%s: %v", where, e))
			continue
		}
		if params[name] || builtins[name]&dir != 0 {
			continue
		}
		why := "is not a param of this step"
		switch a, known := builtins[name]; {
		case params == nil && !known:
			why = "is not a built-in (a Task's own strings see no step params)"
		case known && a == 0:
			why = "is a built-in that is not always set"
		case known:
			why = fmt.Sprintf("is a built-in that %s jobs do not set", dir)
		}
		problems = append(problems, fmt.Sprintf("%s: variable ${%s} has no inline default and %s", where, name, why))
	}
	return problems
}

// splitJoined returns the errors an errors.Join holds, or err itself.
func splitJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// walkStrings calls visit for every string reachable from v through exported
// struct fields, pointers, interfaces, slices, arrays and maps (keys and
// values), with a path built from the JSON field names, e.g.
// spec.volumes[0].secret.secretName. Map entries are visited in key order.
func walkStrings(path string, v reflect.Value, visit func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		visit(path, v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(path, v.Elem(), visit)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(fmt.Sprintf("%s[%d]", path, i), v.Index(i), visit)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			return strings.Compare(fmt.Sprint(a.Interface()), fmt.Sprint(b.Interface()))
		})
		for _, k := range keys {
			ks := fmt.Sprint(k.Interface())
			walkStrings(fmt.Sprintf("%s(key %q)", path, ks), k, visit)
			walkStrings(fmt.Sprintf("%s[%s]", path, ks), v.MapIndex(k), visit)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, inline := jsonName(f)
			if name == "-" {
				continue
			}
			p := path
			if !inline {
				p = path + "." + name
			}
			walkStrings(p, v.Field(i), visit)
		}
	}
}

// jsonName is a field's JSON name, and whether its fields are inlined.
func jsonName(f reflect.StructField) (name string, inline bool) {
	tag, ok := f.Tag.Lookup("json")
	if !ok {
		return f.Name, f.Anonymous
	}
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		if slices.Contains(strings.Split(opts, ","), "inline") || f.Anonymous {
			return "", true
		}
		return f.Name, false
	}
	return name, false
}

// evalWith substitutes s with vars as the only variables.
func evalWith(s string, vars map[string]string) (string, error) {
	return subst.Eval(s, func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	})
}

// TestCatalogVariables checks the catalog as written (read, not Load, so the
// YAML's own image is checked too).
func TestCatalogVariables(t *testing.T) {
	functions, tasks, err := read(catalogfiles.FS)
	if err != nil {
		t.Fatal(err)
	}
	directions := map[string]availability{}
	for name, tc := range wantTasks {
		directions[name] = tc.direction
	}
	for _, p := range checkVariables(functions, tasks, directions) {
		t.Error(p)
	}
}

// TestCheckVariables shows that checkVariables reaches every kind of string
// field and applies each rule: a variable planted in one place must be
// reported there, and well-formed uses must not be.
func TestCheckVariables(t *testing.T) {
	const (
		dataStep   = `task "t" step 0 (function "data"): `
		statusStep = `task "t" step 1 (function "status"): `
		taskSpec   = `task "t": `
		noDefault  = "has no inline default and "
	)
	tests := map[string]struct {
		direction availability // default inBackup
		edit      func(data, status *v1beta1.FunctionSpec, task *v1beta1.TaskSpec)
		want      []string // each problem must contain one, in order
	}{
		"base": {edit: func(*v1beta1.FunctionSpec, *v1beta1.FunctionSpec, *v1beta1.TaskSpec) {}},
		"base, restore job": {
			direction: inRestore,
			edit:      func(*v1beta1.FunctionSpec, *v1beta1.FunctionSpec, *v1beta1.TaskSpec) {},
		},
		"image": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.Image = "stash:${tag}" },
			want: []string{dataStep + "spec.image: variable ${tag} " + noDefault + "is not a param of this step"},
		},
		"command": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.Command = []string{"/bin/${nope}"} },
			want: []string{dataStep + "spec.command[0]: variable ${nope} "},
		},
		"args": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.Args = append(d.Args, "--x=${nope}") },
			want: []string{dataStep + "spec.args[4]: variable ${nope} "},
		},
		"workingDir": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.WorkingDir = "${nope}" },
			want: []string{dataStep + "spec.workingDir: variable ${nope} "},
		},
		"ports": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) {
				d.Ports = []corev1.ContainerPort{{Name: "${nope}", ContainerPort: 80}}
			},
			want: []string{dataStep + "spec.ports[0].name: variable ${nope} "},
		},
		"volumeMounts mountPath, subPath and subPathExpr": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) {
				d.VolumeMounts[0].MountPath = "${a}"
				d.VolumeMounts[0].SubPath = "${b}"
				d.VolumeMounts[0].SubPathExpr = "${c}"
			},
			want: []string{
				dataStep + "spec.volumeMounts[0].mountPath: variable ${a} ",
				dataStep + "spec.volumeMounts[0].subPath: variable ${b} ",
				dataStep + "spec.volumeMounts[0].subPathExpr: variable ${c} ",
			},
		},
		"volumeDevices": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) {
				d.VolumeDevices = []corev1.VolumeDevice{{Name: "${secretVolume}", DevicePath: "/dev/${nope}"}}
			},
			want: []string{dataStep + "spec.volumeDevices[0].devicePath: variable ${nope} "},
		},
		"runtimeSettings env": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) {
				d.RuntimeSettings = &v1beta1.ContainerRuntimeSettings{Env: []corev1.EnvVar{
					{Name: "A", Value: "${a}"},
					{Name: "B", ValueFrom: &corev1.EnvVarSource{
						SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "${b}"}},
					}},
				}}
			},
			want: []string{
				dataStep + "spec.runtimeSettings.env[0].value: variable ${a} ",
				dataStep + "spec.runtimeSettings.env[1].valueFrom.secretKeyRef.name: variable ${b} ",
			},
		},
		"runtimeSettings lifecycle": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) {
				d.RuntimeSettings = &v1beta1.ContainerRuntimeSettings{Lifecycle: &corev1.Lifecycle{
					PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "${nope}"}}},
				}}
			},
			want: []string{dataStep + "spec.runtimeSettings.lifecycle.preStop.exec.command[1]: variable ${nope} "},
		},
		"task volume": {
			edit: func(_, _ *v1beta1.FunctionSpec, task *v1beta1.TaskSpec) {
				task.Volumes[0].Secret.SecretName = "${nope}"
			},
			want: []string{taskSpec + "spec.volumes[0].secret.secretName: variable ${nope} " + noDefault + "is not a built-in"},
		},
		"task volume map key and value": {
			edit: func(_, _ *v1beta1.FunctionSpec, task *v1beta1.TaskSpec) {
				task.Volumes = append(task.Volumes, corev1.Volume{Name: "c", VolumeSource: corev1.VolumeSource{
					CSI: &corev1.CSIVolumeSource{Driver: "d", VolumeAttributes: map[string]string{"${k}": "${v}"}},
				}})
			},
			want: []string{
				taskSpec + `spec.volumes[1].csi.volumeAttributes(key "${k}"): variable ${k} `,
				taskSpec + "spec.volumes[1].csi.volumeAttributes[${k}]: variable ${v} ",
			},
		},
		"task step param value sees no step params": {
			edit: func(_, _ *v1beta1.FunctionSpec, task *v1beta1.TaskSpec) {
				task.Steps[1].Params[0].Value = "${secretVolume}"
			},
			want: []string{taskSpec + "spec.steps[1].params[0].value: variable ${secretVolume} " + noDefault + "is not a built-in"},
		},
		"a step's params are its own": {
			edit: func(_, s *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { s.Args = append(s.Args, "--s=${secretVolume}") },
			want: []string{statusStep + "spec.args[2]: variable ${secretVolume} " + noDefault + "is not a param of this step"},
		},
		"restore-only built-in in a backup job": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.Args[0] = "--restore-paths=${RESTORE_PATHS}" },
			want: []string{dataStep + "spec.args[0]: variable ${RESTORE_PATHS} " + noDefault + "is a built-in that backup jobs do not set"},
		},
		"backup-only built-in in a restore job": {
			direction: inRestore,
			edit:      func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.Args[0] = "--backup-paths=${TARGET_PATHS}" },
			want:      []string{dataStep + "spec.args[0]: variable ${TARGET_PATHS} " + noDefault + "is a built-in that restore jobs do not set"},
		},
		"built-in that is not always set": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.Args[0] = "--region=${REPOSITORY_REGION}" },
			want: []string{dataStep + "spec.args[0]: variable ${REPOSITORY_REGION} " + noDefault + "is a built-in that is not always set"},
		},
		"misspelt built-in hidden by a default": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) {
				d.Args[0] = "--enable-cache=${ENABLE_CACH:=true}"
			},
			want: []string{dataStep + "spec.args[0]: variable ${ENABLE_CACH} is not a built-in variable"},
		},
		"nested default without a default": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.Args[0] = "--x=${pgArgs:=${nope}}" },
			want: []string{dataStep + "spec.args[0]: variable ${nope} "},
		},
		"operator without a default": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.Args[0] = "--x=${pgArgs^^}" },
			want: []string{dataStep + "spec.args[0]: variable ${pgArgs} "},
		},
		"required variable": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.Args[0] = "--x=${pgArgs:?set pgArgs}" },
			want: []string{dataStep + "spec.args[0]: variable ${pgArgs} "},
		},
		"syntax error": {
			edit: func(d, _ *v1beta1.FunctionSpec, _ *v1beta1.TaskSpec) { d.Args[0] = "--x=${a b}" },
			want: []string{dataStep + "spec.args[0]: bad substitution"},
		},
		"unused step param": {
			edit: func(_, _ *v1beta1.FunctionSpec, task *v1beta1.TaskSpec) {
				task.Steps[1].Params = append(task.Steps[1].Params, v1beta1.Param{Name: "outputDri", Value: "/x"})
			},
			want: []string{statusStep + `spec.steps[1].params[1]: param "outputDri" is not used by the Function`},
		},
		"step names no Function": {
			edit: func(_, _ *v1beta1.FunctionSpec, task *v1beta1.TaskSpec) { task.Steps[1].Name = "gone" },
			want: []string{`task "t" step 1 (function "gone"): no such Function in the catalog`},
		},
		"accepted forms": {
			edit: func(d, _ *v1beta1.FunctionSpec, task *v1beta1.TaskSpec) {
				d.Args = append(d.Args,
					"--paths=${TARGET_PATHS}",            // built-in always set in backup jobs
					"--x=${anything:=${HOSTNAME}}",       // default that is a built-in
					"--y=${pgArgs:-}",                    // empty default
					"$(KUBERNETES_VAR) $$ $${LITERAL}",   // not ours to expand
					"--z=${REPOSITORY_ENDPOINT:=none}",   // not always set, but defaulted
					"--o=${outputDir/#\\/tmp/${home:=}}", // operator on a step param
				)
				task.Volumes[0].Secret.Items = []corev1.KeyToPath{{Key: "${REPOSITORY_NAME}", Path: "p"}}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			data := v1beta1.FunctionSpec{
				Image: "stash:latest",
				Args:  []string{"run", "--output-dir=${outputDir}", "--target=${TARGET_NAME}", "--pg-args=${pgArgs:=}"},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "${secretVolume}", MountPath: "/etc/repository/secret", ReadOnly: true},
				},
			}
			status := v1beta1.FunctionSpec{Image: "stash:latest", Args: []string{"status", "--output-dir=${outputDir:=}"}}
			task := v1beta1.TaskSpec{
				Steps: []v1beta1.FunctionRef{
					{Name: "data", Params: []v1beta1.Param{{Name: "outputDir", Value: "/tmp/output"}, {Name: "secretVolume", Value: "secret-volume"}}},
					{Name: "status", Params: []v1beta1.Param{{Name: "outputDir", Value: "/tmp/output"}}},
				},
				Volumes: []corev1.Volume{{
					Name:         "secret-volume",
					VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "${REPOSITORY_SECRET_NAME}"}},
				}},
			}
			tc.edit(&data, &status, &task)
			dir := tc.direction
			if dir == 0 {
				dir = inBackup
			}
			functions := []*v1beta1.Function{
				{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: data},
				{ObjectMeta: metav1.ObjectMeta{Name: "status"}, Spec: status},
			}
			tasks := []*v1beta1.Task{{ObjectMeta: metav1.ObjectMeta{Name: "t"}, Spec: task}}
			got := checkVariables(functions, tasks, map[string]availability{"t": dir})
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("problem %d = %q\nwant it to contain %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestCheckVariablesUnknownTask(t *testing.T) {
	tasks := []*v1beta1.Task{{ObjectMeta: metav1.ObjectMeta{Name: "t"}}}
	got := checkVariables(nil, tasks, nil)
	if len(got) != 1 || !strings.Contains(got[0], "not known to be a backup or a restore Task") {
		t.Fatalf("got %q", got)
	}
}

// The availability table above must not drift from the resolver: a name it
// says is always set is one the resolver provides, and every name the
// resolver provides is in the table. (Names with availability 0 may be
// Stash names we do not provide: they are listed to catch misspellings.)
func TestBuiltinTableMatchesResolver(t *testing.T) {
	for name, avail := range builtins {
		if avail != 0 && !slices.Contains(resolve.BuiltinNames, name) {
			t.Errorf("the table says %s is always set, but the resolver does not provide it", name)
		}
	}
	for _, name := range resolve.BuiltinNames {
		if _, ok := builtins[name]; !ok {
			t.Errorf("the resolver provides %s, but the table does not know it", name)
		}
	}
}
