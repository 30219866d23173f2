// Package backupsession runs BackupSessions: it resolves the invoker's Task
// into one Job, creates it with the account it runs under, and follows the
// Job and its pod to a final phase that says what happened (DESIGN §5).
// Unlike Stash, a session never waits forever for a report that cannot
// come: a step that fails, a Job that fails or is deleted, an image that
// cannot be pulled, a timeout or a Job that ends without a report each end
// the session with a typed reason. The lifecycle is internal/controller/
// lifecycle's; this package says what is particular to backups: a session's
// invoker is its BackupConfiguration.
package backupsession

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/lifecycle"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/session"
)

// ControllerName names the controller, its logger and its Events.
const ControllerName = "backupsession"

// invokerKind is the only kind that invokes BackupSessions so far.
const invokerKind = "BackupConfiguration"

// Kind is the lifecycle's view of BackupSessions.
var Kind = lifecycle.Kind{
	Naming:      naming.Backup,
	InvokerKind: invokerKind,
	New:         func() lifecycle.Session { return &stashv1beta1.BackupSession{} },
	Invoker:     invoker,
	Parallelism: firstBackupAlone,
	Waiting:     waiting,
}

// waiting are the BackupSessions of the cluster (from the cache) whose
// hosts wait for their Job.
func waiting(ctx context.Context, c client.Reader) ([]session.Waiter, error) {
	var list stashv1beta1.BackupSessionList
	// Read only, on every reconcile of a waiting session: no copy of the
	// cache's thousand objects.
	if err := c.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list BackupSessions: %w", err)
	}
	var out []session.Waiter
	for i := range list.Items {
		bs := &list.Items[i]
		if _, skipped := bs.Annotations[stashv1beta1.AnnotationSkipped]; skipped || bs.Status.Phase.IsFinished() {
			continue
		}
		if n := lifecycle.QueuedHosts(bs.Status.Hosts); n > 0 {
			out = append(out, session.Waiter{Created: bs.CreationTimestamp.Time, Namespace: bs.Namespace, Name: bs.Name, Queued: n})
		}
	}
	return out, nil
}

// Reconciler runs BackupSessions. Its fields are lifecycle.Runner's:
// Client, APIReader, Clock, Recorder, ResolveOptions, ImagePullGracePeriod,
// PodStartTimeout.
type Reconciler struct {
	lifecycle.Runner
}

// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupsessions,verbs=get;list;watch
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupsessions/status,verbs=update
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupconfigurations,verbs=get;list;watch

// SetupWithManager registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return r.Setup(mgr, ControllerName, Kind)
}

// +kubebuilder:rbac:groups=stash.appscode.com,resources=repositories,verbs=get

// firstBackupAlone runs one host at a time into a repository that no backup
// has written yet, until one host succeeded: each host's Job creates the
// repository when there is none, and two restic inits at once leave a
// repository with two keys of which only one opens its config.
func firstBackupAlone(ctx context.Context, r *lifecycle.Runner, s lifecycle.Session, invoker client.Object, hosts []session.Host) (int, error) {
	if len(hosts) < 2 {
		return len(hosts), nil
	}
	for _, h := range hosts {
		if h.Report != nil && h.Report.Phase == stashv1beta1.SessionSucceeded {
			return len(hosts), nil
		}
	}
	bc := invoker.(*stashv1beta1.BackupConfiguration)
	var repo stashv1alpha1.Repository
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: s.GetNamespace(), Name: bc.Spec.Repository.Name}, &repo)
	if err != nil {
		return 0, client.IgnoreNotFound(fmt.Errorf("get Repository %s/%s: %w", s.GetNamespace(), bc.Spec.Repository.Name, err))
	}
	if written := repo.Status.FirstBackupTime != nil || repo.Status.LastBackupTime != nil || repo.Status.SnapshotCount > 0; written {
		return len(hosts), nil
	}
	return 1, nil
}

// invoker reads the session's BackupConfiguration. Only BackupConfigurations
// invoke sessions so far.
func invoker(ctx context.Context, r lifecycle.Readers, s lifecycle.Session) (client.Object, *session.Verdict, error) {
	bs := s.(*stashv1beta1.BackupSession)
	inv := bs.Spec.Invoker
	if inv.Kind != invokerKind {
		v := session.Failed(stashv1beta1.ReasonJobCreationFailed, fmt.Sprintf("invoker kind %q is not supported yet: use a BackupConfiguration", inv.Kind))
		return nil, &v, nil
	}
	bc := &stashv1beta1.BackupConfiguration{}
	found, err := r.GetConfirmed(ctx, client.ObjectKey{Namespace: bs.Namespace, Name: inv.Name}, bc)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		v := session.Failed(stashv1beta1.ReasonInvokerNotFound, fmt.Sprintf("BackupConfiguration %s/%s not found", bs.Namespace, inv.Name))
		return nil, &v, nil
	}
	return bc, nil, nil
}
