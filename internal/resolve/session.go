package resolve

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// Session resolves the Job of host of session s, whose Task invoker names: a
// BackupSession of a BackupConfiguration, or a RestoreSession, which is its
// own invoker. repo may be nil (not found); the error then says so.
func Session(cat Catalog, invoker, s metav1.Object, repo *stashv1alpha1.Repository, host Host, opts Options) (*Result, error) {
	switch inv := invoker.(type) {
	case *stashv1beta1.BackupConfiguration:
		bs, ok := s.(*stashv1beta1.BackupSession)
		if !ok {
			return nil, fmt.Errorf("a BackupConfiguration invokes BackupSessions, not %T", s)
		}
		return Backup(cat, inv, bs, repo, host, opts)
	case *stashv1beta1.RestoreSession:
		return Restore(cat, inv, repo, host, opts)
	}
	return nil, fmt.Errorf("%T invokes no session", invoker)
}

// InvokerRefs are the names an invoker gives: its Repository, its Task and
// its target.
type InvokerRefs struct {
	Repository, Task string
	Target           stashv1beta1.TargetRef
}

// RefsOf reads the names invoker gives (a BackupConfiguration or a
// RestoreSession; anything else gives none).
func RefsOf(invoker metav1.Object) InvokerRefs {
	switch inv := invoker.(type) {
	case *stashv1beta1.BackupConfiguration:
		refs := InvokerRefs{Repository: inv.Spec.Repository.Name, Task: inv.Spec.Task.Name}
		if t := inv.Spec.Target; t != nil {
			refs.Target = t.Ref
		}
		return refs
	case *stashv1beta1.RestoreSession:
		refs := InvokerRefs{Repository: inv.Spec.Repository.Name, Task: inv.Spec.Task.Name}
		if t := inv.Spec.Target; t != nil {
			refs.Target = t.Ref
		}
		return refs
	}
	return InvokerRefs{}
}
