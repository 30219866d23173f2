package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/hook"
)

func init() {
	var opt hook.Options
	cmd := &cobra.Command{
		Use:   "run-hook",
		Short: "Run the hooks of one phase of a backup or restore (the pre-task-hook and post-task-hook containers)",
		Long: `Run the --hooks of --hook-type in order, each within its timeoutSeconds:
exec in the target's --pod (through the API server's pods/exec), httpGet,
httpPost and tcpSocket as Kubernetes probes do (to the pod's IP when they name
no host). A pre hook that fails stops the others and exits 1, so that nothing
is backed up or restored. Post hooks run after the data step, also when it
failed, as their executionPolicy says; a failure is recorded in
<output-dir>/output.json for update-status (the data step's snapshot or
restored files are kept) and exits 0. The summary is printed and left as the
container's termination message.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDataPlane(cmd, func(ctx context.Context) error {
				return hook.Run(ctx, opt, cmd.OutOrStdout())
			})
		},
	}
	opt.AddFlags(cmd.Flags())
	rootCmd.AddCommand(cmd)
}
