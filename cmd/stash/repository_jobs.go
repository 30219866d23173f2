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

// The commands of the Jobs the operator runs when a Repository's
// annotation asks for an operation (stash unlock, stash check).
func init() {
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

func newRequestJobCommand(use, short string, flags func(*pflag.FlagSet, *function.RequestOptions),
	run func(context.Context, client.Client, function.RequestOptions, io.Writer) error) *cobra.Command {
	var (
		o          function.RequestOptions
		kubeconfig string
	)
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.
The outcome is recorded in the Repository's status under --request; the
command exits non-zero only when it cannot record it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := kube.NewClient(kubeconfig)
			if err != nil {
				return err
			}
			ctx, stop := dataPlaneContext(cmd) // SIGTERM stops restic cleanly
			defer stop()
			o.SetLog(cmd.ErrOrStderr())
			return run(ctx, c, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	o.AddFlags(f)
	f.StringVar(&o.Namespace, "namespace", "default", "namespace of the Repository")
	f.StringVar(&o.Repository, "repository", "", "the Repository")
	f.StringVar(&o.Request, "request", "", "the request (the annotation's value) the outcome answers")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then in-cluster)")
	flags(f, &o)
	_ = cmd.MarkFlagRequired("repository")
	_ = cmd.MarkFlagRequired("request")
	return cmd
}
