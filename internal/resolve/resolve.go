// Package resolve turns a Task, the Functions it names, the invoker, the
// session, the Repository and the target into one batch/v1 Job, or into the
// list of every problem found. It is pure: no Kubernetes client, no I/O. The
// operator, the dry-run condition of a BackupConfiguration and the offline
// `stash resolve` command all call it, so they cannot disagree.
package resolve

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/resolve/subst"
	"github.com/stash-operator/stash/internal/version"
)

// Options are the operator's settings that shape every Job.
type Options struct {
	// Image of the stash binary, used by hook containers and STASH_* variables.
	Image string
	// ImagePullPolicy of every container; default IfNotPresent.
	ImagePullPolicy corev1.PullPolicy
	// PushgatewayURL is PROMETHEUS_PUSHGATEWAY_URL; may be empty.
	PushgatewayURL string
}

func (o Options) withDefaults() Options {
	if o.Image == "" {
		o.Image = version.Image()
	}
	if o.ImagePullPolicy == "" {
		o.ImagePullPolicy = corev1.PullIfNotPresent
	}
	return o
}

// Catalog is where Tasks and Functions are looked up by name.
type Catalog struct {
	Tasks     map[string]*stashv1beta1.Task
	Functions map[string]*stashv1beta1.Function
}

// Host is the host a Job backs up or restores: its name (HOSTNAME, the
// snapshots' host), its place among the session's hosts, where the Job runs
// and the target's volumes as the Job mounts them. A PVC or a database is
// one host, SingleHost; a workload has one per replica or node.
type Host struct {
	Name string
	// Index is the host's position in the session's hosts: its Job's name.
	Index int
	// Ordinal is the StatefulSet replica's ordinal (POD_ORDINAL), or -1.
	Ordinal int
	// Node is the node the Job must run on (the host's pod's); empty for
	// anywhere.
	Node string
	// Volumes are the target's volumes, which the Job mounts at the
	// target's volumeMounts; set for workloads and claim templates.
	Volumes []corev1.Volume
	// Pod is the target's pod that hooks exec in (and send HTTP or TCP
	// requests to when they name no host): the workload's pod of the host,
	// the database pod behind an AppBinding, the pod that mounts a claim.
	// Empty when none runs, or none was looked for.
	Pod string
	// App is the target's AppBinding as TARGET_APP_* tell it; nil for a
	// target that is not one, or one not read (the variables are unset).
	App *App
}

// SingleHost is the one host of a PVC or database target.
var SingleHost = Host{Name: "host-0", Ordinal: -1}

// Result is a resolved Job and what the user should know about it.
type Result struct {
	Job *batchv1.Job
	// InterimClaim is the claim of the invoker's interimVolumeTemplate that
	// the Job mounts, to create before it (nil: none).
	InterimClaim *corev1.PersistentVolumeClaim
	// Task is the Task the Job runs: the invoker's, or the catalog's
	// default for a workload.
	Task string
	// Warnings, e.g. a param shadowed by a built-in variable. Not errors.
	Warnings []string
}

// Objects are what the operator creates for the host, in order: the
// interim claim, if any, then the Job.
func (r *Result) Objects() []runtime.Object {
	if r.InterimClaim != nil {
		return []runtime.Object{r.InterimClaim, r.Job}
	}
	return []runtime.Object{r.Job}
}

// Backup resolves the Job of host of session bs of configuration bc. repo
// may be nil (not found); the error then says so.
func Backup(cat Catalog, bc *stashv1beta1.BackupConfiguration, bs *stashv1beta1.BackupSession, repo *stashv1alpha1.Repository, host Host, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	inv := backupInvoker(bc, bs, host)
	if err := inv.checkRepository(repo); err != nil {
		return nil, Errors{err}
	}
	builtins, err := backupVars(bc, bs, repo, host, opts)
	if err != nil {
		return nil, Errors{&FieldError{Object: repositoryObject(repo), Step: -1, Field: "spec.backend", Err: err}}
	}
	return resolve(cat, inv, builtins, repo, opts)
}

