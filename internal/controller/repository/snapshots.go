package repository

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	repositoriesv1alpha1 "github.com/stash-operator/stash/api/repositories/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/inputs"
	"github.com/stash-operator/stash/internal/controller/jobrbac"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/snapshotsync"
)

// DefaultSnapshotSyncInterval is how often a Repository's Snapshot objects
// are synced when no backup or deletion asks for it: what another tool
// writes to the repository shows within it.
const DefaultSnapshotSyncInterval = time.Hour

// SnapshotReconciler keeps each Repository's Snapshot objects a mirror of
// its restic snapshots. The reading and writing is done by a Job
// (`stash sync-snapshots`) with the storage Secret mounted, so that the
// credentials stay in the cluster and the operator never opens a
// repository; the reconciler decides when that Job runs
// (snapshotsync.Due) and records its outcome in the Repository's status.
type SnapshotReconciler struct {
	deps.Deps
	// JobImage is what the Repository's Jobs run.
	JobImage
	// Interval between syncs when nothing else asks for one. Zero: no
	// syncs; the reconciler only releases deleted Snapshots (without
	// forgetting), so that none waits for a sync that never comes.
	Interval time.Duration
}

// +kubebuilder:rbac:groups=repositories.stash.appscode.com,resources=snapshots,verbs=get;list;watch;patch

// SetupWithManager registers the reconciler. Snapshots are watched as
// metadata only: the operator needs their deletion, not their fields, and
// a repository may hold ten thousand.
func (r *SnapshotReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.Default(mgr, "stash-snapshots")
	return ctrl.NewControllerManagedBy(mgr).
		Named("snapshots").
		For(&stashv1alpha1.Repository{}).
		Owns(&batchv1.Job{}).
		Watches(&repositoriesv1alpha1.Snapshot{}, handler.EnqueueRequestsFromMapFunc(repositoryOfSnapshot), builder.OnlyMetadata).
		Complete(r)
}

func repositoryOfSnapshot(_ context.Context, obj client.Object) []reconcile.Request {
	name := obj.GetLabels()[repositoriesv1alpha1.RepositoryLabel]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}}}
}

// Reconcile runs, or records, the sync of one Repository's Snapshots.
func (r *SnapshotReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	snapshots, err := r.snapshotsOf(ctx, req.Namespace, req.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	var repo stashv1alpha1.Repository
	if err := r.Client.Get(ctx, req.NamespacedName, &repo); err != nil || !repo.DeletionTimestamp.IsZero() {
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		// The Snapshots go with their Repository; whether its data goes too
		// is the Repository's spec.wipeOut, not a forget of each snapshot.
		return ctrl.Result{}, r.releaseAll(ctx, snapshots)
	}
	// Syncing off (--snapshot-sync-interval 0), or the namespace going:
	// no Job runs, and no deleted Snapshot waits for one.
	if r.Interval <= 0 {
		return ctrl.Result{}, r.releaseAll(ctx, snapshots)
	}
	var ns corev1.Namespace
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: repo.Namespace}, &ns); err == nil && ns.DeletionTimestamp != nil {
		return ctrl.Result{}, r.releaseAll(ctx, snapshots)
	}
	deleting := false
	var foreign []metav1.PartialObjectMetadata
	for i := range snapshots {
		s := &snapshots[i]
		if s.DeletionTimestamp == nil || !controllerutil.ContainsFinalizer(s, repositoriesv1alpha1.ForgetFinalizer) {
			continue
		}
		if snapshotsync.OwnedBy(s, &repo) {
			deleting = true
		} else {
			foreign = append(foreign, *s) // an earlier Repository's, which the garbage collector deletes
		}
	}
	if err := r.releaseAll(ctx, foreign); err != nil {
		return ctrl.Result{}, err
	}

	var failedAttempt time.Time
	var job batchv1.Job
	err = r.Client.Get(ctx, client.ObjectKey{Namespace: repo.Namespace, Name: SnapshotsJobName(repo.Name)}, &job)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return ctrl.Result{}, err
	case job.DeletionTimestamp != nil:
		return ctrl.Result{}, nil // its deletion brings us back
	default:
		ended, failure := jobOutcome(&job)
		if !ended {
			return ctrl.Result{}, nil // the Job watch brings us back
		}
		if recorded, err := r.record(ctx, &repo, &job, failure); err != nil || recorded {
			return ctrl.Result{}, err // the status update brings us back
		}
		if failure == "" {
			return ctrl.Result{}, r.deleteJob(ctx, &job)
		}
		failedAttempt = job.CreationTimestamp.Time // kept for its log until the retry
	}

	due, wait := snapshotsync.Due(repo.Status, deleting, r.Interval, failedAttempt, r.Clock.Now())
	if !due {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if !failedAttempt.IsZero() {
		return ctrl.Result{}, r.deleteJob(ctx, &job)
	}
	return ctrl.Result{}, r.startSync(ctx, &repo)
}

// snapshotsOf lists the metadata of the Snapshots of a Repository from the
// cache.
func (r *SnapshotReconciler) snapshotsOf(ctx context.Context, namespace, repository string) ([]metav1.PartialObjectMetadata, error) {
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(repositoriesv1alpha1.GroupVersion.WithKind("SnapshotList"))
	if err := r.Client.List(ctx, &list, client.InNamespace(namespace),
		client.MatchingLabels{repositoriesv1alpha1.RepositoryLabel: snapshotsync.RepositoryLabel(repository)}); err != nil {
		return nil, fmt.Errorf("list the Snapshots of Repository %s/%s: %w", namespace, repository, err)
	}
	return list.Items, nil
}

