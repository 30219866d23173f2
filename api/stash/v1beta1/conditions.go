package v1beta1

// Condition types and reasons, kept in one place so that controllers, tests
// and `kubectl wait --for=condition=...` agree on the spelling.
const (
	// ConditionReady on a BackupConfiguration: its Task resolves.
	ConditionReady = "Ready"
	// ConditionSucceeded on a session: True when it succeeded, False when it
	// failed or was skipped, Unknown while it runs.
	ConditionSucceeded = "Succeeded"
)

// Reasons of the Ready condition.
const (
	ReasonTaskResolved       = "TaskResolved"
	ReasonResolveFailed      = "ResolveFailed"
	ReasonRepositoryNotFound = "RepositoryNotFound"
	ReasonInvalidSchedule    = "InvalidSchedule"
)

// Reasons of the Succeeded condition.
const (
	ReasonPending           = "Pending"
	ReasonRunning           = "Running"
	ReasonCompleted         = "Completed"
	ReasonHostFailed        = "HostFailed"
	ReasonStepFailed        = "StepFailed"
	ReasonJobFailed         = "JobFailed"
	ReasonImagePullFailed   = "ImagePullFailed"
	ReasonTimeout           = "Timeout"
	ReasonJobCreationFailed = "JobCreationFailed"
	ReasonInvokerNotFound   = "InvokerNotFound"
	ReasonSkipped           = "ConcurrentSessionRunning"
	ReasonReplaced          = "ReplacedByNewerSession"
	// ReasonJobDeleted: the session's Job disappeared before every host reported.
	ReasonJobDeleted = "JobDeleted"
	// ReasonHostNotReported: the Job finished but no host wrote its result
	// (the Task's last step is not update-status, or it could not run).
	ReasonHostNotReported = "HostNotReported"
	// ReasonHostPhaseUnknown: a restore host reported phase Unknown.
	ReasonHostPhaseUnknown = "HostPhaseUnknown"
	// ReasonPodNotStarted: the Job's pod was not created, scheduled or
	// started within the operator's --pod-start-timeout.
	ReasonPodNotStarted = "PodNotStarted"
)

// The WipedOut condition of a Repository being deleted with spec.wipeOut.
const (
	ConditionWipedOut    = "WipedOut"
	ReasonWipeOutStarted = "WipeOutStarted"
	ReasonWipedOut       = "WipedOut"
	ReasonWipeOutFailed  = "WipeOutFailed"
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
