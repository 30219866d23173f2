// Package jobrbac gives the pods of a session's Job their identity: a
// ServiceAccount per invoker and a namespaced Role bound to it that allows
// only what the data-plane commands do through the API (DESIGN §8).
// update-status records host results in its session and repository
// statistics in the Repository; the database Functions read the target's
// AppBinding and the Secrets it names that allow it (package credentials),
// by name. Everything else the Job needs (the
// storage Secret, the target PVC) is mounted by the kubelet, which needs no
// permission of the pod's account. The Jobs that work on a whole
// repository (the sync of its Snapshot objects, unlock, check) share an
// account of the Repository's, made the same way (EnsureAccount,
// RepositoryRules) and owned by it.
//
// The objects are owned by the invoker, so that they go when it goes, and
// are brought back to the wanted state on every call (through a Memo: every
// Recheck): a Role someone edited is rewritten, a RoleBinding pointing at
// another Role is replaced.
package jobrbac

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	repositoriesv1alpha1 "github.com/stash-operator/stash/api/repositories/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/naming"
)

// The operator creates Roles with the rules below, and Kubernetes lets a
// subject grant only permissions it holds itself (RBAC escalation
// prevention), so the operator needs each of them in addition to managing
// the three kinds.
//
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;create;update
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles,verbs=get;create;update
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=get;create;update;delete
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupsessions;restoresessions;repositories,verbs=get
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupsessions/status;restoresessions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=stash.appscode.com,resources=repositories/status,verbs=get;update
// +kubebuilder:rbac:groups=appcatalog.appscode.com,resources=appbindings,verbs=get
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get
// +kubebuilder:rbac:groups="",resources=pods/exec,verbs=create
// +kubebuilder:rbac:groups=repositories.stash.appscode.com,resources=snapshots,verbs=get;list;watch;create;update;patch;delete

// Grants are what the Jobs of an invoker may touch beyond their sessions.
type Grants struct {
	// Repository is the Repository whose status a backup's update-status
	// writes (a restore's writes none).
	Repository string
	// Secrets are the credentials Secrets of the target's AppBinding that
	// allow it (package credentials); the database Functions read them.
	// The storage Secret is not among them: the Job mounts it as a volume.
	Secrets []string
	// ExecPods are the pods the invoker's exec hooks run in (the session's
	// targets), none when there are no exec hooks.
	ExecPods []string
}

// Ensure creates or repairs the ServiceAccount, Role and RoleBinding that
// the Jobs of owner (the invoker: a BackupConfiguration, or a
// RestoreSession) run under, in namespace, granting g. serviceAccount is
// the account the Job's pod names; when it is not the operator's account
// for owner (kind.ServiceAccountName), the user set runtimeSettings.pod
// .serviceAccountName and owns its permissions, and Ensure does nothing.
//
// c should read from the API server rather than an informer cache: with a
// Memo the reads are few (one per invoker per Recheck) and a cache would
// make the operator list and watch every ServiceAccount, Role and
// RoleBinding.
func Ensure(ctx context.Context, c client.Client, owner client.Object, namespace, serviceAccount string, kind naming.SessionKind, g Grants) error {
	name := kind.ServiceAccountName(owner.GetName())
	if serviceAccount != name {
		return nil
	}
	gvk, err := apiutil.GVKForObject(owner, c.Scheme())
	if err != nil {
		return fmt.Errorf("job RBAC for %s/%s: %w", namespace, owner.GetName(), err)
	}
	return EnsureAccount(ctx, c, owner, namespace, name, kind.Labels(gvk.Kind, owner.GetName(), nil), Rules(kind, owner.GetName(), g))
}

// Memo remembers the invokers' accounts that Ensure made or found as
// wanted, so that the sessions of one invoker check them once per Recheck
// rather than each (four API reads a session; a thousand sessions at a
// midnight). A change of what the account must grant, or of its owner,
// ensures it at once; an edit or deletion by someone else is repaired by
// the first session after Recheck. The zero Memo is ready to use.
type Memo struct {
	mu   sync.Mutex
	seen map[client.ObjectKey]ensured
}

// Recheck is how long Memo trusts an account it ensured.
const Recheck = 5 * time.Minute

