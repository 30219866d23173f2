package sessionview

import (
	"fmt"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// Next is what the reader of a session most likely does next, as commands
// to paste: follow it while it runs, read the logs of what failed, fix what
// the condition names and run it again.
func Next(s Session) []string {
	ns := " -n " + s.Namespace
	logs := fmt.Sprintf("All of its logs, while its Jobs' pods remain: stash logs %s%s", s.ref(), ns)
	again := func(when string) string {
		if s.Kind == "RestoreSession" {
			return fmt.Sprintf("%s, run it again (a RestoreSession runs once: re-create it): kubectl%s get %s -o yaml | kubectl replace --force -f -", when, ns, s.ref())
		}
		return fmt.Sprintf("%s, run it again: stash trigger %s%s", when, s.BackupConfiguration, ns)
	}
	reason, _ := s.Outcome()
	switch phase := s.Phase(); {
	case !phase.IsFinished():
		return []string{fmt.Sprintf("Follow it: kubectl%s get %s -w", ns, s.ref()), logs}
	case phase == stashv1beta1.SessionSucceeded && s.Kind == "BackupSession":
		return []string{fmt.Sprintf("Back up again now: stash trigger %s%s", s.BackupConfiguration, ns)}
	case phase == stashv1beta1.SessionSucceeded:
		return nil
	case phase == stashv1beta1.SessionSkipped || reason == string(stashv1beta1.ReasonReplacedByNewerSession):
		return []string{"Nothing to do: a newer session of the same BackupConfiguration runs instead (concurrencyPolicy)."}
	}
	switch stashv1beta1.SessionReason(reason) {
	case stashv1beta1.ReasonStepFailed, stashv1beta1.ReasonHookFailed:
		return []string{"The failed step's log tail above says why.", logs, again("Once the cause is fixed")}
	case stashv1beta1.ReasonHostFailed, stashv1beta1.ReasonHostNotReported:
		// The Function ran to its end and recorded the failure: its
		// container exited 0, and the host's error is the reason.
		return []string{"The host's error (Results, above) says why.", logs, again("Once the cause is fixed")}
	case stashv1beta1.ReasonHostPhaseUnknown:
		return []string{"A host could not tell whether its restore is complete: check the restored data.", logs}
	case stashv1beta1.ReasonImagePullFailed:
		return []string{"Check the image of the failed step's Function and that the node can pull it.", again("Once it can")}
	case stashv1beta1.ReasonTimeout:
		return []string{"The steps' times above show the slow one; raise spec.timeOut if it only needs longer.", logs, again("Then")}
	}
	return []string{"The message above says what to fix.", again("Once it is fixed")}
}
