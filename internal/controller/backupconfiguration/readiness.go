package backupconfiguration

import (
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/text"
)

// readiness is the Ready condition of a configuration whose schedule parsed
// with scheduleErr, whose dry-run resolution gave res or resolveErr, and
// whose references have the problems refs.
// Every problem is listed, one per line, so that one apply shows them all.
// A bad schedule wins the reason (it stops the schedule); the resolution
// problems are listed after it.
func readiness(task string, scheduleErr error, res *resolve.Result, resolveErr error, refs []referenceProblem) (status metav1.ConditionStatus, reason stashv1beta1.ReadyReason, message string) {
	var lines []string
	if scheduleErr != nil {
		lines = append(lines, scheduleErr.Error())
	}
	if resolveErr != nil {
		lines = append(lines, problems(resolveErr)...)
	}
	for _, p := range refs {
		lines = append(lines, p.message)
	}
	switch {
	case scheduleErr != nil:
		return metav1.ConditionFalse, stashv1beta1.ReasonInvalidSchedule, text.JoinLines(lines, text.MaxConditionMessage)
	case resolveErr != nil && onlyRepositoryMissing(resolveErr):
		return metav1.ConditionFalse, stashv1beta1.ReasonRepositoryNotFound, text.JoinLines(lines, text.MaxConditionMessage)
	case resolveErr != nil:
		return metav1.ConditionFalse, stashv1beta1.ReasonResolveFailed, text.JoinLines(lines, text.MaxConditionMessage)
	case len(refs) > 0:
		return metav1.ConditionFalse, refs[0].reason, text.JoinLines(lines, text.MaxConditionMessage)
	}
	lines = []string{fmt.Sprintf("Task %q resolves into a Job with the current Functions and Repository", task)}
	if res != nil {
		for _, w := range res.Warnings {
			lines = append(lines, "warning: "+w)
		}
	}
	return metav1.ConditionTrue, stashv1beta1.ReasonTaskResolved, text.JoinLines(lines, text.MaxConditionMessage)
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
