package operator

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/testenv"
)

// TestSchedulerLoad measures, on the real clock, how late BackupSessions are
// created after their tick when STASH_BENCH_CONFIGS BackupConfigurations
// (default 1000) are scheduled every minute, and the operator's peak RSS and
// CPU per tick. It prints figures and asserts nothing about time: run it with
// hack/bench-scheduler.sh. Skipped unless STASH_BENCH_SCHEDULER is set.
func TestSchedulerLoad(t *testing.T) {
	if os.Getenv("STASH_BENCH_SCHEDULER") == "" {
		t.Skip("a benchmark: run hack/bench-scheduler.sh")
	}
	count := benchInt("STASH_BENCH_CONFIGS", 1000)
	// The operator's default limit of running backup Jobs, as a cluster
	// runs it; STASH_BENCH_LIMIT=0 lets every session start its Job.
	limit := benchInt("STASH_BENCH_LIMIT", DefaultMaxRunningBackupJobs)
	ticks := 2
	ctx := context.Background()
	requests := &requestCounter{}
	admin, ns := startBenchOperator(t, "scale-", limit, requests)
	repo := &stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: ns.Name},
		Spec: stashv1alpha1.RepositorySpec{Backend: stashv1alpha1.Backend{StorageSecretName: "s",
			S3: &stashv1alpha1.S3Spec{Endpoint: "http://s3:9000", Bucket: "stash"}}}}
	if err := admin.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range count {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			bc := &stashv1beta1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bc-%04d", i), Namespace: ns.Name},
				Spec: stashv1beta1.BackupConfigurationSpec{
					BackupConfigurationTemplateSpec: stashv1beta1.BackupConfigurationTemplateSpec{
						Task:   stashv1beta1.TaskRef{Name: "pvc-backup"},
						Target: &stashv1beta1.BackupTarget{Ref: stashv1beta1.TargetRef{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: "data"}},
					},
					Schedule: "* * * * *", Repository: corev1.LocalObjectReference{Name: "repo"},
					RetentionPolicy: stashv1alpha1.RetentionPolicy{Name: "keep", KeepLast: 1},
				}}
			if err := admin.Create(ctx, bc); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	t.Logf("created %d BackupConfigurations in %s", count, time.Since(created).Round(time.Millisecond))

	first := time.Now().Truncate(time.Minute).Add(time.Minute)
	var cpuBefore syscall.Rusage
	for tick := range ticks {
		at := first.Add(time.Duration(tick) * time.Minute)
		time.Sleep(time.Until(at))
		if tick == 0 {
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &cpuBefore)
		}
		requests.reset()
		var delays []time.Duration
		deadline := at.Add(50 * time.Second)
		for time.Now().Before(deadline) {
			var list stashv1beta1.BackupSessionList
			if err := admin.List(ctx, &list, client.InNamespace(ns.Name)); err != nil {
				t.Fatal(err)
			}
			delays = delays[:0]
			suffix := "-" + strconv.FormatInt(at.Unix(), 10)
			for _, bs := range list.Items {
				if len(bs.Name) > len(suffix) && bs.Name[len(bs.Name)-len(suffix):] == suffix {
					delays = append(delays, bs.CreationTimestamp.Sub(at))
				}
			}
			if len(delays) == count {
				break
			}
			// Delays come from creationTimestamp, so polling slowly only keeps
			// this measurement from loading the apiserver and the CPU.
			time.Sleep(3 * time.Second)
		}
		sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
		if len(delays) == 0 {
			t.Fatalf("tick %s: no session created", at)
		}
		pct := func(p float64) time.Duration { return delays[int(p*float64(len(delays)-1))] }
		// creationTimestamp has a resolution of 1 s: delays are rounded down.
		t.Logf("tick %d (%s): %d/%d sessions; delay p50 %s, p99 %s, max %s (creationTimestamp resolution 1 s); limit of running Jobs %d",
			tick+1, at.Format(time.TimeOnly), len(delays), count, pct(0.50), pct(0.99), delays[len(delays)-1], limit)
		t.Logf("tick %d: the operator's API requests until then, per session: %s", tick+1, requests.perSession(len(delays)))
	}
	var cpuAfter syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &cpuAfter)
	cpu := time.Duration(cpuAfter.Utime.Nano()+cpuAfter.Stime.Nano()-cpuBefore.Utime.Nano()-cpuBefore.Stime.Nano()) / time.Duration(ticks)
	t.Logf("operator process (manager + this test's client): peak RSS %d MiB, CPU per tick %s",
		cpuAfter.Maxrss/1024, cpu.Round(time.Millisecond))
}

