package repository

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithControlPlane(m)) }

func start(t *testing.T) *testenv.Env {
	e := testenv.NewEnv(t, time.Now())
	e.StartManager(testenv.ManagerOptions{AsOperator: true}, func(mgr manager.Manager, clk clock.PassiveClock) error {
		return (&Reconciler{Deps: deps.Deps{Clock: clk}, JobImage: JobImage{Image: "stash:test", PullPolicy: corev1.PullIfNotPresent}}).SetupWithManager(mgr)
	})
	return e
}

// gone reports whether obj no longer exists.
func gone(e *testenv.Env, obj client.Object) error {
	if e.Exists(obj) {
		return fmt.Errorf("%T %s still exists", obj, obj.GetName())
	}
	return nil
}

func repository(ns string, wipeOut bool) *stashv1alpha1.Repository {
	return &stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: ns},
		Spec: stashv1alpha1.RepositorySpec{WipeOut: wipeOut, Backend: stashv1alpha1.Backend{
			StorageSecretName: "repo-secret",
			S3:                &stashv1alpha1.S3Spec{Endpoint: "http://s3:9000", Bucket: "b", Prefix: "p"},
		}}}
}

func TestWithoutWipeOutDeletionIsImmediate(t *testing.T) {
	e := start(t)
	repo := repository(e.Namespace, false)
	e.Create(repo)
	time.Sleep(300 * time.Millisecond) // let the controller see it
	if err := e.Client.Delete(e.Ctx, repo); err != nil {
		t.Fatal(err)
	}
	e.Eventually("the Repository is gone", func() error { return gone(e, &stashv1alpha1.Repository{ObjectMeta: repo.ObjectMeta}) })
	if jobs := e.Jobs(); len(jobs) != 0 {
		t.Fatalf("a wipe-out Job was created without wipeOut: %d Jobs", len(jobs))
	}
}

func TestWipeOutRunsAJobBeforeTheRepositoryGoes(t *testing.T) {
	for name, jobResult := range map[string]batchv1.JobConditionType{"job succeeds": batchv1.JobComplete, "job fails": batchv1.JobFailed} {
		t.Run(name, func(t *testing.T) {
			e := start(t)
			repo := repository(e.Namespace, true)
			e.Create(repo)
			e.Eventually("the finalizer", func() error {
				if err := e.Get(repo.Name, repo); err != nil || !slices.Contains(repo.Finalizers, Finalizer) {
					return fmt.Errorf("finalizers %v (%v)", repo.Finalizers, err)
				}
				return nil
			})
			if err := e.Client.Delete(e.Ctx, repo); err != nil {
				t.Fatal(err)
			}
			job := e.WaitForJob(WipeOutJobName("repo"))
			args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
			for _, want := range []string{"wipe-repository", "--provider=s3", "--bucket=b", "--path=p", "--endpoint=http://s3:9000"} {
				if !strings.Contains(args, want) {
					t.Errorf("Job args %q lack %q", args, want)
				}
			}
			if err := e.Get(repo.Name, repo); err != nil {
				t.Fatalf("the Repository must stay until the data is wiped: %v", err)
			}

			// No kubelet runs here: write the Job's outcome as the Job controller would.
			if jobResult == batchv1.JobComplete {
				e.CompleteJob(job)
			} else {
				e.FailJob(job, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
			}

			if jobResult == batchv1.JobComplete {
				e.Eventually("the Repository is gone", func() error { return gone(e, repo) })
				return
			}
			e.Eventually("the WipedOut=False condition", func() error {
				if err := e.Get(repo.Name, repo); err != nil {
					return err
				}
				cond := conditions.Get(repo.Status.Conditions, stashv1beta1.ConditionWipedOut)
				if cond == nil || cond.Reason != string(stashv1beta1.ReasonWipeOutFailed) || !strings.Contains(cond.Message, "set spec.wipeOut: false") {
					return fmt.Errorf("WipedOut condition %+v", cond)
				}
				return nil
			})
			// The user gives up on wiping: the Repository goes, the data stays.
			e.Update(repo, func() { repo.Spec.WipeOut = false })
			e.Eventually("the Repository is gone", func() error { return gone(e, repo) })
		})
	}
}
