package resolve

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// invoker is what backups and restores have in common: the object that asks
// for the Job (BackupConfiguration or RestoreSession) and the session that
// owns it (BackupSession, or the RestoreSession itself).
type invoker struct {
	kind, name, namespace string
	labels                map[string]string
	component             string // stash-backup or stash-restore
	jobPrefix             string // stash-backup or stash-restore
	taskRef               stashv1beta1.TaskRef
	repository            string
	runtimeSettings       stashv1beta1.RuntimeSettings
	tempDir               stashv1beta1.EmptyDirSettings
	interimVolume         *stashv1beta1.PersistentVolumeClaim
	preHook, postHook     *stashv1beta1.Handler
	preHookType           string
	postHookType          string
	timeOut               string
	restore               bool

	session     metav1.Object
	sessionKind string
	// jobSuffix distinguishes the Jobs of one session: Stash's target index.
	jobSuffix string
}

func backupInvoker(bc *stashv1beta1.BackupConfiguration, bs *stashv1beta1.BackupSession) *invoker {
	inv := &invoker{
		kind: "BackupConfiguration", name: bc.Name, namespace: bc.Namespace, labels: bc.Labels,
		component: "stash-backup", jobPrefix: "stash-backup",
		taskRef: bc.Spec.Task, repository: bc.Spec.Repository.Name,
		runtimeSettings: bc.Spec.RuntimeSettings, tempDir: bc.Spec.TempDir, interimVolume: bc.Spec.InterimVolumeTemplate,
		preHookType: "preBackup", postHookType: "postBackup", timeOut: bc.Spec.TimeOut,
		session: bs, sessionKind: "BackupSession", jobSuffix: "0",
	}
	if h := bc.Spec.Hooks; h != nil {
		inv.preHook, inv.postHook = h.PreBackup, h.PostBackup
	}
	return inv
}

func restoreInvoker(rs *stashv1beta1.RestoreSession) *invoker {
	inv := &invoker{
		kind: "RestoreSession", name: rs.Name, namespace: rs.Namespace, labels: rs.Labels,
		component: "stash-restore", jobPrefix: "stash-restore",
		taskRef: rs.Spec.Task, repository: rs.Spec.Repository.Name,
		runtimeSettings: rs.Spec.RuntimeSettings, tempDir: rs.Spec.TempDir, interimVolume: rs.Spec.InterimVolumeTemplate,
		preHookType: "preRestore", postHookType: "postRestore", timeOut: rs.Spec.TimeOut, restore: true,
		session: rs, sessionKind: "RestoreSession",
	}
	if h := rs.Spec.Hooks; h != nil {
		inv.preHook, inv.postHook = h.PreRestore, h.PostRestore
	}
	return inv
}

func (inv *invoker) object() string {
	return fmt.Sprintf("%s %q", inv.kind, inv.namespace+"/"+inv.name)
}

// checkRepository reports a missing or mismatched Repository.
func (inv *invoker) checkRepository(repo *stashv1alpha1.Repository) error {
	if inv.repository == "" {
		return &FieldError{Object: inv.object(), Step: -1, Field: "spec.repository.name",
			Err: fmt.Errorf("no Repository is named: set spec.repository.name")}
	}
	if repo == nil || repo.Name != inv.repository || repo.Namespace != inv.namespace {
		return &FieldError{Object: inv.object(), Step: -1, Field: "spec.repository.name",
			Err: &NotFoundError{Kind: "Repository", Name: inv.namespace + "/" + inv.repository}}
	}
	return nil
}