// Restore resolves the Job of host of RestoreSession rs.
func Restore(cat Catalog, rs *stashv1beta1.RestoreSession, repo *stashv1alpha1.Repository, host Host, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	inv := restoreInvoker(rs, host)
	if err := inv.checkRepository(repo); err != nil {
		return nil, Errors{err}
	}
	builtins, err := restoreVars(rs, repo, host, opts)
	if err != nil {
		return nil, Errors{&FieldError{Object: repositoryObject(repo), Step: -1, Field: "spec.backend", Err: err}}
	}
	return resolve(cat, inv, builtins, repo, opts)
}

func repositoryObject(repo *stashv1alpha1.Repository) string {
	return fmt.Sprintf("Repository %q", repo.Namespace+"/"+repo.Name)
}

// step is one resolved step of the Task.
type step struct {
	index     int
	function  string
	container corev1.Container
}

// resolution collects problems and warnings while a Job is resolved.
type resolution struct {
	errs     Errors
	warnings []string
}

func (r *resolution) fail(e *FieldError) { r.errs = append(r.errs, e) }

func resolve(cat Catalog, inv *invoker, builtins vars, repo *stashv1alpha1.Repository, opts Options) (*Result, error) {
	r := &resolution{}
	if errs := checkUnsupported(inv); len(errs) > 0 {
		return nil, errs
	}
	taskName := inv.taskName()
	if taskName == "" {
		example := "pvc-backup"
		if inv.restores() {
			example = "pvc-restore"
		}
		return nil, Errors{&FieldError{Object: inv.object(), Step: -1, Field: "spec.task.name",
			Err: fmt.Errorf("no Task is named: set spec.task.name, e.g. %s", example)}}
	}
	stored, ok := cat.Tasks[taskName]
	if !ok {
		return nil, Errors{&FieldError{Object: inv.object(), Step: -1, Field: "spec.task.name",
			Err: &NotFoundError{Kind: "Task", Name: taskName}, Suggestion: quoted(closest(taskName, keys(cat.Tasks)))}}
	}
	taskObject := fmt.Sprintf("task %q", taskName)
	if len(stored.Spec.Steps) == 0 {
		return nil, Errors{&FieldError{Object: taskObject, Step: -1, Field: "spec.steps",
			Err: errors.New("the Task has no steps: add at least one step")}}
	}

	invokerParams := paramMap(inv.taskRef.Params)
	r.warnShadowed(func() string { return inv.object() + " spec.task.params" }, inv.taskRef.Params)

	// The Task's own strings see the built-ins and the invoker's params.
	task := stored.Spec.DeepCopy()
	taskScope := []vars{builtins, invokerParams}
	for i := range task.Steps {
		s := &task.Steps[i]
		r.substitute(reflect.ValueOf(&s.Params).Elem(), append(path("spec", "steps"), index(i), field("params")),
			&FieldError{Object: taskObject, Step: i, Function: s.Name}, taskScope)
	}
	r.substitute(reflect.ValueOf(&task.Volumes).Elem(), path("spec", "volumes"),
		&FieldError{Object: taskObject, Step: -1}, taskScope)
	if errs := checkClaimTaskOnWorkload(inv, taskName, task.Volumes); len(errs) > 0 {
		return nil, errs
	}
	// Hook strings are resolved field by field, as a Function's are.
	for _, hooks := range [][]hook{inv.preHooks, inv.postHooks} {
		for i := range hooks {
			r.substitute(reflect.ValueOf(&hooks[i].handler).Elem(), hooks[i].field,
				&FieldError{Object: inv.object(), Step: -1}, taskScope)
		}
	}
	r.errs = append(r.errs, checkHooks(inv)...)

	var steps []step
	for i, ref := range task.Steps {
		fn, ok := cat.Functions[ref.Name]
		if !ok {
			r.fail(&FieldError{Object: taskObject, Step: i, Function: ref.Name, Field: fmt.Sprintf("spec.steps[%d].name", i),
				Err: &NotFoundError{Kind: "Function", Name: ref.Name}, Suggestion: quoted(closest(ref.Name, keys(cat.Functions)))})
			continue
		}
		stepParams := paramMap(ref.Params)
		r.warnShadowed(func() string { return fmt.Sprintf("%s step %d params", taskObject, i) }, ref.Params)
		spec := fn.Spec.DeepCopy()
		r.substitute(reflect.ValueOf(spec).Elem(), path("spec"),
			&FieldError{Object: taskObject, Step: i, Function: ref.Name}, []vars{builtins, invokerParams, stepParams})
		steps = append(steps, step{index: i, function: ref.Name, container: stepContainer(fn.Name, i, spec, opts)})
	}
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	if errs := checkInitContainers(inv, taskName, steps); len(errs) > 0 {
		return nil, errs
	}

	job, err := buildJob(inv, task, steps, repo, builtins, opts)
	if err != nil {
		return nil, err
	}
	return &Result{Job: job, InterimClaim: interimClaim(inv, job), Task: taskName, Warnings: r.warnings}, nil
}

