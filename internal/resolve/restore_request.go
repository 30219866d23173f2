package resolve

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// RestoreRequest is a restore asked for on the command line (`stash
// restore`): which snapshot of which Repository goes into which target,
// with which Task.
type RestoreRequest struct {
	Repository string
	// Task is the restore Task; empty for a workload target, whose
	// catalog Task the resolver picks (workload-restore).
	Task   string
	Target stashv1beta1.RestoreTarget
	// Snapshot is a restic snapshot id or "latest".
	Snapshot string
	// SourceHost, when set, is the host whose snapshot is restored into
	// every host of the target (default: each host its own).
	SourceHost string
}

// RestoreOf is the request to restore what bc backs up into bc's own
// target: its Repository, its target's reference and volume mounts, and
// the restore Task that pairs with its backup Task.
func RestoreOf(bc *stashv1beta1.BackupConfiguration, snapshot string) RestoreRequest {
	req := RestoreRequest{Repository: bc.Spec.Repository.Name, Task: RestoreTaskOf(bc.Spec.Task.Name), Snapshot: snapshot}
	if t := bc.Spec.Target; t != nil {
		req.Target = stashv1beta1.RestoreTarget{Ref: t.Ref, VolumeMounts: t.VolumeMounts}
	}
	return req
}

// RestoreTaskOf is the restore Task that pairs with a backup Task, by the
// catalog's naming (postgres-backup-15 and postgres-restore-15, pvc-backup
// and pvc-restore, mysql-backup-10.11 and mysql-restore-10.11); "" for "".
// A name without "-backup" has no pair and is returned as is, for the API
// lookup that follows to report.
func RestoreTaskOf(backupTask string) string {
	return strings.Replace(backupTask, "-backup", "-restore", 1)
}

// NewRestoreSession is the RestoreSession of req in namespace, named by the
// API server after prefix.
func NewRestoreSession(namespace, prefix string, req RestoreRequest) *stashv1beta1.RestoreSession {
	target := req.Target
	return &stashv1beta1.RestoreSession{
		TypeMeta:   metav1.TypeMeta{APIVersion: stashv1beta1.GroupVersion.String(), Kind: "RestoreSession"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix, Namespace: namespace},
		Spec: stashv1beta1.RestoreSessionSpec{
			Repository: corev1.LocalObjectReference{Name: req.Repository},
			Task:       stashv1beta1.TaskRef{Name: req.Task},
			Target:     &target,
			Rules:      []stashv1beta1.Rule{{SourceHost: req.SourceHost, Snapshots: []string{req.Snapshot}}},
		},
	}
}

// targetKinds are the names a command line may give a target kind, as
// kubectl takes them (singular, plural, short name), with the reference
// each stands for.
var targetKinds = func() map[string]stashv1beta1.TargetRef {
	kinds := map[string]stashv1beta1.TargetRef{}
	for _, k := range []struct {
		ref   stashv1beta1.TargetRef
		names []string
	}{
		{stashv1beta1.TargetRef{APIVersion: "appcatalog.appscode.com/v1alpha1", Kind: "AppBinding"}, []string{"appbinding", "appbindings"}},
		{stashv1beta1.TargetRef{APIVersion: "v1", Kind: "PersistentVolumeClaim"}, []string{"persistentvolumeclaim", "persistentvolumeclaims", "pvc"}},
		{stashv1beta1.TargetRef{APIVersion: "apps/v1", Kind: "Deployment"}, []string{"deployment", "deployments", "deploy"}},
		{stashv1beta1.TargetRef{APIVersion: "apps/v1", Kind: "StatefulSet"}, []string{"statefulset", "statefulsets", "sts"}},
		{stashv1beta1.TargetRef{APIVersion: "apps/v1", Kind: "DaemonSet"}, []string{"daemonset", "daemonsets", "ds"}},
		{stashv1beta1.TargetRef{APIVersion: "apps/v1", Kind: "ReplicaSet"}, []string{"replicaset", "replicasets", "rs"}},
		{stashv1beta1.TargetRef{APIVersion: "v1", Kind: "ReplicationController"}, []string{"replicationcontroller", "replicationcontrollers", "rc"}},
	} {
		for _, name := range k.names {
			kinds[name] = k.ref
		}
	}
	return kinds
}()

// ParseTargetRef reads a target given as KIND/NAME (pvc/data,
// appbinding/db, statefulset/web, any case of the kind).
func ParseTargetRef(s string) (stashv1beta1.TargetRef, error) {
	kind, name, ok := strings.Cut(s, "/")
	ref, known := targetKinds[strings.ToLower(kind)]
	switch {
	case !ok || name == "" || kind == "":
		return ref, fmt.Errorf("target %q: give KIND/NAME, e.g. pvc/data, appbinding/db or statefulset/web", s)
	case !known:
		return ref, fmt.Errorf("target %q: kind %q is not one Stash restores into: use appbinding, pvc, deployment, statefulset, daemonset, replicaset or replicationcontroller", s, kind)
	}
	ref.Name = name
	return ref, nil
}
