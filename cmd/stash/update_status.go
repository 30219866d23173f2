package main

import (
	"github.com/spf13/cobra"

	"github.com/stash-operator/stash/internal/function/updatestatus"
	"github.com/stash-operator/stash/internal/kube"
)

func init() { rootCmd.AddCommand(newUpdateStatusCommand()) }

func newUpdateStatusCommand() *cobra.Command {
	var (
		o          updatestatus.Options
		kubeconfig string
		ignored    string
	)
	cmd := &cobra.Command{
		Use:   "update-status",
		Short: "Record the data step's output.json in the session and the Repository (last step of a Task)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := kube.NewClient(kubeconfig)
			if err != nil {
				return err
			}
			o.Log = cmd.ErrOrStderr()
			return updatestatus.Run(cmd.Context(), c, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Namespace, "namespace", "default", "namespace of the session and the Repository")
	f.StringVar(&o.BackupSession, "backupsession", "", "the BackupSession to record a backup in")
	f.StringVar(&o.RestoreSession, "restoresession", "", "the RestoreSession to record a restore in")
	f.StringVar(&o.Repository, "repository", "", "the Repository whose status a successful backup updates")
	f.StringVar(&o.TargetKind, "target-kind", "", "kind of the backup target")
	f.StringVar(&o.TargetName, "target-name", "", "name of the backup target")
	f.StringVar(&o.OutputDir, "output-dir", "", "directory holding the data step's output.json")
	f.StringVar(&o.Hostname, "hostname", "host-0", "host to report as failed when output.json is missing")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then in-cluster)")
	// Accepted so that Functions written for Stash keep working; metrics
	// come from the operator's endpoint instead of a Pushgateway.
	f.StringVar(&ignored, "metrics-enabled", "", "ignored (Stash compatibility)")
	f.StringVar(&ignored, "metrics-pushgateway-url", "", "ignored (Stash compatibility)")
	f.StringVar(&ignored, "prom-job-name", "", "ignored (Stash compatibility)")
	return cmd
}
