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
)
