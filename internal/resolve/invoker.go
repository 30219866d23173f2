package resolve

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/naming"
)

// invoker is what backups and restores have in common: the object that asks
// for the Job (BackupConfiguration or RestoreSession) and the session that
// owns it (BackupSession, or the RestoreSession itself).
type invoker struct {
	kind, name, namespace string
	labels                map[string]string
	taskRef               stashv1beta1.TaskRef
	repository            string
	runtimeSettings       stashv1beta1.RuntimeSettings
	tempDir               stashv1beta1.EmptyDirSettings
	interimVolume         *stashv1beta1.PersistentVolumeClaim
	// preHooks and postHooks run before and after the data steps, in
	// order: Stash v0.9's single hook first, then the list.
	preHooks, postHooks []hook
	preHookType         string
	postHookType        string
	timeOut             string
	// driver, snapshotClass and target are checked for what is not supported.
	driver        stashv1beta1.Snapshotter
	snapshotClass string
	target        stashv1beta1.TargetRef
	// targetMounts are where the target's volumes are mounted (workloads).
	targetMounts []corev1.VolumeMount
	// claimTemplates: a restore into claims made from
	// spec.target.volumeClaimTemplates, which may name no target.
	claimTemplates bool
	// stopsWorkload: a restore that stops its workload target meanwhile.
	stopsWorkload bool

	session metav1.Object
	// sessionKind is the session's kind: how its Job and account are named.
	sessionKind naming.SessionKind
	// host is what the Job backs up or restores.
	host Host
	// defaultTask is the catalog Task of a workload target that names none.
	defaultTask string
}

func backupInvoker(bc *stashv1beta1.BackupConfiguration, bs *stashv1beta1.BackupSession, host Host) *invoker {
	inv := &invoker{
		kind: "BackupConfiguration", name: bc.Name, namespace: bc.Namespace, labels: bc.Labels,
		taskRef: bc.Spec.Task, repository: bc.Spec.Repository.Name,
		runtimeSettings: bc.Spec.RuntimeSettings, tempDir: bc.Spec.TempDir, interimVolume: bc.Spec.InterimVolumeTemplate,
		preHookType: "preBackup", postHookType: "postBackup", timeOut: bc.Spec.TimeOut,
		session: bs, sessionKind: naming.Backup, host: host, defaultTask: WorkloadBackupTask,
	}
	if h := bc.Spec.Hooks; h != nil {
		inv.preHooks, inv.postHooks = hookList("preBackup", h.PreBackup, h.PreBackupHooks), hookList("postBackup", h.PostBackup, h.PostBackupHooks)
	}
	inv.driver = bc.Spec.Driver
	if t := bc.Spec.Target; t != nil {
		inv.target, inv.snapshotClass, inv.targetMounts = t.Ref, t.VolumeSnapshotClassName, t.VolumeMounts
	}
	return inv
}

func restoreInvoker(rs *stashv1beta1.RestoreSession, host Host) *invoker {
	inv := &invoker{
		kind: "RestoreSession", name: rs.Name, namespace: rs.Namespace, labels: rs.Labels,
		taskRef: rs.Spec.Task, repository: rs.Spec.Repository.Name,
		runtimeSettings: rs.Spec.RuntimeSettings, tempDir: rs.Spec.TempDir, interimVolume: rs.Spec.InterimVolumeTemplate,
		preHookType: "preRestore", postHookType: "postRestore", timeOut: rs.Spec.TimeOut,
		session: rs, sessionKind: naming.Restore, host: host, defaultTask: WorkloadRestoreTask,
	}
	if h := rs.Spec.Hooks; h != nil {
		inv.preHooks, inv.postHooks = hookList("preRestore", h.PreRestore, h.PreRestoreHooks), hookList("postRestore", h.PostRestore, h.PostRestoreHooks)
	}
	inv.driver = rs.Spec.Driver
	if t := rs.Spec.Target; t != nil {
		inv.target, inv.targetMounts = t.Ref, t.VolumeMounts
		inv.claimTemplates = len(t.VolumeClaimTemplates) > 0
		inv.stopsWorkload = IsWorkload(t.Ref) && !t.RestoreWhileRunning
	}
	return inv
}

// taskName is the Task the invoker runs: the one it names, or for a
// workload (or claims of volumeClaimTemplates) the catalog's default.
func (inv *invoker) taskName() string {
	if inv.taskRef.Name == "" && (IsWorkload(inv.target) || inv.claimTemplates) {
		return inv.defaultTask
	}
	return inv.taskRef.Name
}

// A hook is one handler of spec.hooks and where it is written.
type hook struct {
	field   fieldPath // spec.hooks.preBackup, spec.hooks.preBackupHooks[1]
	handler stashv1beta1.Handler
}

// hookList is one phase's hooks in the order they run: the single v0.9
// hook (field phase), then the list (phase + "Hooks").
func hookList(phase string, single *stashv1beta1.Handler, list []stashv1beta1.Handler) []hook {
	var hooks []hook
	if single != nil {
		hooks = append(hooks, hook{field: path("spec", "hooks", phase), handler: *single.DeepCopy()})
	}
	for i := range list {
		hooks = append(hooks, hook{field: append(path("spec", "hooks", phase+"Hooks"), index(i)), handler: *list[i].DeepCopy()})
	}
	return hooks
}

// allHooks are the invoker's hooks, pre then post.
func (inv *invoker) allHooks() []hook {
	return append(append([]hook(nil), inv.preHooks...), inv.postHooks...)
}

// HasExecHooks reports whether invoker (a BackupConfiguration or
// RestoreSession) has a hook that execs in the target's pod: its Jobs
// then need pods/exec on that pod.
func HasExecHooks(invoker metav1.Object) bool {
	for _, h := range invokerOf(invoker).allHooks() {
		if h.handler.Exec != nil {
			return true
		}
	}
	return false
}

// NeedsTargetPod reports whether invoker's hooks need the target's pod: to
// exec in, or as the host of an HTTP or TCP hook that names none.
func NeedsTargetPod(invoker metav1.Object) bool {
	for _, hk := range invokerOf(invoker).allHooks() {
		h := hk.handler
		if h.Exec != nil || (h.HTTPGet != nil && h.HTTPGet.Host == "") || (h.HTTPPost != nil && h.HTTPPost.Host == "") ||
			(h.TCPSocket != nil && h.TCPSocket.Host == "") {
			return true
		}
	}
	return false
}

// InterimClaimOf is the name of the interim claim of Job job of a session
// of invoker (a BackupConfiguration or RestoreSession); "" when invoker has
// no interimVolumeTemplate.
func InterimClaimOf(invoker metav1.Object, job string) string {
	if tmpl := invokerOf(invoker).interimVolume; tmpl != nil {
		return naming.InterimClaimName(tmpl.Name, job)
	}
	return ""
}

// jobName is the name of the Job of the invoker's host.
func (inv *invoker) jobName() string {
	return inv.sessionKind.JobName(inv.session.GetName(), inv.host.Index)
}

// restores reports whether the invoker's Job is a restore.
func (inv *invoker) restores() bool { return inv.sessionKind == naming.Restore }

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
