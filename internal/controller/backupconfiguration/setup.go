package backupconfiguration

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// Cache indexes this controller registers.
const (
	// sessionInvokerField indexes BackupSessions by spec.invoker, as "Kind/name".
	sessionInvokerField = "spec.invoker"
	// repositoryField indexes BackupConfigurations by spec.repository.name.
	repositoryField = "spec.repository.name"
)

func invokerKey(kind, name string) string { return kind + "/" + name }

// SetupWithManager registers the controller, its cache indexes and watches:
// a BackupConfiguration is reconciled when its spec, labels or annotations
// change (not its status: that is this controller's own write), when one of
// its sessions is created, deleted or changes phase, when its Repository
// changes, and when any Task or Function changes (they are few; every
// configuration is re-resolved, from the cache).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.Default(mgr, EventSource)

	ctx := context.Background()
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &stashv1beta1.BackupSession{}, sessionInvokerField, func(o client.Object) []string {
		inv := o.(*stashv1beta1.BackupSession).Spec.Invoker
		return []string{invokerKey(inv.Kind, inv.Name)}
	}); err != nil {
		return fmt.Errorf("index BackupSessions by %s: %w", sessionInvokerField, err)
	}
	if err := indexer.IndexField(ctx, &stashv1beta1.BackupConfiguration{}, repositoryField, func(o client.Object) []string {
		return []string{o.(*stashv1beta1.BackupConfiguration).Spec.Repository.Name}
	}); err != nil {
		return fmt.Errorf("index BackupConfigurations by %s: %w", repositoryField, err)
	}

	specChanged := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{})
	return ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		For(&stashv1beta1.BackupConfiguration{}, builder.WithPredicates(specChanged)).
		Watches(&stashv1beta1.BackupSession{}, handler.EnqueueRequestsFromMapFunc(sessionInvoker),
			builder.WithPredicates(phaseChanged())).
		Watches(&stashv1alpha1.Repository{}, handler.EnqueueRequestsFromMapFunc(r.usersOfRepository),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&stashv1beta1.Task{}, handler.EnqueueRequestsFromMapFunc(r.allConfigurations),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&stashv1beta1.Function{}, handler.EnqueueRequestsFromMapFunc(r.allConfigurations),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

// phaseChanged passes sessions that appear, go, or change phase: what
// concurrency and history depend on.
func phaseChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			old, okOld := e.ObjectOld.(*stashv1beta1.BackupSession)
			cur, okNew := e.ObjectNew.(*stashv1beta1.BackupSession)
			return !okOld || !okNew || old.Status.Phase != cur.Status.Phase
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// sessionInvoker maps a session to its BackupConfiguration.
func sessionInvoker(_ context.Context, o client.Object) []reconcile.Request {
	inv := o.(*stashv1beta1.BackupSession).Spec.Invoker
	if inv.Kind != invokerKind || inv.Name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: inv.Name}}}
}

// usersOfRepository maps a Repository to the configurations that name it.
func (r *Reconciler) usersOfRepository(ctx context.Context, o client.Object) []reconcile.Request {
	var list stashv1beta1.BackupConfigurationList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{repositoryField: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "list the BackupConfigurations of a Repository", "repository", o.GetNamespace()+"/"+o.GetName())
		return nil
	}
	return requests(list.Items)
}

// allConfigurations maps a Task or Function to every configuration: which
// Task uses which Function is resolution's business, and both are rare writes.
func (r *Reconciler) allConfigurations(ctx context.Context, _ client.Object) []reconcile.Request {
	var list stashv1beta1.BackupConfigurationList
	if err := r.Client.List(ctx, &list); err != nil {
		log.FromContext(ctx).Error(err, "list BackupConfigurations")
		return nil
	}
	return requests(list.Items)
}

func requests(items []stashv1beta1.BackupConfiguration) []reconcile.Request {
	out := make([]reconcile.Request, len(items))
	for i := range items {
		out[i] = reconcile.Request{NamespacedName: types.NamespacedName{Namespace: items[i].Namespace, Name: items[i].Name}}
	}
	return out
}
