// Package backupsession runs BackupSessions: it resolves the invoker's Task
// into one Job, creates it with the account it runs under, and follows the
// Job and its pod to a final phase that says what happened (DESIGN §5).
// Unlike Stash, a session never waits forever for a report that cannot
// come: a step that fails, a Job that fails or is deleted, an image that
// cannot be pulled, a timeout or a Job that ends without a report each end
// the session with a typed reason. The lifecycle is internal/controller/
// lifecycle's; this package says what is particular to backups: a session's
// invoker is its BackupConfiguration.
package backupsession

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/lifecycle"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/session"
)

// ControllerName names the controller, its logger and its Events.
const ControllerName = "backupsession"

// invokerKind is the only kind that invokes BackupSessions so far.
const invokerKind = "BackupConfiguration"

// Kind is the lifecycle's view of BackupSessions.
var Kind = lifecycle.Kind{
	Naming:      naming.Backup,
	InvokerKind: invokerKind,
	New:         func() lifecycle.Session { return &stashv1beta1.BackupSession{} },
	Invoker:     invoker,
}

// Reconciler runs BackupSessions. Its fields are lifecycle.Runner's:
// Client, APIReader, Clock, Recorder, ResolveOptions, ImagePullGracePeriod,
// PodStartTimeout.
type Reconciler struct {
	lifecycle.Runner
}

// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupsessions,verbs=get;list;watch
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupsessions/status,verbs=update
// +kubebuilder:rbac:groups=stash.appscode.com,resources=backupconfigurations,verbs=get;list;watch

// SetupWithManager registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return r.Setup(mgr, ControllerName, Kind)
}

// invoker reads the session's BackupConfiguration. Only BackupConfigurations
// invoke sessions so far.
func invoker(ctx context.Context, r lifecycle.Readers, s lifecycle.Session) (client.Object, *session.Verdict, error) {
	bs := s.(*stashv1beta1.BackupSession)
	inv := bs.Spec.Invoker
	if inv.Kind != invokerKind {
		v := session.Failed(stashv1beta1.ReasonJobCreationFailed, fmt.Sprintf("invoker kind %q is not supported yet: use a BackupConfiguration", inv.Kind))
		return nil, &v, nil
	}
	bc := &stashv1beta1.BackupConfiguration{}
	found, err := r.GetConfirmed(ctx, client.ObjectKey{Namespace: bs.Namespace, Name: inv.Name}, bc)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		v := session.Failed(stashv1beta1.ReasonInvokerNotFound, fmt.Sprintf("BackupConfiguration %s/%s not found", bs.Namespace, inv.Name))
		return nil, &v, nil
	}
	return bc, nil, nil
}
