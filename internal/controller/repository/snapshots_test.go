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

	repositoriesv1alpha1 "github.com/stash-operator/stash/api/repositories/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/jobrbac"
	"github.com/stash-operator/stash/internal/snapshotsync"
	"github.com/stash-operator/stash/internal/testenv"
)

func startSnapshots(t *testing.T) *testenv.Env {
	e := testenv.NewEnv(t, time.Now())
	e.StartManager(testenv.ManagerOptions{AsOperator: true}, func(mgr manager.Manager, clk clock.PassiveClock) error {
		return (&SnapshotReconciler{Deps: deps.Deps{Clock: clk}, JobImage: JobImage{Image: "stash:test", PullPolicy: corev1.PullIfNotPresent},
			Interval: time.Hour}).SetupWithManager(mgr)
	})
	return e
}

// nextSyncJob waits for a sync Job other than the one of uid.
func nextSyncJob(e *testenv.Env, after *batchv1.Job) *batchv1.Job {
	e.T.Helper()
	var job batchv1.Job
	e.Eventually("a new sync Job", func() error {
		if err := e.Get(SnapshotsJobName("repo"), &job); err != nil {
			return err
		}
		if after != nil && job.UID == after.UID {
			return fmt.Errorf("still the Job %s", job.UID)
		}
		return nil
	})
	return &job
}

func syncCondition(e *testenv.Env, repo *stashv1alpha1.Repository, status metav1.ConditionStatus, reason stashv1beta1.SnapshotsSyncReason, wants ...string) {
	e.T.Helper()
	e.Eventually("SnapshotsSynced "+string(status), func() error {
		if err := e.Get(repo.Name, repo); err != nil {
			return err
		}
		c := conditions.Get(repo.Status.Conditions, stashv1beta1.ConditionSnapshotsSynced)
		if c == nil || c.Status != status || c.Reason != string(reason) {
			return fmt.Errorf("SnapshotsSynced %+v", c)
		}
		return testenv.ContainsAll(c.Message, wants...)
	})
}

// finishSyncs completes job, and the next sync Job when the first started
// in the second the backup ended (times are whole seconds, so such a
// backup counts as later: snapshotsync.Due), until no sync is due. It
// returns the last Job.
func finishSyncs(e *testenv.Env, job *batchv1.Job) *batchv1.Job {
	e.T.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		e.CompleteJob(job)
		e.Eventually("the Job is gone or replaced", func() error {
			var now batchv1.Job
			if err := e.Get(job.Name, &now); err == nil && now.UID == job.UID {
				return fmt.Errorf("Job %s is still there", job.Name)
			}
			return nil
		})
		time.Sleep(500 * time.Millisecond)
		var next batchv1.Job
		if err := e.Get(job.Name, &next); err != nil {
			return job
		}
		job = &next
	}
	e.T.Fatal("a sync Job keeps coming back although no backup ended since")
	return nil
}

