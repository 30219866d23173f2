package operator

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/testenv"
)

// unrelatedPods is how many pods of other workloads the cluster has.
const unrelatedPods = 5000

var unrelatedOnce sync.Once

// createUnrelatedPods fills a namespace with pods that are not the
// operator's, each of the size of a small real one (labels, annotations,
// an env and a volume).
func createUnrelatedPods(b *testing.B, c client.Client) {
	unrelatedOnce.Do(func() {
		ctx := context.Background()
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "unrelated-workloads"}}
		if err := c.Create(ctx, ns); err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, unrelatedPods)
		work := make(chan int)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					pod := &corev1.Pod{
						ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%05d", i), Namespace: ns.Name,
							Labels:      map[string]string{"app": "web", "pod-template-hash": "7d9c5b8f4", "tier": "frontend"},
							Annotations: map[string]string{"example.com/config": strings.Repeat("x", 512)}},
						Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example/web:1.2.3",
							Env:          []corev1.EnvVar{{Name: "MODE", Value: "production"}},
							VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
							Volumes:                       []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
							TerminationGracePeriodSeconds: ptr.To[int64](1)},
					}
					if err := c.Create(ctx, pod); err != nil {
						errs <- err
					}
				}
			}()
		}
		for i := range unrelatedPods {
			work <- i
		}
		close(work)
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	})
}

// vmRSS is this process's resident set, in MiB.
func vmRSS(b *testing.B) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func heapInUse() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// BenchmarkOperatorMemory is the memory of the whole operator (every
// controller, synced informers) on a cluster without and with 5,000 pods
// that are not its own: with its cache (kube.OperatorCache: only its Jobs
// and pods) and with an unfiltered one, as it was. Run each in a process of
// its own, so that the resident set is the variant's:
//
//	for pods in 0 5000; do for v in stash-cache unfiltered; do
//	  go test -run '^$' -bench "OperatorMemory/^$pods-pods\$/^$v\$" -benchtime 1x ./internal/operator/
//	done; done
//
// The heap is measured after a GC; the resident set's baseline already
// holds what creating the pods cost the test's client, so heap-MiB is the
// figure to compare.
func BenchmarkOperatorMemory(b *testing.B) {
	cp := testenv.Shared(b)
	admin, err := client.New(cp.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	variants := []struct {
		name    string
		options cache.Options
	}{{"stash-cache", kube.OperatorCache()}, {"unfiltered", cache.Options{}}}
	for _, pods := range []int{0, unrelatedPods} {
		b.Run(fmt.Sprintf("%d-pods", pods), func(b *testing.B) {
			if pods > 0 {
				createUnrelatedPods(b, admin)
			}
			for _, v := range variants {
				b.Run(v.name, func(b *testing.B) { measureOperator(b, cp.Config, v.options) })
			}
		})
	}
}

// measureOperator starts the operator with cacheOptions, waits until its
// informers of Jobs and pods have synced, and reports what it added to the
// heap and to the resident set.
func measureOperator(b *testing.B, cfg *rest.Config, cacheOptions cache.Options) {
	heapBefore, rssBefore := heapInUse(), vmRSS(b)
	for b.Loop() {
		mgr, err := ctrl.NewManager(kube.ForOperator(cfg), ctrl.Options{
			Scheme: kube.Scheme, Cache: cacheOptions, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
			Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := Setup(mgr, Options{Image: "stash:bench"}); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- mgr.Start(ctx) }()
		// The controllers' informers of Jobs and pods, synced (GetInformer
		// waits for it) before anything is measured.
		for _, obj := range []client.Object{&corev1.Pod{}, &batchv1.Job{}} {
			if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
				b.Fatal(err)
			}
		}
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			b.Fatal("the caches did not sync")
		}
		b.ReportMetric(heapInUse()-heapBefore, "heap-MiB")
		b.ReportMetric(vmRSS(b)-rssBefore, "rss-MiB")
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