type ensured struct {
	what string // the owner and the rules, as Ensure was called
	at   time.Time
}

// Ensure is Ensure, skipped when it succeeded for the same account, owner,
// kind and grants less than Recheck before now.
func (m *Memo) Ensure(ctx context.Context, c client.Client, owner client.Object, namespace, serviceAccount string, kind naming.SessionKind, g Grants, now time.Time) error {
	key := client.ObjectKey{Namespace: namespace, Name: serviceAccount}
	what := fmt.Sprintf("%s %s %s %+v", owner.GetUID(), owner.GetName(), kind.Component, Rules(kind, owner.GetName(), g))
	m.mu.Lock()
	last, ok := m.seen[key]
	m.mu.Unlock()
	if ok && last.what == what && now.Sub(last.at) < Recheck && !now.Before(last.at) {
		return nil
	}
	if err := Ensure(ctx, c, owner, namespace, serviceAccount, kind, g); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[client.ObjectKey]ensured{}
	}
	if len(m.seen) >= memoSweep { // every RestoreSession is an invoker of its own
		for k, e := range m.seen {
			if now.Sub(e.at) >= Recheck {
				delete(m.seen, k)
			}
		}
	}
	m.seen[key] = ensured{what: what, at: now}
	return nil
}

// memoSweep is the size from which Memo forgets what it no longer trusts.
const memoSweep = 1024

// EnsureAccount creates or repairs the ServiceAccount name in namespace,
// with a Role of that name holding rules bound to it, all labelled with
// labels and owned by owner.
func EnsureAccount(ctx context.Context, c client.Client, owner client.Object, namespace, name string, labels map[string]string, rules []rbacv1.PolicyRule) error {
	meta := func() metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: namespace} }
	sa := &corev1.ServiceAccount{ObjectMeta: meta()}
	if err := apply(ctx, c, owner, sa, labels, func() {}); err != nil {
		return err
	}
	role := &rbacv1.Role{ObjectMeta: meta()}
	if err := apply(ctx, c, owner, role, labels, func() { role.Rules = rules }); err != nil {
		return err
	}
	roleRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}
	if err := replaceForeignRoleRef(ctx, c, client.ObjectKey{Namespace: namespace, Name: name}, roleRef); err != nil {
		return err
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: meta()}
	return apply(ctx, c, owner, binding, labels, func() {
		binding.RoleRef = roleRef
		binding.Subjects = []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: namespace}}
	})
}

