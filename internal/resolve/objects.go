package resolve

import (
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/schedule"
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
}

// NewObjects returns an empty set.
func NewObjects() *Objects {
	return &Objects{
		Catalog:              Catalog{Tasks: map[string]*stashv1beta1.Task{}, Functions: map[string]*stashv1beta1.Function{}},
		Repositories:         map[string]*stashv1alpha1.Repository{},
		BackupConfigurations: map[string]*stashv1beta1.BackupConfiguration{},
		BackupSessions:       map[string]*stashv1beta1.BackupSession{},
		RestoreSessions:      map[string]*stashv1beta1.RestoreSession{},
	}
}

// Add indexes obj; namespaced objects without a namespace get namespace.
// It reports whether obj is of a kind resolution uses (AppBindings, for
// example, are read by the Functions at run time, not by the resolver).
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
	default:
		return false
	}
	return true
}

func key(namespace, name string) string { return namespace + "/" + name }

// ResolveBackupSession resolves the Job of a BackupSession and its invoker.
func (o *Objects) ResolveBackupSession(namespace, name string, opts Options) (*Result, error) {
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
	return Backup(o.Catalog, bc, bs, o.Repositories[key(namespace, bc.Spec.Repository.Name)], opts)
}

// ResolveBackupConfiguration resolves the Job that a session of the
// configuration created at now would run: the session is synthesized with
// the name the scheduler would give it.
func (o *Objects) ResolveBackupConfiguration(namespace, name string, now time.Time, opts Options) (*Result, error) {
	bc, ok := o.BackupConfigurations[key(namespace, name)]
	if !ok {
		return nil, Errors{&NotFoundError{Kind: "BackupConfiguration", Name: key(namespace, name)}}
	}
	bs := NewBackupSession(bc, naming.SessionName(bc.Name, now))
	res, err := Backup(o.Catalog, bc, bs, o.Repositories[key(namespace, bc.Spec.Repository.Name)], opts)
	// The schedule as the operator reads it: one it rejects never fires.
	if _, scheduleErr := schedule.Parse(bc.Spec.Schedule, bc.Spec.TimeZone); scheduleErr != nil {
		var errs Errors
		errors.As(err, &errs)
		return nil, append(Errors{&FieldError{Object: fmt.Sprintf("BackupConfiguration %q", key(namespace, name)), Step: -1, Err: scheduleErr}}, errs...)
	}
	return res, err
}

// ResolveRestoreSession resolves the Job of a RestoreSession.
func (o *Objects) ResolveRestoreSession(namespace, name string, opts Options) (*Result, error) {
	rs, ok := o.RestoreSessions[key(namespace, name)]
	if !ok {
		return nil, Errors{&NotFoundError{Kind: "RestoreSession", Name: key(namespace, name)}}
	}
	return Restore(o.Catalog, rs, o.Repositories[key(namespace, rs.Spec.Repository.Name)], opts)
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
