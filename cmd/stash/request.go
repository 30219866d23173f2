package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/controller/repository"
)

func init() {
	var force bool
	rootCmd.AddCommand(newRequestCommand(repository.Operations[0], "unlock REPOSITORY",
		"Remove a Repository's stale locks, through a Job in the cluster",
		`Remove the locks of a Repository whose holders have ended: a backup whose pod
was killed leaves its lock, and restic respects it for 30 minutes. A Job in
the Repository's namespace (stash-unlock-REPOSITORY, the storage Secret mounted)
looks at each lock's holder, the pod restic names: a lock of a pod that has
ended, or one restic holds stale, goes; a lock of a pod that still runs, or of a
holder nobody can tell (another machine), keeps them all, unless --force.`,
		func(cmd *cobra.Command) {
			cmd.Flags().BoolVar(&force, "force", false, "remove the locks even of holders that still run")
		},
		func() map[string]any {
			if force {
				return map[string]any{stashv1alpha1.UnlockForceAnnotation: "true"}
			}
			return map[string]any{stashv1alpha1.UnlockForceAnnotation: nil}
		}))
	var subset string
	rootCmd.AddCommand(newRequestCommand(repository.Operations[1], "check REPOSITORY",
		"Check a Repository's integrity (restic check), through a Job in the cluster",
		`Run restic check on a Repository's data in a Job in its namespace
(stash-check-REPOSITORY, the storage Secret mounted), and record it in the
Repository's status as a backup's check is: integrity, lastIntegrityCheckTime
and condition IntegrityVerified. With --read-data-subset, that part of the data
(e.g. 10%, or 1/5) is also read and verified.`,
		func(cmd *cobra.Command) {
			cmd.Flags().StringVar(&subset, "read-data-subset", "", "also read and verify this part of the data (e.g. 10%)")
		},
		func() map[string]any {
			if subset != "" {
				return map[string]any{stashv1alpha1.CheckReadDataSubsetAnnotation: subset}
			}
			return map[string]any{stashv1alpha1.CheckReadDataSubsetAnnotation: nil}
		}))
}

// newRequestCommand asks for op on a Repository (its annotation, plus
// those extra gives) and waits for its outcome in the Repository's status.
func newRequestCommand(op repository.Operation, use, short, long string, flags func(*cobra.Command), extra func() map[string]any) *cobra.Command {
	cl := &cluster{}
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: long + `

Needs the stash-edit role (it annotates the Repository); no credential leaves
the cluster. Exit status: 0 when it succeeded; 1 when it failed (the reason is
printed) or the wait timed out; 2 on a usage error.`,
		Args: exactArgs(1),
		RunE: cl.run(func(cn conn, cmd *cobra.Command, args []string) error {
			var repo stashv1alpha1.Repository
			if err := cn.client.Get(cn.ctx, client.ObjectKey{Namespace: cn.ns, Name: args[0]}, &repo); err != nil {
				return notFound(err, "Repository", cn.ns, args[0])
			}
			request := time.Now().UTC().Format(time.RFC3339Nano)
			annotations := extra()
			annotations[op.Annotation] = request
			patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
			if err != nil {
				return err
			}
			if err := cn.client.Patch(cn.ctx, &repo, client.RawPatch(client.Merge.Type(), patch)); err != nil {
				return fmt.Errorf("annotate Repository %s/%s: %w", cn.ns, repo.Name, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s of repository %s/%s requested; waiting for Job %s\n", op.Name, cn.ns, repo.Name, op.JobName(repo.Name))
			ctx := cn.ctx
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			ticker := time.NewTicker(pollInterval)
			defer ticker.Stop()
			for {
				if err := cn.client.Get(ctx, client.ObjectKeyFromObject(&repo), &repo); err == nil {
					if last := *op.Outcome(&repo.Status); last != nil && last.Request == request {
						if last.Phase != stashv1alpha1.OperationSucceeded {
							return &exitError{code: 1, err: fmt.Errorf("%s of repository %s/%s %s: %s", op.Name, cn.ns, repo.Name, last.Phase, last.Message)}
						}
						fmt.Fprintf(out, "%s: %s\n", last.Phase, last.Message)
						return nil
					}
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("stopped waiting for the %s of repository %s/%s after %s; the Job goes on: kubectl -n %s logs job/%s",
						op.Name, cn.ns, repo.Name, timeout, cn.ns, op.JobName(repo.Name))
				case <-ticker.C:
				}
			}
		}),
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up waiting after this long (0: no limit); the Job goes on")
	flags(cmd)
	cl.bind(cmd)
	return cmd
}
