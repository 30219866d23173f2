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
)

// The WipedOut condition of a Repository being deleted with spec.wipeOut.
const (
	ConditionWipedOut    = "WipedOut"
	ReasonWipeOutStarted = "WipeOutStarted"
	ReasonWipedOut       = "WipedOut"
	ReasonWipeOutFailed  = "WipeOutFailed"
)
