package main

import (
	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/function"
)

func init() { rootCmd.AddCommand(newWipeRepositoryCommand()) }

func newWipeRepositoryCommand() *cobra.Command {
	var s function.Setup
	cmd := &cobra.Command{
		Use:   "wipe-repository",
		Short: "Forget every snapshot of a repository and prune its data (Repository spec.wipeOut)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s.Log = cmd.ErrOrStderr()
			ctx, stop := dataPlaneContext(cmd)
			defer stop()
			return function.WipeRepository(ctx, s, cmd.OutOrStdout())
		},
	}
	s.AddFlags(cmd.Flags())
	return cmd
}
