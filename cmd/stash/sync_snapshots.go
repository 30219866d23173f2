package main

import (
	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/function"
	"github.com/stash-operator/stash/internal/kube"
)

func init() { rootCmd.AddCommand(newSyncSnapshotsCommand()) }

func newSyncSnapshotsCommand() *cobra.Command {
	var (
		o          function.SyncSnapshotsOptions
		kubeconfig string
	)
	cmd := &cobra.Command{
		Use:   "sync-snapshots",
		Short: "Make a Repository's Snapshot objects mirror its restic snapshots, forgetting those whose objects were deleted",
		Long: `Runs in the Job the operator creates for a Repository after each backup into
it, when a Snapshot object is deleted, and on an interval. It lists the
repository's snapshots (restic snapshots, no lock), forgets the snapshots whose
Snapshot objects were deleted, creates an object for each new snapshot and
removes the objects of snapshots that are gone (retention, another tool).
Exits non-zero when anything could not be done; the operator records it in
the Repository's SnapshotsSynced condition and tries again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := kube.NewClient(kubeconfig)
			if err != nil {
				return err
			}
			ctx, stop := dataPlaneContext(cmd) // SIGTERM stops restic cleanly
			defer stop()
			o.SetLog(cmd.ErrOrStderr())
			return function.SyncSnapshots(ctx, c, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	o.AddFlags(f)
	f.StringVar(&o.Namespace, "namespace", "default", "namespace of the Repository and its Snapshots")
	f.StringVar(&o.Repository, "repository", "", "the Repository whose Snapshots to sync")
	f.StringVar(&o.RepositoryUID, "repository-uid", "", "the Repository's uid, which owns the Snapshots")
	f.IntVar(&o.Writers, "writers", function.DefaultSyncWriters, "API writes at once")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then in-cluster)")
	_ = cmd.MarkFlagRequired("repository")
	_ = cmd.MarkFlagRequired("repository-uid")
	return cmd
}
