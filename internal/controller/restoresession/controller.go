// Package restoresession runs RestoreSessions. A RestoreSession is its own
// invoker and session: it names the Task, Repository and target, and its
// status records the result. The lifecycle is the BackupSession's
// (internal/controller/lifecycle): resolve one Job, create it with its
// account, follow it and its pod to a final phase with a typed reason. This
// package says what is particular to restores.
package restoresession

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/lifecycle"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/session"
)

// ControllerName names the controller, its logger and its Events.
const ControllerName = "restoresession"

// Kind is the lifecycle's view of RestoreSessions: each is its own invoker.
var Kind = lifecycle.Kind{
	Naming:      naming.Restore,
	InvokerKind: "RestoreSession",
	New:         func() lifecycle.Session { return &stashv1beta1.RestoreSession{} },
	Invoker: func(_ context.Context, _ lifecycle.Readers, s lifecycle.Session) (client.Object, *session.Verdict, error) {
		return s, nil, nil
	},
	Prepare: prepare,
	Finish:  finish,
}

// Reconciler runs RestoreSessions. Its fields are lifecycle.Runner's:
// Client, APIReader, Clock, Recorder, ResolveOptions, ImagePullGracePeriod,
// PodStartTimeout.
type Reconciler struct {
	lifecycle.Runner
}

// +kubebuilder:rbac:groups=stash.appscode.com,resources=restoresessions,verbs=get;list;watch
// +kubebuilder:rbac:groups=stash.appscode.com,resources=restoresessions/status,verbs=update

// SetupWithManager registers the controller with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return r.Setup(mgr, ControllerName, Kind)
}
