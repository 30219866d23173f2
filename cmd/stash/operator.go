package main

import (
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/stash-operator/stash/internal/controller/lifecycle"
	"github.com/stash-operator/stash/internal/controller/repository"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/operator"
	"github.com/stash-operator/stash/internal/version"

	_ "time/tzdata" // schedules in any IANA time zone, even in a scratch image
)

func init() { rootCmd.AddCommand(newOperatorCommand()) }

func newOperatorCommand() *cobra.Command {
	var (
		kubeconfig, metricsAddr, metricsCertDir string
		probeAddr, pullPolicy                   string
		leaderElect, develLog, installCatalog   bool
		o                                       operator.Options
	)
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Run the operator: schedules backups, runs sessions as Jobs, installs the default catalog",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseDevMode(develLog)))
			o.SkipCatalog = !installCatalog
			switch p := corev1.PullPolicy(pullPolicy); p {
			case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
				o.JobImagePullPolicy = p
			default:
				return usageError(fmt.Errorf("--job-image-pull-policy %q: use Always, IfNotPresent or Never", pullPolicy))
			}
			cfg, err := kube.Config(kubeconfig)
			if err != nil {
				return err
			}
			mgr, err := ctrl.NewManager(kube.ForOperator(cfg), ctrl.Options{
				Controller:             config.Controller{MaxConcurrentReconciles: kube.OperatorConcurrency},
				Scheme:                 kube.Scheme,
				Cache:                  kube.OperatorCache(),
				Metrics:                operator.MetricsServer(metricsAddr, metricsCertDir),
				HealthProbeBindAddress: probeAddr,
				LeaderElection:         leaderElect,
				LeaderElectionID:       operator.LeaderElectionID,
				// The process exits as soon as the manager stops, so handing
				// the lease over at once is safe, and a replaced pod's
				// successor need not wait out the lease.
				LeaderElectionReleaseOnCancel: true,
			})
			if err != nil {
				return fmt.Errorf("create the manager: %w", err)
			}
			if err := operator.Setup(mgr, o); err != nil {
				return err
			}
			ctrl.Log.Info("starting the stash operator", "version", version.Version, "image", o.Image)
			return mgr.Start(ctrl.SetupSignalHandler())
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then in-cluster)")
	f.BoolVar(&leaderElect, "leader-elect", false, "elect a leader, so that only one replica acts")
	f.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "address of the Prometheus metrics endpoint, HTTPS with authentication and authorization (0 disables it)")
	f.StringVar(&metricsCertDir, "metrics-cert-dir", "", "directory of the metrics endpoint's tls.crt and tls.key (default: a self-signed certificate)")
	f.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	f.StringVar(&o.Image, "image", version.Image(), "the stash image that catalog Functions, hooks and wipe-out Jobs run")
	f.StringVar(&pullPolicy, "job-image-pull-policy", string(corev1.PullIfNotPresent), "imagePullPolicy of the Jobs' containers")
	f.DurationVar(&o.ImagePullGracePeriod, "image-pull-grace-period", lifecycle.DefaultImagePullGracePeriod, "how long a step may fail to pull its image before its session fails")
	f.IntVar(&o.MaxRunningBackupJobs, "max-running-backup-jobs", operator.DefaultMaxRunningBackupJobs,
		"how many backup Jobs may run at once in the cluster; later sessions wait in phase Pending, oldest tick first (0: no limit)")
	f.DurationVar(&o.PodStartTimeout, "pod-start-timeout", lifecycle.DefaultPodStartTimeout, "how long a session's Job may take to start its first step (pod created, scheduled, volumes mounted) before the session fails")
	f.DurationVar(&o.SnapshotSyncInterval, "snapshot-sync-interval", repository.DefaultSnapshotSyncInterval,
		"how often each Repository's Snapshot objects are synced besides after each backup and on deletion (0: no Snapshot objects)")
	f.BoolVar(&installCatalog, "install-catalog", true, "install the default catalog of Functions and Tasks, and keep it up to date")
	f.BoolVar(&develLog, "development-logs", false, "human-readable logs instead of JSON")
	return cmd
}
