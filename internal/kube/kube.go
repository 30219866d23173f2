// Package kube builds clients for the commands that talk to the API server:
// the operator, update-status and the database Functions.
package kube

import (
	"errors"
	"fmt"
	"os"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stash-operator/stash/internal/manifest"
	"github.com/stash-operator/stash/internal/naming"
)

// Scheme knows the built-in kinds and ours.
var Scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(manifest.AddToScheme(s))
	return s
}()

// ErrNoInClusterConfig is why Config fails when no kubeconfig is given and
// the pod's in-cluster credentials are not there (not in a pod, or no
// ServiceAccount token mounted), so that a command can say what to set.
var ErrNoInClusterConfig = errors.New("no --kubeconfig and not in a cluster")

// Config is the rest config from kubeconfig (a path), else $KUBECONFIG, else
// the pod's in-cluster credentials.
func Config(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("read kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoInClusterConfig, err)
	}
	return cfg, nil
}

// Throughput limits of the operator's client. client-go's defaults (5 QPS,
// burst 10; controller-runtime raises them to 20/30) let a tick of a thousand
// schedules queue for minutes: every session costs a handful of writes.
const (
	OperatorQPS   = 200
	OperatorBurst = 400
	// OperatorConcurrency is how many objects each controller reconciles at
	// once; reconciles mostly wait for the API server, not the CPU.
	OperatorConcurrency = 8
)

// ConflictRetry is how soon a reconcile whose status write conflicted runs
// again: the conflict came from a cache a moment behind, or a concurrent
// writer (update-status), and the newer object's watch event requeues it
// anyway; this is the fallback.
const ConflictRetry = 250 * time.Millisecond

// OperatorCache is what the operator's informers hold: of Jobs and pods,
// only those it made (labelled managed-by stash: sessions' and wipe-outs'
// Jobs and their pods), so that its memory does not grow with the cluster's
// other workloads. What it reads of other pods (a workload's, a database's)
// it reads from the API server when a session starts.
func OperatorCache() cache.Options {
	ours := labels.SelectorFromSet(labels.Set{naming.ManagedByLabel: naming.ManagedByStash})
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&batchv1.Job{}: {Label: ours},
		&corev1.Pod{}:  {Label: ours},
	}}
}

// ForOperator returns a copy of cfg with the operator's client limits.
func ForOperator(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = OperatorQPS, OperatorBurst
	return cfg
}

// dataPlaneTimeout bounds each request of a data-plane command: a Job must
// not hang on an unreachable API server.
const dataPlaneTimeout = 30 * time.Second

// NewClient is the data plane's client (update-status, the database
// Functions), with Scheme, for the given kubeconfig (see Config).
func NewClient(kubeconfig string) (client.Client, error) {
	cfg, err := Config(kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = dataPlaneTimeout
	c, err := client.New(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client for %s: %w", cfg.Host, err)
	}
	return c, nil
}