// RepositoryRules are what the Jobs that work on a whole repository do
// through the API: the sync of its Snapshot objects lists, creates,
// rewrites and deletes the namespace's Snapshots (their names are not known
// in advance, so the Role cannot name them); unlock and check record their
// outcome in the status of repository (by name); and all read the pods and
// Jobs that hold the repository's locks.
func RepositoryRules(repository string) []rbacv1.PolicyRule {
	stash := stashv1beta1.GroupVersion.Group
	return []rbacv1.PolicyRule{
		{APIGroups: []string{repositoriesv1alpha1.GroupVersion.Group}, Resources: []string{"snapshots"},
			Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
		{APIGroups: []string{stash}, Resources: []string{"repositories"}, ResourceNames: []string{repository}, Verbs: []string{"get"}},
		{APIGroups: []string{stash}, Resources: []string{"repositories/status"}, ResourceNames: []string{repository}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{corev1.GroupName}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		{APIGroups: []string{batchv1.GroupName}, Resources: []string{"jobs"}, Verbs: []string{"get"}},
	}
}

// Rules is the least a Job needs: update-status reads its session and
// writes its status; a backup's update-status also records repository
// statistics in g.Repository (a restore's does not touch the Repository);
// the database Functions read the AppBinding and g.Secrets, its allowed
// credentials; the data Functions read the pods and Jobs that hold the
// repository's locks; every command may record Events; exec hooks exec in
// g.ExecPods only. Nothing is listed or watched. A RestoreSession is its
// own invoker, so its Role can name it; a backup invoker's sessions are new
// objects every run and cannot be named in advance.
func Rules(kind naming.SessionKind, invoker string, g Grants) []rbacv1.PolicyRule {
	restore := kind == naming.Restore
	sessions := "backupsessions"
	var names []string
	if restore {
		sessions, names = "restoresessions", []string{invoker}
	}
	stash := stashv1beta1.GroupVersion.Group
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{stash}, Resources: []string{sessions}, ResourceNames: names, Verbs: []string{"get"}},
		{APIGroups: []string{stash}, Resources: []string{sessions + "/status"}, ResourceNames: names, Verbs: []string{"get", "update", "patch"}},
	}
	if !restore && g.Repository != "" {
		repository := []string{g.Repository}
		rules = append(rules,
			rbacv1.PolicyRule{APIGroups: []string{stash}, Resources: []string{"repositories"}, ResourceNames: repository, Verbs: []string{"get"}},
			rbacv1.PolicyRule{APIGroups: []string{stash}, Resources: []string{"repositories/status"}, ResourceNames: slices.Clone(repository), Verbs: []string{"get", "update"}})
	}
	if len(g.ExecPods) > 0 {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{corev1.GroupName}, Resources: []string{"pods/exec"},
			ResourceNames: slices.Clone(g.ExecPods), Verbs: []string{"create"}})
	}
	if len(g.Secrets) > 0 {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{corev1.GroupName}, Resources: []string{"secrets"},
			ResourceNames: slices.Clone(g.Secrets), Verbs: []string{"get"}})
	}
	return append(rules,
		// A lock left in the repository by a pod of this namespace that has
		// ended is removed: the data plane reads the pod, or its Job.
		rbacv1.PolicyRule{APIGroups: []string{corev1.GroupName}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		rbacv1.PolicyRule{APIGroups: []string{batchv1.GroupName}, Resources: []string{"jobs"}, Verbs: []string{"get"}},
		rbacv1.PolicyRule{APIGroups: []string{appcatalogv1alpha1.GroupVersion.Group}, Resources: []string{"appbindings"}, Verbs: []string{"get"}},
		rbacv1.PolicyRule{APIGroups: []string{corev1.GroupName}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	)
}

// apply creates obj or updates it when mutate, the labels or the owner
// reference change it.
func apply(ctx context.Context, c client.Client, owner, obj client.Object, labels map[string]string, mutate func()) error {
	_, err := controllerutil.CreateOrUpdate(ctx, c, obj, func() error {
		mutate()
		current := obj.GetLabels()
		if current == nil {
			current = map[string]string{}
		}
		for k, v := range labels {
			current[k] = v
		}
		obj.SetLabels(current)
		// A plain (not controller) owner reference: enough for garbage
		// collection, and it cannot clash with a controller reference
		// someone else put on an account of the same name.
		return controllerutil.SetOwnerReference(owner, obj, c.Scheme())
	})
	if err != nil {
		return fmt.Errorf("ensure %s %s/%s for the Job: %w", kindOf(c, obj), obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

func kindOf(c client.Client, obj client.Object) string {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return fmt.Sprintf("%T", obj)
	}
	return gvk.Kind
}

// replaceForeignRoleRef deletes the RoleBinding key when it binds another
// role: roleRef is immutable, so it cannot be corrected in place.
func replaceForeignRoleRef(ctx context.Context, c client.Client, key client.ObjectKey, want rbacv1.RoleRef) error {
	var existing rbacv1.RoleBinding
	err := c.Get(ctx, key, &existing)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get RoleBinding %s: %w", key, err)
	}
	if equality.Semantic.DeepEqual(existing.RoleRef, want) {
		return nil
	}
	if err := c.Delete(ctx, &existing, client.Preconditions{UID: &existing.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("replace RoleBinding %s that binds %s %s: %w", key, existing.RoleRef.Kind, existing.RoleRef.Name, err)
	}
	return nil
}

// DirectClient writes through c and reads from the API server through
// reader: what Ensure wants from a manager (c = mgr.GetClient(), reader =
// mgr.GetAPIReader()).
func DirectClient(c client.Client, reader client.Reader) client.Client {
	return directClient{Client: c, reader: reader}
}

type directClient struct {
	client.Client
	reader client.Reader
}

func (d directClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return d.reader.Get(ctx, key, obj, opts...)
}

func (d directClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return d.reader.List(ctx, list, opts...)
}
