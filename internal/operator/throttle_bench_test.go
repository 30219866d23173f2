package operator

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/status"
	"github.com/stash-operator/stash/internal/testenv"
)

// TestConcurrencyLimitDrain measures the operator's limit of running backup
// Jobs: STASH_BENCH_CONFIGS sessions (default 1000) created at once, at most
// STASH_BENCH_LIMIT (default 10) Jobs at a time, each Job a tiny backup that
// this test finishes STASH_BENCH_JOB_MS (default 200) ms after it appears (as
// a kubelet and update-status would). It prints how long the last session
// waited for its Job, how long until every session Succeeded, and the most
// Jobs seen running at once. A benchmark, asserting nothing about time: run
// it with hack/bench-scheduler.sh. Skipped unless STASH_BENCH_SCHEDULER is set.
func TestConcurrencyLimitDrain(t *testing.T) {
	if os.Getenv("STASH_BENCH_SCHEDULER") == "" {
		t.Skip("a benchmark: run hack/bench-scheduler.sh")
	}
	count, limit := benchInt("STASH_BENCH_CONFIGS", 1000), benchInt("STASH_BENCH_LIMIT", 10)
	jobTime := time.Duration(benchInt("STASH_BENCH_JOB_MS", 200)) * time.Millisecond
	start0 := time.Now()
	ctx := context.Background()
	requests := &requestCounter{}
	admin, ns := startBenchOperator(t, "drain-", limit, requests)
	in := func(obj client.Object) client.Object { obj.SetNamespace(ns.Name); return obj }
	bc := &stashv1beta1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "tiny"},
		Spec: stashv1beta1.BackupConfigurationSpec{
			BackupConfigurationTemplateSpec: stashv1beta1.BackupConfigurationTemplateSpec{
				Task:   stashv1beta1.TaskRef{Name: "pvc-backup"},
				Target: &stashv1beta1.BackupTarget{Ref: stashv1beta1.TargetRef{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: "data"}},
			},
			Schedule: "0 0 1 1 *", Repository: corev1.LocalObjectReference{Name: "repo"},
			RetentionPolicy: stashv1alpha1.RetentionPolicy{Name: "keep", KeepLast: 1},
		}}
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"RESTIC_PASSWORD": "x"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}},
		// A repository written before: the first-backup-alone rule does not apply.
		&stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "repo"}, Spec: stashv1alpha1.RepositorySpec{Backend: stashv1alpha1.Backend{
			StorageSecretName: "s", S3: &stashv1alpha1.S3Spec{Endpoint: "http://s3:9000", Bucket: "stash"}}}},
		bc,
	} {
		if err := admin.Create(ctx, in(obj)); err != nil {
			t.Fatal(err)
		}
	}

	// The operator installs the catalog as it starts.
	for {
		err := admin.Get(ctx, client.ObjectKey{Name: "pvc-backup"}, &stashv1beta1.Task{})
		if err == nil {
			break
		}
		if time.Since(start0) > time.Minute {
			t.Fatalf("no catalog: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]time.Time{} // the history limit deletes finished sessions
	sem := make(chan struct{}, 16)
	for i := range count {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			bs := resolve.NewBackupSession(bc, fmt.Sprintf("tiny-%04d", i))
			if err := admin.Create(ctx, bs); err != nil {
				t.Error(err)
			}
			mu.Lock()
			created[bs.Name] = bs.CreationTimestamp.Time
			mu.Unlock()
		}()
	}
	wg.Wait()
	requests.reset()
	t.Logf("created %d BackupSessions in %s; limit %d running Jobs, each Job done %s after it appears",
		count, time.Since(start).Round(time.Millisecond), limit, jobTime)

	// The kubelet and update-status of a tiny backup: each Job completes,
	// and its host reports success, jobTime after it appears. The Jobs are
	// watched, not listed: envtest has no garbage collector, so the Jobs of
	// finished sessions stay, and listing a thousand of them every 50 ms
	// loaded the apiserver more than the operator did.
	jobCache, err := cache.New(testenv.Shared(t).Config, cache.Options{Scheme: kube.Scheme,
		DefaultNamespaces: map[string]cache.Config{ns.Name: {}}})
	if err != nil {
		t.Fatal(err)
	}
	cacheCtx, stopCache := context.WithCancel(ctx)
	defer stopCache()
	go func() { _ = jobCache.Start(cacheCtx) }()
	seen := map[string]time.Time{}
	done := map[string]bool{}
	maxRunning, finished := 0, 0
	deadline := time.Now().Add(20 * time.Minute)
	for finished < count && time.Now().Before(deadline) {
		var jobs batchv1.JobList
		if err := jobCache.List(ctx, &jobs, client.InNamespace(ns.Name)); err != nil {
			t.Fatal(err)
		}
		running := 0
		for i := range jobs.Items {
			job := &jobs.Items[i]
			if done[job.Name] || slices.ContainsFunc(job.Status.Conditions, func(c batchv1.JobCondition) bool { return c.Type == batchv1.JobComplete }) {
				continue
			}
			running++
			if _, ok := seen[job.Name]; !ok {
				seen[job.Name] = time.Now()
			}
			if time.Since(seen[job.Name]) < jobTime {
				continue
			}
			finishTinyBackup(t, ctx, admin, job)
			done[job.Name] = true
			finished++
			if finished%100 == 0 {
				// A rate that falls as the queue drains shows a cost
				// that grows with the sessions still waiting.
				t.Logf("%d Jobs finished at %s", finished, time.Since(start).Round(time.Millisecond))
			}
		}
		maxRunning = max(maxRunning, running)
		if running == 0 {
			failIfAnyFailed(t, ctx, admin, ns.Name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	drained := time.Since(start)

	var jobs batchv1.JobList
	if err := admin.List(ctx, &jobs, client.InNamespace(ns.Name)); err != nil {
		t.Fatal(err)
	}
	var longest time.Duration
	var last string
	for _, job := range jobs.Items {
		owner := metav1.GetControllerOf(&job)
		if owner == nil {
			continue
		}
		if wait := job.CreationTimestamp.Sub(created[owner.Name]); wait > longest {
			longest, last = wait, owner.Name
		}
	}
	t.Logf("%d of %d Jobs finished in %s (%.1f Jobs/s); the longest wait for a Job: %s (%s, creationTimestamp resolution 1 s); at most %d Jobs ran at once (limit %d)",
		finished, count, drained.Round(time.Millisecond), float64(finished)/drained.Seconds(), longest, last, maxRunning, limit)
	t.Logf("operator API requests per session while draining: %s", requests.perSession(finished))
}

// finishTinyBackup writes the host's success into job's session, as the
// pod's update-status does before it exits, then completes job.
func finishTinyBackup(t *testing.T, ctx context.Context, c client.Client, job *batchv1.Job) {
	t.Helper()
	owner := metav1.GetControllerOf(job)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var bs stashv1beta1.BackupSession
		if err := c.Get(ctx, client.ObjectKey{Namespace: job.Namespace, Name: owner.Name}, &bs); err != nil {
			return err
		}
		status.UpsertBackupHosts(&bs.Status, stashv1beta1.TargetRef{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: "data"},
			[]stashv1beta1.HostBackupStats{{Hostname: "host-0", Phase: stashv1beta1.HostBackupSucceeded}})
		return c.Status().Update(ctx, &bs)
	})
	if err != nil {
		t.Fatalf("report session %s: %v", owner.Name, err)
	}
	// job may come from a cache that is behind the operator's own writes.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var fresh batchv1.Job
		if err := c.Get(ctx, client.ObjectKeyFromObject(job), &fresh); err != nil {
			return err
		}
		now := metav1.Now()
		fresh.Status.StartTime, fresh.Status.CompletionTime, fresh.Status.Succeeded = &now, &now, 1
		fresh.Status.Conditions = append(fresh.Status.Conditions,
			batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
			batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now})
		return c.Status().Update(ctx, &fresh)
	})
	if err != nil {
		t.Fatalf("complete Job %s: %v", job.Name, err)
	}
}

// failIfAnyFailed stops the measurement when a session failed: it would
// never get its Job.
func failIfAnyFailed(t *testing.T, ctx context.Context, c client.Client, namespace string) {
	t.Helper()
	var sessions stashv1beta1.BackupSessionList
	if err := c.List(ctx, &sessions, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	for _, bs := range sessions.Items {
		if bs.Status.Phase == stashv1beta1.SessionFailed {
			t.Fatalf("session %s failed: %+v", bs.Name, bs.Status.Conditions)
		}
	}
}
