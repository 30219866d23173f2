package backupconfiguration

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/backend"
	"github.com/stash-operator/stash/internal/controller/inputs"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/workload"
)

// What a configuration's Jobs need from its namespace, beyond what the
// resolver sees: the Repository's storage Secret with the keys its backend
// reads, and the target with what it refers to. Without them every backup
// would sit in a pod that cannot start, or fail at the first step, while
// the configuration said Ready.

// +kubebuilder:rbac:groups="",resources=secrets;persistentvolumeclaims;services;replicationcontrollers,verbs=get
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets;replicasets,verbs=get
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups=appcatalog.appscode.com,resources=appbindings,verbs=get

// referenceProblem is one reference that cannot work, as a line of the
// Ready condition.
type referenceProblem struct {
	reason  stashv1beta1.ReadyReason
	message string
}

// referenceCheckInterval is how long a configuration's references are
// trusted once checked: the schedule's ticks reconcile every configuration
// at once, and a thousand of them must not each read the API server again.
// A configuration whose spec changed, or that is not Ready, is checked anew.
const referenceCheckInterval = time.Minute

// referenceCache remembers the last check of each configuration.
type referenceCache struct {
	mu      sync.Mutex
	checked map[types.UID]referenceCheck
}

type referenceCheck struct {
	generation int64
	at         time.Time
	problems   []referenceProblem
}

func (c *referenceCache) get(bc *stashv1beta1.BackupConfiguration, now time.Time) ([]referenceProblem, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	last, ok := c.checked[bc.UID]
	if !ok || last.generation != bc.Generation || len(last.problems) > 0 || now.Sub(last.at) >= referenceCheckInterval {
		return nil, false
	}
	return last.problems, true
}

func (c *referenceCache) put(bc *stashv1beta1.BackupConfiguration, now time.Time, problems []referenceProblem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checked == nil {
		c.checked = map[types.UID]referenceCheck{}
	}
	c.checked[bc.UID] = referenceCheck{generation: bc.Generation, at: now, problems: problems}
}

// checkReferences reads what bc refers to from the API server (Secrets and
// targets are not cached by the operator) and says what is missing.
func (r *Reconciler) checkReferences(ctx context.Context, bc *stashv1beta1.BackupConfiguration, repo *stashv1alpha1.Repository, now time.Time) ([]referenceProblem, error) {
	if problems, ok := r.references.get(bc, now); ok {
		return problems, nil
	}
	var problems []referenceProblem
	if repo != nil && repo.Spec.Backend.StorageSecretName != "" {
		p, err := r.checkStorageSecret(ctx, repo)
		if err != nil {
			return nil, err
		}
		problems = append(problems, p...)
	}
	if t := bc.Spec.Target; t != nil && t.Ref.Name != "" {
		p, err := r.checkTarget(ctx, bc.Namespace, bc)
		if err != nil {
			return nil, err
		}
		problems = append(problems, p...)
	}
	r.references.put(bc, now, problems)
	return problems, nil
}

func (r *Reconciler) checkStorageSecret(ctx context.Context, repo *stashv1alpha1.Repository) ([]referenceProblem, error) {
	where := fmt.Sprintf("Repository %q spec.backend.storageSecretName", repo.Namespace+"/"+repo.Name)
	var secret corev1.Secret
	found, err := r.get(ctx, repo.Namespace, repo.Spec.Backend.StorageSecretName, &secret)
	if err != nil {
		return nil, err
	}
	if !found {
		return []referenceProblem{{stashv1beta1.ReasonStorageSecretNotFound, fmt.Sprintf("%s: Secret %q does not exist: create it with the key %s (and the backend's credentials)",
			where, repo.Spec.Backend.StorageSecretName, backend.KeyResticPassword)}}, nil
	}
	b, err := resolve.BackendOf(repo.Spec.Backend)
	if err != nil {
		return nil, nil // the resolver reports a backend without a provider
	}
	return storageSecretProblems(where, secret.Name, b.Provider, secret.Data), nil
}

