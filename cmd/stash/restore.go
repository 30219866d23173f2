package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
)

func init() { rootCmd.AddCommand(newRestoreCommand()) }

type restoreFlags struct {
	snapshot, target, task, sourceHost string
	wait                               waitOptions
}

func newRestoreCommand() *cobra.Command {
	o := &restoreFlags{}
	cl := &cluster{}
	cmd := &cobra.Command{
		Use:   "restore (BACKUPCONFIGURATION | repository/NAME) --snapshot ID [--target KIND/NAME] [--task NAME] [--wait]",
		Short: "Restore a snapshot: create a RestoreSession from flags",
		Long: `restore creates a RestoreSession that restores one snapshot (an id, or latest).

From a BackupConfiguration it restores into that configuration's own target, from its
Repository, with the restore Task that pairs with its backup Task (postgres-backup-15:
postgres-restore-15, pvc-backup: pvc-restore); --target and --task change them. From
repository/NAME, --target is required, and --task unless the target is a workload.
A bare NAME is a BackupConfiguration.

Exit status: 0 when the RestoreSession was created (with --wait: when it succeeded); 1
when it could not be created, or with --wait did not succeed or was not followed to its
end; 2 on a usage error.`,
		Example: `  stash restore source-postgres-backup --snapshot latest --target appbinding/restored-postgres -n demo --wait
  stash restore repository/local-repo --snapshot 4bd7a1f2 --target pvc/web-copy --task pvc-restore -n demo`,
		Args: exactArgs(1),
		RunE: cl.run(func(cn conn, cmd *cobra.Command, args []string) error {
			if o.snapshot == "" {
				return usageError(errors.New("--snapshot is required: a snapshot id (stash snapshots, kubectl get repository) or latest"))
			}
			req, err := o.request(cn, args[0])
			if err != nil {
				return err
			}
			rs := resolve.NewRestoreSession(cn.ns, naming.Join(req.Target.Ref.Name, "restore")+"-", req)
			if err := cn.client.Create(cn.ctx, rs); err != nil {
				return fmt.Errorf("create a RestoreSession of Repository %s/%s: %w", cn.ns, req.Repository, err)
			}
			return o.wait.created(cn, "RestoreSession", rs.Name, cmd.OutOrStdout())
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.snapshot, "snapshot", "", "the snapshot to restore: its id, or latest (required)")
	f.StringVar(&o.target, "target", "", "restore into KIND/NAME (pvc/NAME, appbinding/NAME, statefulset/NAME, ...)")
	f.StringVar(&o.task, "task", "", "the restore Task (default: the pair of the configuration's backup Task)")
	f.StringVar(&o.sourceHost, "source-host", "", "restore this host's snapshot into every host of the target (default: each host its own)")
	o.wait.addFlags(cmd)
	cl.bind(cmd)
	return cmd
}

// request is the restore the flags ask for, checked against the cluster:
// the configuration or Repository and the Task must exist, so that nothing
// is created that can only fail.
func (o *restoreFlags) request(cn conn, source string) (resolve.RestoreRequest, error) {
	ctx, c, ns := cn.ctx, cn.client, cn.ns
	var req resolve.RestoreRequest
	if name, ok := cutAnyPrefix(source, "repository/", "repositories/", "repo/"); ok {
		if o.target == "" {
			return req, usageError(errors.New("--target KIND/NAME is required when restoring from a Repository"))
		}
		req = resolve.RestoreRequest{Repository: name, Snapshot: o.snapshot}
	} else {
		name, _ = cutAnyPrefix(source, "backupconfiguration/", "backupconfigurations/", "bc/")
		bc, err := cn.backupConfiguration(name)
		if err != nil {
			return req, err
		}
		req = resolve.RestoreOf(bc, o.snapshot)
	}
	req.SourceHost = o.sourceHost
	if o.target != "" {
		ref, err := resolve.ParseTargetRef(o.target)
		if err != nil {
			return req, usageError(err)
		}
		if ref.Kind != req.Target.Ref.Kind {
			req.Target.VolumeMounts = nil // another kind's mounts mean nothing here
		}
		req.Target.Ref = ref
	}
	if o.task != "" {
		req.Task = o.task
	}
	if req.Task == "" && !resolve.IsWorkload(req.Target.Ref) {
		return req, usageError(fmt.Errorf("--task is required to restore into %s/%s: the restore Task, e.g. pvc-restore or postgres-restore-15 (kubectl get tasks.stash.appscode.com)",
			req.Target.Ref.Kind, req.Target.Ref.Name))
	}
	if req.Task != "" {
		if err := c.Get(ctx, client.ObjectKey{Name: req.Task}, &stashv1beta1.Task{}); apierrors.IsNotFound(err) {
			return req, fmt.Errorf("restore Task %q not found: name one with --task (kubectl get tasks.stash.appscode.com lists them)", req.Task)
		} else if err != nil {
			return req, fmt.Errorf("get Task %s: %w", req.Task, err)
		}
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: req.Repository}, &stashv1alpha1.Repository{}); err != nil {
		return req, notFound(err, "Repository", ns, req.Repository)
	}
	return req, nil
}

// cutAnyPrefix cuts the first of prefixes that s starts with, any case.
func cutAnyPrefix(s string, prefixes ...string) (string, bool) {
	for _, p := range prefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):], true
		}
	}
	return s, false
}
