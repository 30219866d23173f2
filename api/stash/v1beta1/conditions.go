package v1beta1

// Condition types and their reasons, kept in one place so that controllers,
// tests and `kubectl wait --for=condition=...` agree on the spelling. Each
// condition has a reason type of its own, and each reason constant is named
// after its value.
const (
	// ConditionReady on a BackupConfiguration: its Task resolves.
	ConditionReady = "Ready"
	// ConditionSucceeded on a session: True when it succeeded, False when it
	// failed or was skipped, Unknown while it runs.
	ConditionSucceeded = "Succeeded"
	// ConditionWipedOut on a Repository being deleted with spec.wipeOut.
	ConditionWipedOut = "WipedOut"
	// ConditionIntegrityVerified on a Repository: the last restic check
	// found no errors (True) or found some (False).
	ConditionIntegrityVerified = "IntegrityVerified"
	// ConditionWorkloadStopped on a RestoreSession: True while its target
	// workload is stopped for the restore; its transitions say when.
	ConditionWorkloadStopped = "WorkloadStopped"
	// ConditionSnapshotsSynced on a Repository: its Snapshot objects
	// mirror the repository as of status.snapshotsSyncTime (True), or the
	// last sync failed (False, the message says why).
	ConditionSnapshotsSynced = "SnapshotsSynced"
)

// RequestReason is the reason of the Event of a Repository request (stash
// unlock, stash check) that got no Job, or whose Job failed.
type RequestReason string

const ReasonRequestFailed RequestReason = "RequestFailed"

// SnapshotsSyncReason is a reason of a Repository's SnapshotsSynced condition.
type SnapshotsSyncReason string

const (
	ReasonSnapshotsSynced    SnapshotsSyncReason = "SnapshotsSynced"
	ReasonSnapshotSyncFailed SnapshotsSyncReason = "SnapshotSyncFailed"
)

// WorkloadReason is a reason of a RestoreSession's WorkloadStopped condition.
type WorkloadReason string

const (
	// ReasonStoppedForRestore: the workload was scaled to zero (a DaemonSet
	// kept off every node) so that nothing writes while it is restored.
	ReasonStoppedForRestore WorkloadReason = "StoppedForRestore"
	// ReasonStartedAfterRestore: the workload runs as it did before.
	ReasonStartedAfterRestore WorkloadReason = "StartedAfterRestore"
)

// ReadyReason is a reason of a BackupConfiguration's Ready condition.
type ReadyReason string

const (
	ReasonTaskResolved       ReadyReason = "TaskResolved"
	ReasonResolveFailed      ReadyReason = "ResolveFailed"
	ReasonRepositoryNotFound ReadyReason = "RepositoryNotFound"
	ReasonInvalidSchedule    ReadyReason = "InvalidSchedule"
	// ReasonStorageSecretNotFound: the Repository's storage Secret does not exist.
	ReasonStorageSecretNotFound ReadyReason = "StorageSecretNotFound"
	// ReasonStorageSecretIncomplete: the storage Secret lacks a key the
	// backend reads (RESTIC_PASSWORD, the provider's credentials).
	ReasonStorageSecretIncomplete ReadyReason = "StorageSecretIncomplete"
	// ReasonTargetNotFound: the target, or an object it refers to (an
	// AppBinding's Service or Secret), does not exist.
	ReasonTargetNotFound ReadyReason = "TargetNotFound"
	// ReasonTargetInvalid: the target exists but cannot be backed up as
	// the configuration says (a volume its pods do not have, no node).
	ReasonTargetInvalid ReadyReason = "TargetInvalid"
	// ReasonCredentialsNotAllowed: the target AppBinding names a Secret
	// that does not allow that AppBinding to use it (AnnotationAppBindings).
	ReasonCredentialsNotAllowed ReadyReason = "CredentialsNotAllowed"
)

// SessionReason is a reason of a session's Succeeded condition.
type SessionReason string

