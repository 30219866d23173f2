package repository

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithControlPlane(m)) }

func start(t *testing.T) client.Client {
	return testenv.StartManager(t, func(mgr manager.Manager) error {
		return (&Reconciler{Client: mgr.GetClient(), Clock: clock.RealClock{}, Recorder: mgr.GetEventRecorder("stash-repository"),
			Image: "stash:test", PullPolicy: corev1.PullIfNotPresent}).SetupWithManager(mgr)
	})
}

func namespace(t *testing.T, c client.Client) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "repo-"}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// eventually polls cond for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func repository(ns string, wipeOut bool) *stashv1alpha1.Repository {
	return &stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: ns},
		Spec: stashv1alpha1.RepositorySpec{WipeOut: wipeOut, Backend: stashv1alpha1.Backend{
			StorageSecretName: "repo-secret",
			S3:                &stashv1alpha1.S3Spec{Endpoint: "http://s3:9000", Bucket: "b", Prefix: "p"},
		}}}
}

func TestWithoutWipeOutDeletionIsImmediate(t *testing.T) {
	c := start(t)
	ctx := context.Background()
	repo := repository(namespace(t, c), false)
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the controller see it
	if err := c.Delete(ctx, repo); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Repository to be gone", func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(repo), &stashv1alpha1.Repository{}))
	})
	var jobs batchv1.JobList
	if err := c.List(ctx, &jobs, client.InNamespace(repo.Namespace)); err != nil || len(jobs.Items) != 0 {
		t.Fatalf("a wipe-out Job was created without wipeOut: %v %d", err, len(jobs.Items))
	}
}

func TestWipeOutRunsAJobBeforeTheRepositoryGoes(t *testing.T) {
	for name, jobResult := range map[string]batchv1.JobConditionType{"job succeeds": batchv1.JobComplete, "job fails": batchv1.JobFailed} {
		t.Run(name, func(t *testing.T) {
			c := start(t)
			ctx := context.Background()
			repo := repository(namespace(t, c), true)
			if err := c.Create(ctx, repo); err != nil {
				t.Fatal(err)
			}
			key := client.ObjectKeyFromObject(repo)
			eventually(t, "the finalizer", func() bool {
				return c.Get(ctx, key, repo) == nil && slices.Contains(repo.Finalizers, Finalizer)
			})
			if err := c.Delete(ctx, repo); err != nil {
				t.Fatal(err)
			}
			var job batchv1.Job
			eventually(t, "the wipe-out Job", func() bool {
				return c.Get(ctx, client.ObjectKey{Namespace: repo.Namespace, Name: WipeOutJobName("repo")}, &job) == nil
			})
			args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
			for _, want := range []string{"wipe-repository", "--provider=s3", "--bucket=b", "--path=p", "--endpoint=http://s3:9000"} {
				if !strings.Contains(args, want) {
					t.Errorf("Job args %q lack %q", args, want)
				}
			}
			if err := c.Get(ctx, key, repo); err != nil {
				t.Fatalf("the Repository must stay until the data is wiped: %v", err)
			}

			// No kubelet runs here: write the Job's outcome as the Job controller would.
			now := metav1.Now()
			job.Status.StartTime = &now
			if jobResult == batchv1.JobComplete {
				job.Status.CompletionTime = &now
				job.Status.Succeeded = 1
				job.Status.Conditions = []batchv1.JobCondition{
					{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
					{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now}}
			} else {
				job.Status.Failed = 1
				job.Status.Conditions = []batchv1.JobCondition{
					{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
					{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now}}
			}
			if err := c.Status().Update(ctx, &job); err != nil {
				t.Fatal(err)
			}

			if jobResult == batchv1.JobComplete {
				eventually(t, "the Repository to be gone", func() bool { return apierrors.IsNotFound(c.Get(ctx, key, repo)) })
				return
			}
			eventually(t, "the WipedOut=False condition", func() bool {
				if c.Get(ctx, key, repo) != nil {
					return false
				}
				cond := conditions.Get(repo.Status.Conditions, stashv1beta1.ConditionWipedOut)
				return cond != nil && cond.Reason == stashv1beta1.ReasonWipeOutFailed && strings.Contains(cond.Message, "set spec.wipeOut: false")
			})
			// The user gives up on wiping: the Repository goes, the data stays.
			repo.Spec.WipeOut = false
			if err := c.Update(ctx, repo); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the Repository to be gone", func() bool { return apierrors.IsNotFound(c.Get(ctx, key, repo)) })
		})
	}
}
