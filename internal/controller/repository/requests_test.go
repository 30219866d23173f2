package repository

import (
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/jobrbac"
	"github.com/stash-operator/stash/internal/testenv"
)

func startRequests(t *testing.T) *testenv.Env {
	e := testenv.NewEnv(t, time.Now())
	e.StartManager(testenv.ManagerOptions{AsOperator: true}, func(mgr manager.Manager, clk clock.PassiveClock) error {
		return (&RequestReconciler{Deps: deps.Deps{Clock: clk}, JobImage: JobImage{Image: "stash:test", PullPolicy: corev1.PullIfNotPresent}}).SetupWithManager(mgr)
	})
	return e
}

// request sets the annotations of repo.
func request(e *testenv.Env, repo *stashv1alpha1.Repository, annotations map[string]string) {
	e.T.Helper()
	e.Update(repo, func() { repo.Annotations = annotations })
}

// jobOf waits for op's Job answering request.
func jobOf(e *testenv.Env, op Operation, request string) *batchv1.Job {
	e.T.Helper()
	var job batchv1.Job
	e.Eventually(op.Name+" Job for "+request, func() error {
		if err := e.Get(op.JobName("repo"), &job); err != nil {
			return err
		}
		if got := job.Annotations[RequestAnnotation]; got != request {
			return fmt.Errorf("the Job answers %q", got)
		}
		return nil
	})
	return &job
}

func TestRequestsRunAJobAndGetAnAnswer(t *testing.T) {
	for _, op := range Operations {
		t.Run(op.Name, func(t *testing.T) {
			e := startRequests(t)
			repo := repository(e.Namespace, false)
			e.Create(repo)
			extra := map[string]string{"unlock": stashv1alpha1.UnlockForceAnnotation, "check": stashv1alpha1.CheckReadDataSubsetAnnotation}[op.Name]
			value := map[string]string{"unlock": "true", "check": "10%"}[op.Name]
			wantArg := map[string]string{"unlock": "--force=true", "check": "--read-data-subset=10%"}[op.Name]

			request(e, repo, map[string]string{op.Annotation: "r1", extra: value})
			job := jobOf(e, op, "r1")
			args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
			if err := testenv.ContainsAll(args, op.command, "--provider=s3", "--repository=repo", "--request=r1", wantArg); err != nil {
				t.Errorf("Job args: %v", err)
			}
			if sa := job.Spec.Template.Spec.ServiceAccountName; sa != AccountName("repo") {
				t.Errorf("the Job runs as %q, want %q", sa, AccountName("repo"))
			}
			e.CheckAccount(AccountName("repo"), repo, jobrbac.RepositoryRules("repo"))

			// A Job that fails could not record its outcome: the operator does.
			e.FailJob(job, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
			e.Eventually("the failure answers r1", func() error {
				if err := e.Get(repo.Name, repo); err != nil {
					return err
				}
				last := *op.Outcome(&repo.Status)
				if last == nil || last.Request != "r1" || last.Phase != stashv1alpha1.OperationFailed {
					return fmt.Errorf("outcome %+v", last)
				}
				return testenv.ContainsAll(last.Message, "Job "+job.Name+" failed", "BackoffLimitExceeded", "kubectl logs -n "+e.Namespace+" job/"+job.Name)
			})
			e.Eventually("the answered Job is gone", func() error { return gone(e, job) })

			// A new request gets a new Job; the one that records its
			// outcome (as the command does) goes once answered.
			request(e, repo, map[string]string{op.Annotation: "r2"})
			job = jobOf(e, op, "r2")
			e.UpdateStatus(repo, func() {
				*op.Outcome(&repo.Status) = &stashv1alpha1.RepositoryOperation{Request: "r2", Phase: stashv1alpha1.OperationSucceeded, Time: &metav1.Time{Time: time.Now()}}
			})
			e.CompleteJob(job)
			e.Eventually("the answered Job is gone", func() error { return gone(e, job) })
			e.Consistently("no Job for an answered request", time.Second, func() error {
				if jobs := e.Jobs(); len(jobs) != 0 {
					return fmt.Errorf("%d Jobs", len(jobs))
				}
				return nil
			})
		})
	}
}
