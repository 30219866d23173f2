// Package repository reconciles Repositories: the wipe-out finalizer, the
// Job that wipes the data when a Repository with spec.wipeOut is deleted,
// and the repository metrics.
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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/inputs"
	"github.com/stash-operator/stash/internal/metrics"
)

// Finalizer holds a Repository with spec.wipeOut until its data is wiped.
const Finalizer = "stash.appscode.com/wipe-out"

// Reconciler of Repositories.
type Reconciler struct {
	// Client, Clock and Recorder; SetupWithManager sets those left empty
	// from the manager.
	deps.Deps
	// JobImage is what the Repository's Jobs run.
	JobImage
}

// +kubebuilder:rbac:groups=stash.appscode.com,resources=repositories,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=stash.appscode.com,resources=repositories/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=stash.appscode.com,resources=repositories/finalizers,verbs=update
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the reconciler.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.Default(mgr, "stash-repository")
	return ctrl.NewControllerManagedBy(mgr).
		Named("repository").
		For(&stashv1alpha1.Repository{}).
		Owns(&batchv1.Job{}).
		Complete(r)
}

// Reconcile moves one Repository towards its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var repo stashv1alpha1.Repository
	if err := r.Client.Get(ctx, req.NamespacedName, &repo); err != nil {
		if apierrors.IsNotFound(err) {
			metrics.RepositorySize.DeleteLabelValues(req.Namespace, req.Name)
			metrics.RepositorySnapshots.DeleteLabelValues(req.Namespace, req.Name)
			metrics.RepositoryIntegrity.DeleteLabelValues(req.Namespace, req.Name)
			metrics.RepositoryLastCheck.DeleteLabelValues(req.Namespace, req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !repo.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &repo)
	}
	// The finalizer is there exactly when spec.wipeOut asks for it, so that
	// a Repository without wipeOut deletes at once.
	if repo.Spec.WipeOut != controllerutil.ContainsFinalizer(&repo, Finalizer) {
		if repo.Spec.WipeOut {
			controllerutil.AddFinalizer(&repo, Finalizer)
		} else {
			controllerutil.RemoveFinalizer(&repo, Finalizer)
		}
		if err := r.Client.Update(ctx, &repo); err != nil {
			return ctrl.Result{}, err
		}
	}
	if n := repo.Status.TotalSizeBytes; n != nil {
		metrics.RepositorySize.WithLabelValues(repo.Namespace, repo.Name).Set(float64(*n))
	} else if size, ok := metrics.ParseSize(repo.Status.TotalSize); ok {
		metrics.RepositorySize.WithLabelValues(repo.Namespace, repo.Name).Set(size)
	}
	if ok := repo.Status.Integrity; ok != nil {
		metrics.RepositoryIntegrity.WithLabelValues(repo.Namespace, repo.Name).Set(map[bool]float64{true: 1, false: 0}[*ok])
	}
	if t := repo.Status.LastIntegrityCheckTime; t != nil {
		metrics.RepositoryLastCheck.WithLabelValues(repo.Namespace, repo.Name).Set(float64(t.Unix()))
	}
	metrics.RepositorySnapshots.WithLabelValues(repo.Namespace, repo.Name).Set(float64(repo.Status.SnapshotCount))
	return ctrl.Result{}, nil
}

// finalize wipes the data of a Repository being deleted, if asked to.
func (r *Reconciler) finalize(ctx context.Context, repo *stashv1alpha1.Repository) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(repo, Finalizer) {
		return ctrl.Result{}, nil
	}
	if !repo.Spec.WipeOut {
		return ctrl.Result{}, r.release(ctx, repo)
	}
	var job batchv1.Job
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: repo.Namespace, Name: WipeOutJobName(repo.Name)}, &job)
	if apierrors.IsNotFound(err) {
		want, err := WipeOutJob(repo, r.Image, r.PullPolicy)
		if err != nil {
			return ctrl.Result{}, r.wipeFailed(ctx, repo, fmt.Sprintf("cannot wipe the data: spec.backend %v", err))
		}
		refusal, err := inputs.PodSecurityRefusal(ctx, r.APIReader, want)
		if err != nil {
			return ctrl.Result{}, err
		}
		if refusal != "" {
			return ctrl.Result{}, r.wipeFailed(ctx, repo, "cannot wipe the data: "+refusal)
		}
		if err := r.Client.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, err
		}
		r.Recorder.Eventf(repo, nil, corev1.EventTypeNormal, string(stashv1beta1.ReasonWipeOutStarted), "WipeOut",
			"deleting the backed up data with Job %s", want.Name)
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			r.Recorder.Eventf(repo, nil, corev1.EventTypeNormal, string(stashv1beta1.ReasonWipedOut), "WipeOut", "the backed up data is deleted")
			return ctrl.Result{}, r.release(ctx, repo)
		case batchv1.JobFailed:
			return ctrl.Result{}, r.wipeFailed(ctx, repo, fmt.Sprintf("Job %s could not delete the data (%s: %s); see its pod's log. "+
				"Fix the cause and delete the Job to retry, or set spec.wipeOut: false to delete the Repository and keep the data",
				job.Name, c.Reason, c.Message))
		}
	}
	return ctrl.Result{}, nil // the Job watch brings us back
}

func (r *Reconciler) release(ctx context.Context, repo *stashv1alpha1.Repository) error {
	controllerutil.RemoveFinalizer(repo, Finalizer)
	return client.IgnoreNotFound(r.Client.Update(ctx, repo))
}

// wipeFailed keeps the finalizer (the user asked for the data to go) and
// says why and what to do.
func (r *Reconciler) wipeFailed(ctx context.Context, repo *stashv1alpha1.Repository, message string) error {
	now := time.Now()
	if r.Clock != nil {
		now = r.Clock.Now()
	}
	if conditions.Set(&repo.Status.Conditions, repo.Generation, stashv1beta1.ConditionWipedOut, metav1.ConditionFalse,
		stashv1beta1.ReasonWipeOutFailed, message, now) {
		r.Recorder.Eventf(repo, nil, corev1.EventTypeWarning, string(stashv1beta1.ReasonWipeOutFailed), "WipeOut", "%s", message)
		return r.Client.Status().Update(ctx, repo)
	}
	return nil
}
