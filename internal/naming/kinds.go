package naming

import (
	"maps"
	"strconv"
)

// Labels the operator puts on everything it creates for a session: its
// Jobs and their pods, and the invoker's ServiceAccount, Role and
// RoleBinding. The first two are Stash's; the invoker ones name the object
// whose Task the Job runs.
const (
	ManagedByLabel   = "app.kubernetes.io/managed-by"
	ComponentLabel   = "app.kubernetes.io/component"
	ManagedByStash   = "stash.appscode.com"
	InvokerKindLabel = "stash.appscode.com/invoker-kind"
	InvokerNameLabel = "stash.appscode.com/invoker-name"
	// HostLabel names the host a Job backs up or restores.
	HostLabel = "stash.appscode.com/host"
)

// The containers the resolver adds around a Task's steps for the invoker's
// hooks, named as Stash names them; they run no Function.
const (
	PreTaskHookContainer  = "pre-task-hook"
	PostTaskHookContainer = "post-task-hook"
)

// SessionKind is how the objects of one kind of session are named: a
// backup (BackupSession) or a restore (RestoreSession).
type SessionKind struct {
	// Component is the app.kubernetes.io/component of the session's Jobs
	// and accounts, and the first part of their names.
	Component string
	// Kind of the session object.
	Kind string
}

// The two session kinds.
var (
	Backup  = SessionKind{Component: "stash-backup", Kind: "BackupSession"}
	Restore = SessionKind{Component: "stash-restore", Kind: "RestoreSession"}
)

// JobName is the name of the Job of host number index (from 0, in the
// order of the session's status.hosts) of session.
func (k SessionKind) JobName(session string, index int) string {
	return Join(k.Component, DNSLabel(session), strconv.Itoa(index))
}

// ServiceAccountName is the account the operator creates for the Jobs of
// invoker (a BackupConfiguration, or the RestoreSession itself).
func (k SessionKind) ServiceAccountName(invoker string) string {
	return Join(k.Component, DNSLabel(invoker))
}

// Labels are the labels of the session's Jobs, their pods and the invoker's
// account: the invoker's own labels, then ours.
func (k SessionKind) Labels(invokerKind, invokerName string, invokerLabels map[string]string) map[string]string {
	labels := maps.Clone(invokerLabels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ManagedByLabel] = ManagedByStash
	labels[ComponentLabel] = k.Component
	labels[InvokerKindLabel] = invokerKind
	labels[InvokerNameLabel] = Join(invokerName) // label values have the same 63 limit
	return labels
}

// InterimClaimName is the PVC the operator creates from an
// interimVolumeTemplate named template for the Job job: one per Job, so
// that the hosts of a session, which may run at once on different nodes,
// each stage their data on a volume of their own.
func InterimClaimName(template, job string) string {
	if template == "" {
		return job
	}
	return Join(template, job)
}