func TestSnapshotSyncRunsAfterBackupsAndDeletions(t *testing.T) {
	e := startSnapshots(t)
	repo := repository(e.Namespace, false)
	e.Create(repo)

	job := nextSyncJob(e, nil)
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	if err := testenv.ContainsAll(args, "sync-snapshots", "--provider=s3", "--bucket=b", "--path=p", "--namespace="+e.Namespace,
		"--repository=repo", "--repository-uid="+string(repo.UID)); err != nil {
		t.Errorf("sync Job args: %v", err)
	}
	if pod := job.Spec.Template.Spec; pod.ServiceAccountName != AccountName("repo") || !*pod.AutomountServiceAccountToken {
		t.Errorf("sync Job runs as %q (token %v), want its own account", pod.ServiceAccountName, *pod.AutomountServiceAccountToken)
	}
	e.CheckAccount(AccountName("repo"), repo, jobrbac.RepositoryRules("repo"))

	t.Run("a sync that ended is recorded and its Job goes", func(t *testing.T) {
		e := e.With(t)
		e.CompleteJob(job)
		syncCondition(e, repo, metav1.ConditionTrue, stashv1beta1.ReasonSnapshotsSynced)
		if got := repo.Status.SnapshotsSyncTime; got == nil || !got.Equal(&job.CreationTimestamp) {
			t.Errorf("snapshotsSyncTime = %v, want the Job's start %v", got, job.CreationTimestamp)
		}
		e.Eventually("the Job is gone", func() error { return gone(e, job) })
		e.Consistently("no sync while nothing changed", time.Second, func() error {
			if jobs := e.Jobs(); len(jobs) != 0 {
				return fmt.Errorf("%d Jobs", len(jobs))
			}
			return nil
		})
	})
	t.Run("a backup that ends starts a sync", func(t *testing.T) {
		e := e.With(t)
		e.UpdateStatus(repo, func() { repo.Status.LastBackupTime = &metav1.Time{Time: time.Now()} })
		job = finishSyncs(e, nextSyncJob(e, job))
	})
	t.Run("a deleted Snapshot starts a sync", func(t *testing.T) {
		e := e.With(t)
		snap := snapshotOf(repo, "repo-aaaaaaaa")
		e.Create(snap)
		if err := e.Client.Delete(e.Ctx, snap); err != nil {
			t.Fatal(err)
		}
		job = nextSyncJob(e, job)
		if !e.Exists(snap) {
			t.Fatal("the operator released the Snapshot itself: only the sync Job may, once it forgot the snapshot")
		}
	})
	t.Run("a failed sync is recorded, its Job kept for its log, and retried after the back-off", func(t *testing.T) {
		e := e.With(t)
		e.FailJob(job, "BackoffLimitExceeded", "Job has reached the specified backoff limit")
		syncCondition(e, repo, metav1.ConditionFalse, stashv1beta1.ReasonSnapshotSyncFailed,
			"Job "+job.Name, "BackoffLimitExceeded", "kubectl logs -n "+e.Namespace+" job/"+job.Name)
		e.WaitForEvent(repo.Name, "SnapshotSyncFailed")
		e.Consistently("the failed Job stays during the back-off", time.Second, func() error {
			if !e.Exists(job) {
				return fmt.Errorf("the failed Job %s is gone", job.Name)
			}
			return nil
		})
		// The back-off counts from the failed Job's start (the API server's
		// clock, which the fake one started at).
		e.Clock.SetTime(job.CreationTimestamp.Add(snapshotsync.RetryDelay + time.Second))
		e.Poke(repo)
		job = nextSyncJob(e, job)
	})
}

// snapshotOf is a Snapshot object of repo as a sync makes it.
func snapshotOf(repo *stashv1alpha1.Repository, name string) *repositoriesv1alpha1.Snapshot {
	return &repositoriesv1alpha1.Snapshot{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels:          map[string]string{repositoriesv1alpha1.RepositoryLabel: repo.Name},
		Finalizers:      []string{repositoriesv1alpha1.ForgetFinalizer},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "stash.appscode.com/v1alpha1", Kind: "Repository", Name: repo.Name, UID: repo.UID}}}}
}

func TestSnapshotsOfADeletedRepositoryAreReleased(t *testing.T) {
	e := startSnapshots(t)
	repo := repository(e.Namespace, false)
	e.Create(repo)
	nextSyncJob(e, nil)
	snap := snapshotOf(repo, "repo-bbbbbbbb")
	e.Create(snap)
	if err := e.Client.Delete(e.Ctx, repo); err != nil {
		t.Fatal(err)
	}
	e.Eventually("the Repository is gone", func() error { return gone(e, repo) })
	// The garbage collector deletes a Repository's Snapshots (none runs here).
	if err := e.Client.Delete(e.Ctx, snap); err != nil {
		t.Fatal(err)
	}
	e.Eventually("the Snapshot is released without a forget", func() error { return gone(e, snap) })
}

// With --snapshot-sync-interval 0 no Job runs, and a deleted Snapshot goes
// at once, without a forget, instead of waiting for a sync that never comes.
func TestWithoutSyncsADeletedSnapshotIsReleased(t *testing.T) {
	e := testenv.NewEnv(t, time.Now())
	e.StartManager(testenv.ManagerOptions{AsOperator: true}, func(mgr manager.Manager, clk clock.PassiveClock) error {
		return (&SnapshotReconciler{Deps: deps.Deps{Clock: clk}, JobImage: JobImage{Image: "stash:test"}}).SetupWithManager(mgr)
	})
	repo := repository(e.Namespace, false)
	e.Create(repo)
	snap := snapshotOf(repo, "repo-cccccccc")
	e.Create(snap)
	if err := e.Client.Delete(e.Ctx, snap); err != nil {
		t.Fatal(err)
	}
	e.Eventually("the Snapshot is released", func() error { return gone(e, snap) })
	if jobs := e.Jobs(); len(jobs) != 0 {
		t.Fatalf("%d Jobs with syncing off", len(jobs))
	}
}
