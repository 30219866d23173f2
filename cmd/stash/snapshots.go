package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	repositoriesv1alpha1 "github.com/stash-operator/stash/api/repositories/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/snapshotsync"
)

func init() { rootCmd.AddCommand(newSnapshotsCommand()) }

func newSnapshotsCommand() *cobra.Command {
	cl := &cluster{}
	var output, host string
	cmd := &cobra.Command{
		Use:   "snapshots REPOSITORY",
		Short: "List the snapshots of a Repository, newest first",
		Long: `List the snapshots of a Repository, newest first, from its Snapshot objects
(kubectl get snapshots -l repository=REPOSITORY shows the same). The operator
syncs them after each backup into the repository, when one is deleted, and on
an interval; the header says when they were last synced, and why not when a
sync failed. Nothing here reads the repository: its credentials stay in the
cluster. Delete a snapshot with: kubectl delete snapshot NAME.

Exit status: 0 when the snapshots are listed (also none); 1 when the
Repository or its Snapshots cannot be read; 2 on a usage error.`,
		Args: exactArgs(1),
		RunE: cl.run(func(cn conn, cmd *cobra.Command, args []string) error {
			if output != "" && output != "json" && output != "yaml" {
				return usageError(fmt.Errorf("-o %q: use json or yaml, or leave it out for a table", output))
			}
			var repo stashv1alpha1.Repository
			if err := cn.client.Get(cn.ctx, client.ObjectKey{Namespace: cn.ns, Name: args[0]}, &repo); err != nil {
				return notFound(err, "Repository", cn.ns, args[0])
			}
			labels := client.MatchingLabels{repositoriesv1alpha1.RepositoryLabel: snapshotsync.RepositoryLabel(repo.Name)}
			if host != "" {
				labels[repositoriesv1alpha1.HostnameLabel] = host
			}
			var list repositoriesv1alpha1.SnapshotList
			if err := cn.client.List(cn.ctx, &list, client.InNamespace(cn.ns), labels); err != nil {
				return fmt.Errorf("list the Snapshots of Repository %s/%s: %w", cn.ns, repo.Name, err)
			}
			slices.SortFunc(list.Items, newestFirst)
			// A typed list comes back without its kinds; -o shows them.
			list.SetGroupVersionKind(repositoriesv1alpha1.GroupVersion.WithKind("SnapshotList"))
			for i := range list.Items {
				list.Items[i].SetGroupVersionKind(repositoriesv1alpha1.GroupVersion.WithKind("Snapshot"))
			}
			out := cmd.OutOrStdout()
			if output != "" {
				b, err := marshal(output, &list)
				if err != nil {
					return err
				}
				_, err = out.Write(b)
				return err
			}
			printSnapshots(out, &repo, list.Items, time.Now())
			return nil
		}),
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "json or yaml: the Snapshot objects instead of a table")
	cmd.Flags().StringVar(&host, "host", "", "only the snapshots of this host (e.g. host-0)")
	cl.bind(cmd)
	return cmd
}

func newestFirst(a, b repositoriesv1alpha1.Snapshot) int {
	var ta, tb time.Time
	if a.Status.Time != nil {
		ta = a.Status.Time.Time
	}
	if b.Status.Time != nil {
		tb = b.Status.Time.Time
	}
	return tb.Compare(ta)
}

// printSnapshots writes a header saying how current the list is, then a
// table of the snapshots.
func printSnapshots(out io.Writer, repo *stashv1alpha1.Repository, snaps []repositoriesv1alpha1.Snapshot, now time.Time) {
	synced := "never synced yet (the operator syncs the snapshots after the next backup)"
	if t := repo.Status.SnapshotsSyncTime; t != nil {
		synced = fmt.Sprintf("synced %s ago", duration.HumanDuration(now.Sub(t.Time)))
	}
	fmt.Fprintf(out, "Repository %s/%s: %d snapshot(s), %s\n", repo.Namespace, repo.Name, len(snaps), synced)
	if c := meta.FindStatusCondition(repo.Status.Conditions, stashv1beta1.ConditionSnapshotsSynced); c != nil && c.Status != "True" {
		fmt.Fprintf(out, "The last sync failed: %s\n", c.Message)
	}
	if len(snaps) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nNAME\tID\tHOSTNAME\tPATHS\tSIZE\tCREATED\tSTATUS")
	for _, s := range snaps {
		created := ""
		if t := s.Status.Time; t != nil {
			created = fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), duration.HumanDuration(now.Sub(t.Time)))
		}
		status := ""
		if s.DeletionTimestamp != nil {
			status = "Forgetting"
			if c := meta.FindStatusCondition(s.Status.Conditions, repositoriesv1alpha1.ConditionForgotten); c != nil && c.Status == "False" {
				status = c.Reason + ": " + c.Message
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, shortID(s.Status.ID), s.Status.Hostname,
			strings.Join(s.Status.Paths, ","), orDash(s.Status.Size), created, status)
	}
	_ = tw.Flush()
}

func shortID(id string) string { return id[:min(8, len(id))] }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
