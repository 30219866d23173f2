package resolve

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/schedule"
	"github.com/stash-operator/stash/internal/workload"
)

// Objects is a set of API objects read offline, from manifests, indexed for
// resolution. Adding an object replaces one of the same kind and name, so
// that a user's file overrides the default catalog.
type Objects struct {
	Catalog
	Repositories         map[string]*stashv1alpha1.Repository // by namespace/name
	BackupConfigurations map[string]*stashv1beta1.BackupConfiguration
	BackupSessions       map[string]*stashv1beta1.BackupSession
	RestoreSessions      map[string]*stashv1beta1.RestoreSession
	// Workloads, by kind/namespace/name, and their pods: what a workload
	// target's hosts are planned from.
	Workloads map[string]workload.Object
	Pods      []*corev1.Pod
	// AppBindings, by namespace/name: their type and version are the
	// TARGET_APP_* of a database target.
	AppBindings map[string]*appcatalogv1alpha1.AppBinding
}

// NewObjects returns an empty set.
func NewObjects() *Objects {
	return &Objects{
		Catalog:              Catalog{Tasks: map[string]*stashv1beta1.Task{}, Functions: map[string]*stashv1beta1.Function{}},
		Repositories:         map[string]*stashv1alpha1.Repository{},
		BackupConfigurations: map[string]*stashv1beta1.BackupConfiguration{},
		BackupSessions:       map[string]*stashv1beta1.BackupSession{},
		RestoreSessions:      map[string]*stashv1beta1.RestoreSession{},
		Workloads:            map[string]workload.Object{},
		AppBindings:          map[string]*appcatalogv1alpha1.AppBinding{},
	}
}

// Add indexes obj; namespaced objects without a namespace get namespace.
// It reports whether obj is of a kind resolution uses (an AppBinding for
// the TARGET_APP_* of the invoker that names it; the Functions read the
// rest of it at run time).
func (o *Objects) Add(obj runtime.Object, namespace string) bool {
	if m, ok := obj.(metav1.Object); ok && m.GetNamespace() == "" {
		switch obj.(type) {
		case *stashv1beta1.Task, *stashv1beta1.Function:
		default:
			m.SetNamespace(namespace)
		}
	}
	switch x := obj.(type) {
	case *stashv1beta1.Task:
		o.Tasks[x.Name] = x
	case *stashv1beta1.Function:
		o.Functions[x.Name] = x
	case *stashv1alpha1.Repository:
		o.Repositories[key(x.Namespace, x.Name)] = x
	case *stashv1beta1.BackupConfiguration:
		o.BackupConfigurations[key(x.Namespace, x.Name)] = x
	case *stashv1beta1.BackupSession:
		o.BackupSessions[key(x.Namespace, x.Name)] = x
	case *stashv1beta1.RestoreSession:
		o.RestoreSessions[key(x.Namespace, x.Name)] = x
	case *corev1.Pod:
		o.Pods = append(o.Pods, x)
	case *appcatalogv1alpha1.AppBinding:
		o.AppBindings[key(x.Namespace, x.Name)] = x
	case workload.Object:
		if _, _, err := workload.FromObject(x); err != nil {
			return false
		}
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		o.Workloads[kind+"/"+key(x.GetNamespace(), x.GetName())] = x
	default:
		return false
	}
	return true
}

// hosts plans the hosts of invoker's target from the objects: one for a
// claim or a database, a workload's from it and its pods in the files.
func (o *Objects) hosts(invoker metav1.Object) ([]Host, error) {
	spec := workload.SpecOf(invoker)
	t := workload.Target{Spec: spec}
	object := fmt.Sprintf("%s %q", kindOf(invoker), key(invoker.GetNamespace(), invoker.GetName()))
	if IsWorkload(spec.Ref) {
		obj, ok := o.Workloads[spec.Ref.Kind+"/"+key(invoker.GetNamespace(), spec.Ref.Name)]
		if !ok {
			return nil, Errors{&FieldError{Object: object, Step: -1, Field: "spec.target.ref",
				Err: fmt.Errorf("the files hold no %s %q: add its manifest (and, for a DaemonSet, its pods) to see its Jobs", spec.Ref.Kind, spec.Ref.Name)}}
		}
		w, sel, err := workload.FromObject(obj)
		if err != nil {
			return nil, Errors{&FieldError{Object: object, Step: -1, Field: "spec.target.ref", Err: err}}
		}
		t.Workload = &w
		for _, p := range o.Pods {
			if p.Namespace == invoker.GetNamespace() && sel.Matches(labels.Set(p.Labels)) {
				t.Pods = append(t.Pods, *p)
			}
		}
	}
	planned, err := workload.Plan(t)
	if err != nil {
		return nil, Errors{&FieldError{Object: object, Step: -1, Err: err}}
	}
	hosts := make([]Host, len(planned))
	for i, h := range planned {
		volumes, _, err := workload.HostVolumes(t, h, invoker.GetNamespace())
		if err != nil {
			return nil, Errors{&FieldError{Object: object, Step: -1, Err: err}}
		}
		hosts[i] = Host{Name: h.Name, Index: i, Ordinal: -1, Node: h.Node, Volumes: volumes, Pod: h.Pod}
		if ab, ok := o.AppBindings[key(invoker.GetNamespace(), spec.Ref.Name)]; ok && spec.Ref.Kind == "AppBinding" {
			hosts[i].App = AppOf(ab)
		}
		if (t.Workload != nil && t.Workload.Kind == workload.StatefulSet) || (spec.Restore && len(spec.ClaimTemplates) > 0) {
			hosts[i].Ordinal = h.Ordinal
		}
	}
	return hosts, nil
}

