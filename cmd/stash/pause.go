package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func init() {
	rootCmd.AddCommand(newPauseCommand(true), newPauseCommand(false))
}

// newPauseCommand is `stash pause` (paused true) or `stash resume`.
func newPauseCommand(paused bool) *cobra.Command {
	use, short, done := "resume", "Resume the schedule of a BackupConfiguration", "resumed"
	if paused {
		use, short, done = "pause", "Stop the schedule of a BackupConfiguration (stash trigger still backs it up)", "paused"
	}
	cl := &cluster{}
	cmd := &cobra.Command{
		Use:   use + " BACKUPCONFIGURATION",
		Short: short,
		Long: short + `: sets spec.paused to ` + fmt.Sprint(paused) + `. A session already running goes on.

Exit status: 0 when the configuration is ` + done + ` (also when it already was); 1 when
it could not be changed; 2 on a usage error.`,
		Args: exactArgs(1),
		RunE: cl.run(func(cn conn, cmd *cobra.Command, args []string) error {
			bc, err := cn.backupConfiguration(args[0])
			if err != nil {
				return err
			}
			ns := cn.ns
			if bc.Spec.Paused == paused {
				fmt.Fprintf(cmd.OutOrStdout(), "backupconfiguration %s/%s was already %s\n", ns, bc.Name, done)
				return nil
			}
			// A merge patch of the one field: a concurrent edit of anything
			// else is kept.
			patch := client.RawPatch(client.Merge.Type(), fmt.Appendf(nil, `{"spec":{"paused":%t}}`, paused))
			if err := cn.client.Patch(cn.ctx, bc, patch); err != nil {
				return fmt.Errorf("set spec.paused of BackupConfiguration %s/%s: %w", ns, bc.Name, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backupconfiguration %s/%s %s\n", ns, bc.Name, done)
			return nil
		}),
	}
	cl.bind(cmd)
	return cmd
}
