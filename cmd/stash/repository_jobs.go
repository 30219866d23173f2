package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stash-operator/stash/internal/function"
	"github.com/stash-operator/stash/internal/kube"
)

// The commands of the Jobs the operator runs for a whole Repository: the
// sync of its Snapshot objects, and the operations its annotations ask
// for (stash unlock, stash check).
func init() {
	rootCmd.AddCommand(newSyncSnapshotsCommand())
	rootCmd.AddCommand(newRequestJobCommand("unlock-repository",
		"Remove a repository's locks whose holders have ended (the Job of stash unlock)",
		func(f *pflag.FlagSet, o *function.RequestOptions) {
			f.BoolVar(&o.Force, "force", false, "remove the locks of holders that still run, too")
		}, function.UnlockRepository))
	rootCmd.AddCommand(newRequestJobCommand("check-repository",
		"Check a repository's integrity with restic check (the Job of stash check)",
		func(f *pflag.FlagSet, o *function.RequestOptions) {
			f.StringVar(&o.ReadDataSubset, "read-data-subset", "", "also read and verify this part of the data (e.g. 10%)")
		}, function.CheckRepository))
}

// repositoryJobCommand completes cmd as a command of a Repository's Job:
// the backend flags of setup, --namespace, --repository and --kubeconfig;
// run gets a client and a context that SIGTERM ends, so that restic stops
// cleanly and leaves no lock.
func repositoryJobCommand(cmd *cobra.Command, setup *function.Setup, namespace, repository *string,
	run func(ctx context.Context, c client.Client, stdout io.Writer) error) *cobra.Command {
	var kubeconfig string
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := kube.NewClient(kubeconfig)
		if err != nil {
			return err
		}
		ctx, stop := dataPlaneContext(cmd)
		defer stop()
		setup.SetLog(cmd.ErrOrStderr())
		return run(ctx, c, cmd.OutOrStdout())
	}
	f := cmd.Flags()
	setup.AddFlags(f)
	f.StringVar(namespace, "namespace", "default", "namespace of the Repository")
	f.StringVar(repository, "repository", "", "the Repository")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then in-cluster)")
	_ = cmd.MarkFlagRequired("repository")
	return cmd
}

func newSyncSnapshotsCommand() *cobra.Command {
	var o function.SyncSnapshotsOptions
	cmd := repositoryJobCommand(&cobra.Command{
		Use:   "sync-snapshots",
		Short: "Make a Repository's Snapshot objects mirror its restic snapshots, forgetting those whose objects were deleted",
		Long: `Runs in the Job the operator creates for a Repository after each backup into
it, when a Snapshot object is deleted, and on an interval. It lists the
repository's snapshots (restic snapshots, no lock), forgets the snapshots whose
Snapshot objects were deleted, creates an object for each new snapshot and
removes the objects of snapshots that are gone (retention, another tool).
Exits non-zero when anything could not be done; the operator records it in
the Repository's SnapshotsSynced condition and tries again.`,
	}, &o.Setup, &o.Namespace, &o.Repository, func(ctx context.Context, c client.Client, stdout io.Writer) error {
		return function.SyncSnapshots(ctx, c, o, stdout)
	})
	f := cmd.Flags()
	f.StringVar(&o.RepositoryUID, "repository-uid", "", "the Repository's uid, which owns the Snapshots")
	f.IntVar(&o.Writers, "writers", function.DefaultSyncWriters, "API writes at once")
	_ = cmd.MarkFlagRequired("repository-uid")
	return cmd
}

func newRequestJobCommand(use, short string, flags func(*pflag.FlagSet, *function.RequestOptions),
	run func(context.Context, client.Client, function.RequestOptions, io.Writer) error) *cobra.Command {
	var o function.RequestOptions
	cmd := repositoryJobCommand(&cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.
The outcome is recorded in the Repository's status under --request; the
command exits non-zero only when it cannot record it.`,
	}, &o.Setup, &o.Namespace, &o.Repository, func(ctx context.Context, c client.Client, stdout io.Writer) error {
		return run(ctx, c, o, stdout)
	})
	f := cmd.Flags()
	f.StringVar(&o.Request, "request", "", "the request (the annotation's value) the outcome answers")
	flags(f, &o)
	_ = cmd.MarkFlagRequired("request")
	return cmd
}
