package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/resolve"
)

func init() { rootCmd.AddCommand(newTriggerCommand()) }

func newTriggerCommand() *cobra.Command {
	var wait waitOptions
	cl := &cluster{}
	cmd := &cobra.Command{
		Use:   "trigger BACKUPCONFIGURATION [--wait]",
		Short: "Back up now: create a BackupSession of a BackupConfiguration, also when it is paused",
		Long: `trigger creates a BackupSession of the BackupConfiguration, as its schedule does; a
paused configuration is backed up too. With --wait it follows the session to its end,
printing each step as it starts and ends.

Exit status: 0 when the session was created (with --wait: when it succeeded); 1 when
it could not be created, or with --wait failed or was not followed to its end; 2 on a
usage error.`,
		Example: `  stash trigger source-postgres-backup -n demo --wait`,
		Args:    exactArgs(1),
		RunE: cl.run(func(cn conn, cmd *cobra.Command, args []string) error {
			bc, err := cn.backupConfiguration(args[0])
			if err != nil {
				return err
			}
			bs := resolve.NewBackupSession(bc, "")
			bs.GenerateName = bc.Name + "-"
			if err := cn.client.Create(cn.ctx, bs); err != nil {
				return fmt.Errorf("create a BackupSession of BackupConfiguration %s/%s: %w", cn.ns, bc.Name, err)
			}
			return wait.created(cn, "BackupSession", bs.Name, cmd.OutOrStdout())
		}),
	}
	wait.addFlags(cmd)
	cl.bind(cmd)
	return cmd
}