// releaseAll removes the forget finalizer of the Snapshots being deleted.
func (r *SnapshotReconciler) releaseAll(ctx context.Context, snapshots []metav1.PartialObjectMetadata) error {
	for i := range snapshots {
		s := &snapshots[i]
		if s.DeletionTimestamp == nil || !controllerutil.ContainsFinalizer(s, repositoriesv1alpha1.ForgetFinalizer) {
			continue
		}
		if err := kube.RemoveFinalizer(ctx, r.Client, s, repositoriesv1alpha1.ForgetFinalizer); err != nil {
			return fmt.Errorf("release Snapshot %s/%s: %w", s.Namespace, s.Name, err)
		}
	}
	return nil
}

// jobOutcome tells whether job ended and, if it failed, how.
func jobOutcome(job *batchv1.Job) (ended bool, failure string) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, ""
		case batchv1.JobFailed:
			return true, fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	return false, ""
}

// record writes the outcome of the sync Job into the Repository's status;
// it reports whether that changed anything.
func (r *SnapshotReconciler) record(ctx context.Context, repo *stashv1alpha1.Repository, job *batchv1.Job, failure string) (bool, error) {
	now := r.Clock.Now()
	var changed bool
	if failure == "" {
		changed = conditions.Set(&repo.Status.Conditions, repo.Generation, stashv1beta1.ConditionSnapshotsSynced, metav1.ConditionTrue,
			stashv1beta1.ReasonSnapshotsSynced, fmt.Sprintf("the Snapshot objects hold every snapshot of the repository as of %s",
				job.CreationTimestamp.UTC().Format(time.RFC3339)), now)
		if t := repo.Status.SnapshotsSyncTime; t == nil || !t.Equal(&job.CreationTimestamp) {
			repo.Status.SnapshotsSyncTime = job.CreationTimestamp.DeepCopy()
			changed = true
		}
	} else {
		message := fmt.Sprintf("Job %s could not sync the Snapshot objects (%s); its log: kubectl logs -n %s job/%s. "+
			"It is retried with a back-off", job.Name, failure, job.Namespace, job.Name)
		if changed = conditions.Set(&repo.Status.Conditions, repo.Generation, stashv1beta1.ConditionSnapshotsSynced, metav1.ConditionFalse,
			stashv1beta1.ReasonSnapshotSyncFailed, message, now); changed {
			r.Recorder.Eventf(repo, nil, corev1.EventTypeWarning, string(stashv1beta1.ReasonSnapshotSyncFailed), "SyncSnapshots", "%s", message)
		}
	}
	if !changed {
		return false, nil
	}
	return true, r.Client.Status().Update(ctx, repo)
}

func (r *SnapshotReconciler) deleteJob(ctx context.Context, job *batchv1.Job) error {
	err := r.Client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &job.UID})
	return client.IgnoreNotFound(err)
}

// startSync creates the sync Job and the account it runs under.
func (r *SnapshotReconciler) startSync(ctx context.Context, repo *stashv1alpha1.Repository) error {
	job, err := SnapshotsJob(repo, r.Image, r.PullPolicy)
	if err != nil {
		return r.syncRefused(ctx, repo, fmt.Sprintf("cannot sync the Snapshot objects: spec.backend %v", err))
	}
	refusal, err := inputs.PodSecurityRefusal(ctx, r.APIReader, job)
	if err != nil {
		return err
	}
	if refusal != "" {
		return r.syncRefused(ctx, repo, "cannot sync the Snapshot objects: "+refusal)
	}
	return createWithAccount(ctx, r.Deps, repo, job)
}

// createWithAccount creates job, one of repo's Jobs that run under
// AccountName, after making sure of that account.
func createWithAccount(ctx context.Context, d deps.Deps, repo *stashv1alpha1.Repository, job *batchv1.Job) error {
	labels := map[string]string{naming.ManagedByLabel: naming.ManagedByStash, naming.ComponentLabel: "stash-repository"}
	if err := jobrbac.EnsureAccount(ctx, jobrbac.DirectClient(d.Client, d.APIReader), repo, repo.Namespace,
		AccountName(repo.Name), labels, jobrbac.RepositoryRules(repo.Name)); err != nil {
		return err
	}
	if err := d.Client.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Job %s/%s: %w", job.Namespace, job.Name, err)
	}
	return nil
}

// syncRefused records why no sync Job can run; a change of the Repository
// brings the next try.
func (r *SnapshotReconciler) syncRefused(ctx context.Context, repo *stashv1alpha1.Repository, message string) error {
	if conditions.Set(&repo.Status.Conditions, repo.Generation, stashv1beta1.ConditionSnapshotsSynced, metav1.ConditionFalse,
		stashv1beta1.ReasonSnapshotSyncFailed, message, r.Clock.Now()) {
		r.Recorder.Eventf(repo, nil, corev1.EventTypeWarning, string(stashv1beta1.ReasonSnapshotSyncFailed), "SyncSnapshots", "%s", message)
		return r.Client.Status().Update(ctx, repo)
	}
	return nil
}