// invokerOf is the resolver's view of invoker, for the checks that need no
// session or host.
func invokerOf(obj metav1.Object) *invoker {
	switch inv := obj.(type) {
	case *stashv1beta1.BackupConfiguration:
		return backupInvoker(inv, &stashv1beta1.BackupSession{}, SingleHost)
	case *stashv1beta1.RestoreSession:
		return restoreInvoker(inv, SingleHost)
	}
	return &invoker{}
}

func kindOf(obj metav1.Object) string {
	switch obj.(type) {
	case *stashv1beta1.BackupConfiguration:
		return "BackupConfiguration"
	case *stashv1beta1.RestoreSession:
		return "RestoreSession"
	}
	return fmt.Sprintf("%T", obj)
}

// resolveAll resolves the Job of every host of invoker's target with one.
func (o *Objects) resolveAll(invoker metav1.Object, one func(Host) (*Result, error)) ([]*Result, error) {
	// What nothing does is said first: no host plan would make it work.
	if errs := checkUnsupported(invokerOf(invoker)); len(errs) > 0 {
		return nil, errs
	}
	hosts, err := o.hosts(invoker)
	if err != nil {
		return nil, err
	}
	results := make([]*Result, 0, len(hosts))
	for _, h := range hosts {
		res, err := one(h)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}

func key(namespace, name string) string { return namespace + "/" + name }

// ResolveBackupSession resolves the Jobs of a BackupSession and its
// invoker, one per host.
func (o *Objects) ResolveBackupSession(namespace, name string, opts Options) ([]*Result, error) {
	bs, ok := o.BackupSessions[key(namespace, name)]
	if !ok {
		return nil, Errors{&NotFoundError{Kind: "BackupSession", Name: key(namespace, name)}}
	}
	inv := bs.Spec.Invoker
	if inv.Kind != "BackupConfiguration" {
		return nil, Errors{&FieldError{Object: fmt.Sprintf("BackupSession %q", key(namespace, name)), Step: -1,
			Field: "spec.invoker.kind", Err: fmt.Errorf("invoker kind %q is not supported yet: use BackupConfiguration", inv.Kind)}}
	}
	bc, ok := o.BackupConfigurations[key(namespace, inv.Name)]
	if !ok {
		return nil, Errors{&FieldError{Object: fmt.Sprintf("BackupSession %q", key(namespace, name)), Step: -1,
			Field: "spec.invoker.name", Err: &NotFoundError{Kind: "BackupConfiguration", Name: key(namespace, inv.Name)}}}
	}
	repo := o.Repositories[key(namespace, bc.Spec.Repository.Name)]
	return o.resolveAll(bc, func(h Host) (*Result, error) { return Backup(o.Catalog, bc, bs, repo, h, opts) })
}

// ResolveBackupConfiguration resolves the Jobs that a session of the
// configuration created at now would run, one per host: the session is
// synthesized with the name the scheduler would give it.
func (o *Objects) ResolveBackupConfiguration(namespace, name string, now time.Time, opts Options) ([]*Result, error) {
	bc, ok := o.BackupConfigurations[key(namespace, name)]
	if !ok {
		return nil, Errors{&NotFoundError{Kind: "BackupConfiguration", Name: key(namespace, name)}}
	}
	bs := NewBackupSession(bc, naming.SessionName(bc.Name, now))
	repo := o.Repositories[key(namespace, bc.Spec.Repository.Name)]
	res, err := o.resolveAll(bc, func(h Host) (*Result, error) { return Backup(o.Catalog, bc, bs, repo, h, opts) })
	// The schedule as the operator reads it: one it rejects never fires.
	if _, scheduleErr := schedule.Parse(bc.Spec.Schedule, bc.Spec.TimeZone); scheduleErr != nil {
		var errs Errors
		errors.As(err, &errs)
		return nil, append(Errors{&FieldError{Object: fmt.Sprintf("BackupConfiguration %q", key(namespace, name)), Step: -1, Err: scheduleErr}}, errs...)
	}
	return res, err
}

// ResolveRestoreSession resolves the Jobs of a RestoreSession, one per host.
func (o *Objects) ResolveRestoreSession(namespace, name string, opts Options) ([]*Result, error) {
	rs, ok := o.RestoreSessions[key(namespace, name)]
	if !ok {
		return nil, Errors{&NotFoundError{Kind: "RestoreSession", Name: key(namespace, name)}}
	}
	repo := o.Repositories[key(namespace, rs.Spec.Repository.Name)]
	return o.resolveAll(rs, func(h Host) (*Result, error) { return Restore(o.Catalog, rs, repo, h, opts) })
}

// NewBackupSession is the session of configuration bc named name, as the
// scheduler and `stash trigger` create it.
func NewBackupSession(bc *stashv1beta1.BackupConfiguration, name string) *stashv1beta1.BackupSession {
	return &stashv1beta1.BackupSession{
		TypeMeta: metav1.TypeMeta{APIVersion: stashv1beta1.GroupVersion.String(), Kind: "BackupSession"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: bc.Namespace,
			Labels: naming.Backup.Labels("BackupConfiguration", bc.Name, bc.Labels),
		},
		Spec: stashv1beta1.BackupSessionSpec{Invoker: stashv1beta1.BackupInvokerRef{
			APIGroup: stashv1beta1.GroupVersion.Group, Kind: "BackupConfiguration", Name: bc.Name,
		}},
	}
}
