package backupconfiguration

import (
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/resolve"
)

// maxMessage is the longest message a metav1.Condition may hold.
const maxMessage = 32768

// readiness is the Ready condition of a configuration whose schedule parsed
// with scheduleErr and whose dry-run resolution gave res or resolveErr.
// Every problem is listed, one per line, so that one apply shows them all.
// A bad schedule wins the reason (it stops the schedule); the resolution
// problems are listed after it.
func readiness(task string, scheduleErr error, res *resolve.Result, resolveErr error) (status metav1.ConditionStatus, reason, message string) {
	var lines []string
	if scheduleErr != nil {
		lines = append(lines, scheduleErr.Error())
	}
	if resolveErr != nil {
		lines = append(lines, problems(resolveErr)...)
	}
	switch {
	case scheduleErr != nil:
		return metav1.ConditionFalse, stashv1beta1.ReasonInvalidSchedule, joinLines(lines)
	case resolveErr != nil && onlyRepositoryMissing(resolveErr):
		return metav1.ConditionFalse, stashv1beta1.ReasonRepositoryNotFound, joinLines(lines)
	case resolveErr != nil:
		return metav1.ConditionFalse, stashv1beta1.ReasonResolveFailed, joinLines(lines)
	}
	lines = []string{fmt.Sprintf("Task %q resolves into a Job with the current Functions and Repository", task)}
	if res != nil {
		for _, w := range res.Warnings {
			lines = append(lines, "warning: "+w)
		}
	}
	return metav1.ConditionTrue, stashv1beta1.ReasonTaskResolved, joinLines(lines)
}

// problems are the lines of err: one per resolution problem.
func problems(err error) []string {
	var errs resolve.Errors
	if errors.As(err, &errs) {
		lines := make([]string, 0, len(errs))
		for _, e := range errs {
			lines = append(lines, e.Error())
		}
		return lines
	}
	return []string{err.Error()}
}

// onlyRepositoryMissing reports whether every problem is a Repository that
// does not exist.
func onlyRepositoryMissing(err error) bool {
	var errs resolve.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		return false
	}
	for _, e := range errs {
		var nf *resolve.NotFoundError
		if !errors.As(e, &nf) || nf.Kind != "Repository" {
			return false
		}
	}
	return true
}

// joinLines joins lines with newlines, dropping whole lines from the end when
// the message would be too long for a condition.
func joinLines(lines []string) string {
	msg := strings.Join(lines, "\n")
	if len(msg) <= maxMessage {
		return msg
	}
	const tailRoom = 32 // "\n... and N more"
	size, kept := 0, 0
	for kept < len(lines) && size+len(lines[kept])+1 <= maxMessage-tailRoom {
		size += len(lines[kept]) + 1
		kept++
	}
	if kept == 0 {
		return msg[:maxMessage-3] + "..."
	}
	return strings.Join(lines[:kept], "\n") + fmt.Sprintf("\n... and %d more", len(lines)-kept)
}