// storageSecretProblems are the lines for what a storage Secret with data
// lacks for provider.
func storageSecretProblems(where, secret, provider string, data map[string][]byte) []referenceProblem {
	has := map[string]bool{}
	for k, v := range data {
		has[k] = len(v) > 0
	}
	var problems []referenceProblem
	for _, m := range backend.MissingSecretKeys(provider, has) {
		problems = append(problems, referenceProblem{stashv1beta1.ReasonStorageSecretIncomplete, fmt.Sprintf("%s: Secret %q: %s", where, secret, m)})
	}
	return problems
}

// checkTarget checks that the target exists; for an AppBinding also its
// Service and its credentials Secret.
func (r *Reconciler) checkTarget(ctx context.Context, namespace string, bc *stashv1beta1.BackupConfiguration) ([]referenceProblem, error) {
	ref := bc.Spec.Target.Ref
	missing := func(what string) referenceProblem {
		return referenceProblem{stashv1beta1.ReasonTargetNotFound, fmt.Sprintf("BackupConfiguration spec.target.ref: %s does not exist in namespace %s: create it or fix the reference", what, namespace)}
	}
	if resolve.IsWorkload(ref) {
		return r.checkWorkload(ctx, namespace, bc, missing)
	}
	switch ref.Kind {
	case "PersistentVolumeClaim":
		found, err := r.get(ctx, namespace, ref.Name, &corev1.PersistentVolumeClaim{})
		if err != nil || found {
			return nil, err
		}
		return []referenceProblem{missing(fmt.Sprintf("PersistentVolumeClaim %q", ref.Name))}, nil
	case "AppBinding":
		var ab appcatalogv1alpha1.AppBinding
		found, err := r.get(ctx, namespace, ref.Name, &ab)
		if err != nil {
			return nil, err
		}
		if !found {
			return []referenceProblem{missing(fmt.Sprintf("AppBinding %q", ref.Name))}, nil
		}
		var problems []referenceProblem
		if svc := ab.Spec.ClientConfig.Service; svc != nil { // used in preference to a url
			found, err := r.get(ctx, namespace, svc.Name, &corev1.Service{})
			if err != nil {
				return nil, err
			}
			if !found {
				problems = append(problems, missing(fmt.Sprintf("Service %q (AppBinding %q spec.clientConfig.service.name)", svc.Name, ref.Name)))
			}
		}
		creds, err := inputs.Credentials(ctx, r.APIReader, &ab)
		if err != nil {
			return nil, err
		}
		for _, c := range creds {
			switch {
			case !c.Found:
				problems = append(problems, missing(fmt.Sprintf("Secret %q (AppBinding %q %s)", c.Secret, ref.Name, c.Field)))
			case c.Refused != nil:
				problems = append(problems, referenceProblem{stashv1beta1.ReasonCredentialsNotAllowed, "BackupConfiguration spec.target.ref: " + c.Refused.Error()})
			}
		}
		return problems, nil
	}
	return nil, nil
}

// checkWorkload checks that the workload exists and that its hosts can be
// planned as the configuration says: the volumes it names are its pods'.
func (r *Reconciler) checkWorkload(ctx context.Context, namespace string, bc *stashv1beta1.BackupConfiguration, missing func(string) referenceProblem) ([]referenceProblem, error) {
	ref := bc.Spec.Target.Ref
	obj, err := workload.NewObject(ref.Kind)
	if err != nil {
		return nil, err
	}
	found, err := r.get(ctx, namespace, ref.Name, obj.(client.Object))
	if err != nil {
		return nil, err
	}
	if !found {
		return []referenceProblem{missing(fmt.Sprintf("%s %q", ref.Kind, ref.Name))}, nil
	}
	w, sel, err := workload.FromObject(obj)
	if err != nil {
		return nil, err
	}
	var pods corev1.PodList
	if err := r.APIReader.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("list the pods of %s %s/%s: %w", ref.Kind, namespace, ref.Name, err)
	}
	t := workload.Target{Spec: workload.SpecOf(bc), Workload: &w, Pods: pods.Items}
	if _, err := workload.Plan(t); err != nil {
		return []referenceProblem{{stashv1beta1.ReasonTargetInvalid, fmt.Sprintf("BackupConfiguration %s", err)}}, nil
	}
	return nil, nil
}

// get reads name from the API server directly; found is false when it does
// not exist.
func (r *Reconciler) get(ctx context.Context, namespace, name string, obj client.Object) (bool, error) {
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %T %s/%s: %w", obj, namespace, name, err)
	}
	return true, nil
}