const (
	ReasonPending   SessionReason = "Pending"
	ReasonRunning   SessionReason = "Running"
	ReasonCompleted SessionReason = "Completed"
	// ReasonHostFailed: a host reported that its backup or restore failed.
	ReasonHostFailed SessionReason = "HostFailed"
	// ReasonStepFailed: a step's container ended with an error (or was OOM-killed).
	ReasonStepFailed SessionReason = "StepFailed"
	// ReasonJobFailed: a Job or its pod failed otherwise (evicted, backoff).
	ReasonJobFailed SessionReason = "JobFailed"
	// ReasonImagePullFailed: a step's image could not be pulled within the grace period.
	ReasonImagePullFailed SessionReason = "ImagePullFailed"
	// ReasonTimeout: the session ran longer than its timeOut.
	ReasonTimeout SessionReason = "Timeout"
	// ReasonJobCreationFailed: the Job could not be resolved or created.
	ReasonJobCreationFailed SessionReason = "JobCreationFailed"
	// ReasonInvokerNotFound: the session's BackupConfiguration does not exist.
	ReasonInvokerNotFound SessionReason = "InvokerNotFound"
	// ReasonConcurrentSessionRunning: a skipped tick (concurrencyPolicy Forbid).
	ReasonConcurrentSessionRunning SessionReason = "ConcurrentSessionRunning"
	// ReasonReplacedByNewerSession: failed in favour of a newer tick's session
	// (concurrencyPolicy Replace).
	ReasonReplacedByNewerSession SessionReason = "ReplacedByNewerSession"
	// ReasonJobDeleted: the session's Job disappeared before every host reported.
	ReasonJobDeleted SessionReason = "JobDeleted"
	// ReasonHostNotReported: the Job finished but no host wrote its result
	// (the Task's last step is not update-status, or it could not run).
	ReasonHostNotReported SessionReason = "HostNotReported"
	// ReasonHostPhaseUnknown: a restore host reported phase Unknown.
	ReasonHostPhaseUnknown SessionReason = "HostPhaseUnknown"
	// ReasonPodNotStarted: the Job's pod was not created, scheduled or
	// started within the operator's --pod-start-timeout.
	ReasonPodNotStarted SessionReason = "PodNotStarted"
	// ReasonHostUnavailable: a host cannot be backed up or restored (a
	// volume only its own pod may mount, a node gone); no Job runs for it.
	ReasonHostUnavailable SessionReason = "HostUnavailable"
	// ReasonVolumeSourceNotFound: the Job's pod cannot start because a
	// Secret, ConfigMap or PersistentVolumeClaim one of its volumes names
	// does not exist.
	ReasonVolumeSourceNotFound SessionReason = "VolumeSourceNotFound"
	// ReasonTargetNotReady: the target was not readied for its first Job
	// (a workload's pods still running after it was stopped for its
	// restore) within the operator's --pod-start-timeout.
	ReasonTargetNotReady SessionReason = "TargetNotReady"
	// ReasonHookFailed: a pre hook failed (nothing was backed up or
	// restored) or a post hook failed (what the data step did is kept).
	ReasonHookFailed SessionReason = "HookFailed"
	// ReasonPodSecurityForbidden: the Pod Security level the namespace
	// enforces would refuse the Job's pod; no Job was created.
	ReasonPodSecurityForbidden SessionReason = "PodSecurityForbidden"
)

// IntegrityReason is a reason of a Repository's IntegrityVerified condition.
type IntegrityReason string

const (
	ReasonCheckPassed IntegrityReason = "CheckPassed"
	// ReasonCheckFailed: restic check found errors in the repository; it is
	// also the reason of the Warning event then recorded on the Repository.
	ReasonCheckFailed IntegrityReason = "CheckFailed"
)

// WipeOutReason is a reason of a Repository's WipedOut condition.
type WipeOutReason string

const (
	ReasonWipeOutStarted WipeOutReason = "WipeOutStarted"
	ReasonWipedOut       WipeOutReason = "WipedOut"
	ReasonWipeOutFailed  WipeOutReason = "WipeOutFailed"
)

// Reasons of the events the BackupConfiguration controller records on a
// BackupConfiguration.
const (
	// EventReasonSessionScheduled: a tick created its BackupSession.
	EventReasonSessionScheduled = "BackupSessionScheduled"
	// EventReasonSessionSkipped: a tick found a session still running
	// (concurrencyPolicy Forbid) and recorded a Skipped session.
	EventReasonSessionSkipped = "BackupSessionSkipped"
	// EventReasonSessionReplaced: a tick failed a running session
	// (concurrencyPolicy Replace) to start its own.
	EventReasonSessionReplaced = "BackupSessionReplaced"
	// EventReasonMissedSchedule: ticks passed while the operator was down and
	// are older than the starting deadline, or a newer tick ran instead.
	EventReasonMissedSchedule = "MissedSchedule"
	// EventReasonResolveWarning: the Task resolves, with warnings.
	EventReasonResolveWarning = "ResolveWarning"
	// EventReasonNotReady: the Ready condition turned False.
	EventReasonNotReady = "NotReady"
)

// AnnotationSkipped is set by the scheduler, when it creates the session, on
// a BackupSession that only records a skipped tick (concurrencyPolicy
// Forbid); its value says why. Such a session must never run: the scheduler
// sets its phase to Skipped right after creating it, and sets it again if it
// was interrupted in between.
const AnnotationSkipped = "stash.appscode.com/skipped"

// AnnotationAppBindings on a Secret lists, comma-separated, the AppBindings
// of its namespace that may use it as their credentials (spec.secret, or a
// secretTransforms addKeysFrom). A Secret the AppBinding owns needs none.
// Whoever may write an AppBinding chooses the host its credentials are sent
// to; only someone who may write the Secret can let them send it there.
const AnnotationAppBindings = "stash.appscode.com/appbindings"