// substitute resolves every string under v. scopes are looked up in order:
// the first that has the variable wins (built-ins, then invoker params, then
// step params; inline defaults come last by construction).
func (r *resolution) substitute(v reflect.Value, base fieldPath, where *FieldError, scopes []vars) {
	lookup := func(name string) (string, bool) {
		for _, s := range scopes {
			if val, ok := s[name]; ok {
				return val, true
			}
		}
		return "", false
	}
	walkStrings(v, base, func(at fieldPath, s string) (string, bool) {
		out, err := subst.Eval(s, lookup)
		if err == nil {
			return out, true
		}
		r.reportSubstitution(err, at.String(), where, scopes)
		return "", false
	})
}

func (r *resolution) reportSubstitution(err error, field string, where *FieldError, scopes []vars) {
	var problems []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		problems = joined.Unwrap()
	} else {
		problems = []error{err}
	}
	for _, p := range problems {
		e := *where
		e.Field, e.Err = field, p
		var unresolved *subst.UnresolvedError
		if errors.As(p, &unresolved) {
			e.Variable = unresolved.Variable
			if why, ok := whyUnset[unresolved.Variable]; ok {
				e.Err = fmt.Errorf("%w: %s", p, why)
			} else if s := closest(unresolved.Variable, knownNames(scopes)); s != "" {
				e.Suggestion = "${" + s + "}"
			}
		}
		var required *subst.RequiredError
		if errors.As(p, &required) {
			e.Variable = required.Variable
		}
		r.fail(&e)
	}
}

// warnShadowed warns about params that a built-in variable always overrides.
// where is a func so that the common case, no warning, formats nothing.
func (r *resolution) warnShadowed(where func() string, params []stashv1beta1.Param) {
	for _, p := range params {
		if builtinSet[p.Name] {
			r.warnings = append(r.warnings, fmt.Sprintf("%s: param %q has the name of a built-in variable; the built-in value wins and this param is ignored", where(), p.Name))
		}
	}
}

func knownNames(scopes []vars) []string {
	names := append([]string(nil), BuiltinNames...)
	for _, s := range scopes {
		for n := range s {
			if !builtinSet[n] {
				names = append(names, n)
			}
		}
	}
	return names
}

func paramMap(params []stashv1beta1.Param) vars {
	v := make(vars, len(params))
	for _, p := range params {
		v[p.Name] = p.Value // a later duplicate wins, as in Stash
	}
	return v
}

func keys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func quoted(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf("%q", s)
}

// parseTimeout reads spec.timeOut into whole seconds.
func parseTimeout(s string) (*int64, error) {
	if s == "" {
		return nil, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("%q is not a positive duration such as 30m or 1h30m", s)
	}
	secs := int64((d + time.Second - 1) / time.Second)
	return &secs, nil
}