// startBenchOperator runs the whole operator on the real clock, with at
// most maxRunningBackupJobs backup Jobs at once (0: no limit), and returns
// an admin client and a new namespace named from prefix.
func startBenchOperator(t *testing.T, prefix string, maxRunningBackupJobs int, requests *requestCounter) (client.Client, *corev1.Namespace) {
	t.Helper()
	admin, err := client.New(testenv.Shared(t).Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(testenv.Shared(t).Config)
	if requests != nil {
		cfg.Wrap(requests.wrap)
	}
	testenv.StartManager(t, testenv.ManagerOptions{Config: cfg}, func(mgr manager.Manager) error {
		return Setup(mgr, Options{Image: "stash:test", JobImagePullPolicy: corev1.PullIfNotPresent,
			ImagePullGracePeriod: time.Minute, MaxRunningBackupJobs: maxRunningBackupJobs, Clock: clock.RealClock{}})
	})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	if err := admin.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	// envtest has no namespace controller, and the next benchmark's operator
	// watches every namespace: this one's schedules would go on firing and
	// its Jobs, which nobody finishes, would hold the running-Jobs slots.
	t.Cleanup(func() {
		for _, list := range []client.Object{&stashv1beta1.BackupConfiguration{}, &stashv1beta1.BackupSession{}, &batchv1.Job{}} {
			if err := admin.DeleteAllOf(context.Background(), list, client.InNamespace(ns.Name), client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
				t.Errorf("clean up namespace %s: %v", ns.Name, err)
			}
		}
	})
	return admin, ns
}

// benchInt is the benchmark setting of environment variable name, def when
// it is not a number.
func benchInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// requestCounter counts the operator's API requests by verb and resource
// (watches apart), for the per-session API budget the benchmark prints.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) reset() {
	c.mu.Lock()
	c.n = map[string]int{}
	c.mu.Unlock()
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		verb := req.Method
		if req.URL.Query().Get("watch") == "true" {
			verb = "WATCH"
		}
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[verb+" "+resourceOf(req.URL.Path)]++
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

// perSession is the counts divided by sessions, largest first.
func (c *requestCounter) perSession(sessions int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.n))
	total := 0
	for k, n := range c.n {
		keys = append(keys, k)
		total += n
	}
	sort.Slice(keys, func(i, j int) bool {
		return c.n[keys[i]] > c.n[keys[j]] || c.n[keys[i]] == c.n[keys[j]] && keys[i] < keys[j]
	})
	parts := []string{fmt.Sprintf("%.2f in all", float64(total)/float64(max(sessions, 1)))}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(c.n[k])/float64(max(sessions, 1))))
	}
	return strings.Join(parts, ", ")
}

// resourceOf names the resource of an API path: "backupsessions/status"
// for /apis/stash.appscode.com/v1beta1/namespaces/ns/backupsessions/x/status.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	// /api/v1/... or /apis/group/version/...
	rest := parts
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		rest = parts[3:]
	}
	if len(rest) >= 2 && rest[0] == "namespaces" {
		rest = rest[2:]
	}
	switch len(rest) {
	case 0:
		return path
	case 1, 2:
		return rest[0]
	default:
		return rest[0] + "/" + rest[2]
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
