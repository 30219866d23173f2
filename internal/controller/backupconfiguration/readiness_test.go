package backupconfiguration

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/resolve"
)

func TestReadiness(t *testing.T) {
	repoMissing := resolve.Errors{&resolve.FieldError{Object: `BackupConfiguration "ns/bc"`, Step: -1, Field: "spec.repository.name",
		Err: &resolve.NotFoundError{Kind: "Repository", Name: "ns/repo"}}}
	twoVars := resolve.Errors{
		&resolve.FieldError{Object: `task "t"`, Step: 0, Function: "f0", Field: "spec.args[0]", Variable: "FOO", Err: errors.New("variable ${FOO} has no value and no default")},
		&resolve.FieldError{Object: `task "t"`, Step: 1, Function: "f1", Field: "spec.args[1]", Variable: "BAR", Err: errors.New("variable ${BAR} has no value and no default")},
	}
	badSchedule := errors.New(`spec.schedule: "*/5 * *": expected 5 fields`)
	tests := map[string]struct {
		scheduleErr, resolveErr error
		res                     *resolve.Result
		wantStatus              metav1.ConditionStatus
		wantReason              string
		wantLines               []string
	}{
		"resolves": {
			res:        &resolve.Result{},
			wantStatus: metav1.ConditionTrue, wantReason: stashv1beta1.ReasonTaskResolved,
			wantLines: []string{`Task "t" resolves into a Job with the current Functions and Repository`},
		},
		"resolves with warnings": {
			res:        &resolve.Result{Warnings: []string{"param NAMESPACE is a built-in"}},
			wantStatus: metav1.ConditionTrue, wantReason: stashv1beta1.ReasonTaskResolved,
			wantLines: []string{`Task "t" resolves into a Job with the current Functions and Repository`, "warning: param NAMESPACE is a built-in"},
		},
		"every resolution error, one per line": {
			resolveErr: twoVars,
			wantStatus: metav1.ConditionFalse, wantReason: stashv1beta1.ReasonResolveFailed,
			wantLines: []string{twoVars[0].Error(), twoVars[1].Error()},
		},
		"only the Repository is missing": {
			resolveErr: repoMissing,
			wantStatus: metav1.ConditionFalse, wantReason: stashv1beta1.ReasonRepositoryNotFound,
			wantLines: []string{repoMissing[0].Error()},
		},
		"the Repository and more": {
			resolveErr: append(slices.Clone(repoMissing), twoVars[0]),
			wantStatus: metav1.ConditionFalse, wantReason: stashv1beta1.ReasonResolveFailed,
			wantLines: []string{repoMissing[0].Error(), twoVars[0].Error()},
		},
		"a bad schedule comes first": {
			scheduleErr: badSchedule, resolveErr: twoVars,
			wantStatus: metav1.ConditionFalse, wantReason: stashv1beta1.ReasonInvalidSchedule,
			wantLines: []string{badSchedule.Error(), twoVars[0].Error(), twoVars[1].Error()},
		},
		"a bad schedule alone": {
			scheduleErr: badSchedule, res: &resolve.Result{},
			wantStatus: metav1.ConditionFalse, wantReason: stashv1beta1.ReasonInvalidSchedule,
			wantLines: []string{badSchedule.Error()},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, reason, message := readiness("t", tc.scheduleErr, tc.res, tc.resolveErr)
			if status != tc.wantStatus || reason != tc.wantReason {
				t.Fatalf("Ready = %s/%s, want %s/%s", status, reason, tc.wantStatus, tc.wantReason)
			}
			if diff := cmp.Diff(tc.wantLines, strings.Split(message, "\n")); diff != "" {
				t.Fatalf("message lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJoinLinesFitsACondition(t *testing.T) {
	lines := make([]string, 1000)
	for i := range lines {
		lines[i] = strings.Repeat("x", 100)
	}
	msg := joinLines(lines)
	if len(msg) > maxMessage {
		t.Fatalf("message has %d bytes, more than %d", len(msg), maxMessage)
	}
	if !strings.HasSuffix(msg, " more") || !strings.HasPrefix(msg, lines[0]+"\n") {
		t.Fatalf("message does not keep whole lines and say how many were left out: ...%s", msg[len(msg)-40:])
	}
}

func TestEventNoteFitsAnEvent(t *testing.T) {
	long := strings.Repeat("é", maxNote)
	got := eventNote(long)
	if len(got) > maxNote || !strings.HasSuffix(got, " ...") {
		t.Fatalf("note of %d bytes ends %q", len(got), got[len(got)-10:])
	}
	if short := "ok"; eventNote(short) != short {
		t.Fatalf("a short note was changed")
	}
}
