package repository

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/inputs"
)

// RequestReconciler runs the operations a Repository's annotations ask for
// (Operations: stash unlock, stash check), one Job per operation at a time,
// each in the cluster with the storage Secret mounted. The Job records the
// outcome in the Repository's status; when it could not (its pod failed,
// or no pod may run), the reconciler does, so that every request gets an
// answer.
type RequestReconciler struct {
	deps.Deps
	// JobImage is what the Repository's Jobs run.
	JobImage
}

// SetupWithManager registers the reconciler.
func (r *RequestReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.Default(mgr, "stash-repository")
	return ctrl.NewControllerManagedBy(mgr).
		Named("repository-requests").
		For(&stashv1alpha1.Repository{}).
		Owns(&batchv1.Job{}).
		Complete(r)
}

// Reconcile moves each operation of one Repository towards its request.
func (r *RequestReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var repo stashv1alpha1.Repository
	if err := r.Client.Get(ctx, req.NamespacedName, &repo); err != nil || !repo.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	for _, op := range Operations {
		if err := r.reconcile(ctx, &repo, op); err != nil {
			return ctrl.Result{}, fmt.Errorf("%s of Repository %s/%s: %w", op.Name, repo.Namespace, repo.Name, err)
		}
	}
	return ctrl.Result{}, nil
}

func (r *RequestReconciler) reconcile(ctx context.Context, repo *stashv1alpha1.Repository, op Operation) error {
	want := repo.Annotations[op.Annotation]
	last := *op.Outcome(&repo.Status)
	answered := want == "" || last != nil && last.Request == want
	var job batchv1.Job
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: repo.Namespace, Name: op.JobName(repo.Name)}, &job)
	switch {
	case apierrors.IsNotFound(err):
		if answered {
			return nil
		}
		return r.start(ctx, repo, op)
	case err != nil:
		return err
	case job.DeletionTimestamp != nil:
		return nil // its deletion brings us back
	}
	ended, failure := jobOutcome(&job)
	if !ended {
		return nil // the Job watch brings us back
	}
	if failure == "" && !answered && job.Annotations[RequestAnnotation] == want {
		// The Job recorded its answer (it fails when it cannot), and the
		// cache has not seen it yet: deleting the Job now would run the
		// request again.
		var fresh stashv1alpha1.Repository
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(repo), &fresh); err != nil {
			return err
		}
		if last := *op.Outcome(&fresh.Status); last == nil || last.Request != want {
			return fmt.Errorf("Job %s completed without an answer to request %q in the status", job.Name, want)
		}
	}
	if failure != "" && !answered && job.Annotations[RequestAnnotation] == want {
		return r.answer(ctx, repo, op, want, fmt.Sprintf("Job %s failed (%s) before it could record its outcome; its log: kubectl logs -n %s job/%s",
			job.Name, failure, job.Namespace, job.Name))
	}
	// Answered, or the Job ran for an earlier request: it goes, and a new
	// request gets a Job of its own.
	return client.IgnoreNotFound(r.Client.Delete(ctx, &job, client.PropagationPolicy(metav1.DeletePropagationBackground),
		client.Preconditions{UID: &job.UID}))
}

func (r *RequestReconciler) start(ctx context.Context, repo *stashv1alpha1.Repository, op Operation) error {
	want := repo.Annotations[op.Annotation]
	job, err := op.Job(repo, r.Image, r.PullPolicy)
	if err != nil {
		return r.answer(ctx, repo, op, want, fmt.Sprintf("cannot run %s: spec.backend %v", op.Name, err))
	}
	refusal, err := inputs.PodSecurityRefusal(ctx, r.APIReader, job)
	if err != nil {
		return err
	}
	if refusal != "" {
		return r.answer(ctx, repo, op, want, fmt.Sprintf("cannot run %s: %s", op.Name, refusal))
	}
	return createWithAccount(ctx, r.Deps, repo, job)
}

// answer records that the request want failed, with message.
func (r *RequestReconciler) answer(ctx context.Context, repo *stashv1alpha1.Repository, op Operation, want, message string) error {
	*op.Outcome(&repo.Status) = &stashv1alpha1.RepositoryOperation{Request: want, Phase: stashv1alpha1.OperationFailed,
		Message: message, Time: &metav1.Time{Time: r.Clock.Now()}}
	r.Recorder.Eventf(repo, nil, corev1.EventTypeWarning, string(stashv1beta1.ReasonRequestFailed), op.Name, "%s", message)
	return r.Client.Status().Update(ctx, repo)
}
