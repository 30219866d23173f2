package testenv

import (
	"context"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/stash-operator/stash/internal/kube"
)

// StartManager runs a controller-runtime manager against the package's
// control plane, with what setup registers, until t ends. It returns a
// direct (uncached) client for the test's own reads and writes.
func StartManager(t testing.TB, setup func(mgr manager.Manager) error) client.Client {
	t.Helper()
	return StartManagerAs(t, Shared(t).Config, setup)
}

// StartManagerAs is StartManager with the manager authenticated by cfg, e.g.
// as a user bound to the operator's own ClusterRole.
func StartManagerAs(t testing.TB, cfg *rest.Config, setup func(mgr manager.Manager) error) client.Client {
	t.Helper()
	cp := Shared(t)
	mgr, err := ctrl.NewManager(kube.ForOperator(cfg), ctrl.Options{
		Scheme:                 kube.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Tests start a manager each; controller names repeat across them.
		Controller: config.Controller{SkipNameValidation: ptr.To(true), MaxConcurrentReconciles: kube.OperatorConcurrency},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := setup(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	c, err := client.New(cp.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
