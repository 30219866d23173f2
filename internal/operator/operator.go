// Package operator wires the controllers, the default catalog installer and
// the health checks into one controller-runtime manager.
package operator

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/stash-operator/stash/internal/controller/backupconfiguration"
	"github.com/stash-operator/stash/internal/controller/backupsession"
	"github.com/stash-operator/stash/internal/controller/catalogsetup"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/lifecycle"
	"github.com/stash-operator/stash/internal/controller/repository"
	"github.com/stash-operator/stash/internal/controller/restoresession"
	"github.com/stash-operator/stash/internal/resolve"
)

// DefaultMaxRunningBackupJobs keeps a midnight with a thousand schedules
// from starting a thousand pods at once, yet lets a few dozen backups of a
// normal cluster run side by side.
const DefaultMaxRunningBackupJobs = 20

// Options are the operator's settings.
type Options struct {
	// Image of the stash binary: the catalog Functions, hooks and wipe-out Jobs run it.
	Image string
	// JobImagePullPolicy of every container of the Jobs the operator creates.
	JobImagePullPolicy corev1.PullPolicy
	// ImagePullGracePeriod: a step whose image cannot be pulled for longer fails its session.
	ImagePullGracePeriod time.Duration
	// PodStartTimeout: a session whose Job has not started its first step
	// within it fails (lifecycle.DefaultPodStartTimeout when zero).
	PodStartTimeout time.Duration
	// MaxRunningBackupJobs is how many backup Jobs may run at once in the
	// cluster; the sessions beyond it wait in phase Pending, oldest tick
	// first. Zero: no limit.
	MaxRunningBackupJobs int
	// SnapshotSyncInterval is how often each Repository's Snapshot objects
	// are synced when no backup or deletion asks for it. Zero: the operator
	// keeps no Snapshot objects, and a deleted one goes without a forget
	// (also the tests of the other controllers).
	SnapshotSyncInterval time.Duration
	// SkipCatalog: do not install the default catalog (the cluster's
	// administrator installs Functions and Tasks).
	SkipCatalog bool
	// Clock; nil means the real clock (tests inject a fake one).
	Clock clock.Clock
}

// Leader election, in the operator's own namespace only (a Role, as
// kubebuilder scaffolds it), and the manager's own events.
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=stash-system,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// The metrics endpoint asks the API server who calls and whether they may.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// MetricsServer serves the Prometheus endpoint at addr over HTTPS, with the
// certificate (tls.crt, tls.key) of certDir, else a self-signed one, to
// callers whom the API server authenticates (TokenReview) and authorizes
// for GET /metrics (SubjectAccessReview), as kubebuilder scaffolds it: a
// scraper's ServiceAccount needs the stash-metrics-reader ClusterRole.
func MetricsServer(addr, certDir string) metricsserver.Options {
	return metricsserver.Options{BindAddress: addr, SecureServing: true, CertDir: certDir,
		FilterProvider: filters.WithAuthenticationAndAuthorization}
}

// LeaderElectionID is the Lease the replicas of the operator compete for,
// in the operator's namespace.
const LeaderElectionID = "stash-operator.stash.appscode.com"

// Setup registers everything with mgr.
func Setup(mgr ctrl.Manager, o Options) error {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	resolveOpts := resolve.Options{Image: o.Image, ImagePullPolicy: o.JobImagePullPolicy}
	repositoryJobs := repository.JobImage{Image: o.Image, PullPolicy: o.JobImagePullPolicy}
	if !o.SkipCatalog {
		if err := mgr.Add(&catalogsetup.Installer{Client: mgr.GetClient(), Image: o.Image}); err != nil {
			return fmt.Errorf("add the catalog installer: %w", err)
		}
	}
	if err := (&repository.Reconciler{Deps: deps.Deps{Clock: o.Clock}, JobImage: repositoryJobs}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the Repository controller: %w", err)
	}
	if err := (&repository.RequestReconciler{Deps: deps.Deps{Clock: o.Clock}, JobImage: repositoryJobs}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the Repository request controller: %w", err)
	}
	snapshots := &repository.SnapshotReconciler{Deps: deps.Deps{Clock: o.Clock}, JobImage: repositoryJobs,
		Interval: o.SnapshotSyncInterval}
	if err := snapshots.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the Snapshot controller: %w", err)
	}
	if err := (&backupconfiguration.Reconciler{Deps: deps.Deps{Clock: o.Clock}, ResolveOptions: resolveOpts}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the BackupConfiguration controller: %w", err)
	}
	runner := lifecycle.Runner{Deps: deps.Deps{Clock: o.Clock}, ResolveOptions: resolveOpts, ImagePullGracePeriod: o.ImagePullGracePeriod,
		PodStartTimeout: o.PodStartTimeout}
	backups := runner
	backups.MaxRunningJobs = o.MaxRunningBackupJobs
	if err := (&backupsession.Reconciler{Runner: backups}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the BackupSession controller: %w", err)
	}
	if err := (&restoresession.Reconciler{Runner: runner}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up the RestoreSession controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("readyz", healthz.Ping)
}
