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
	secretMissing := referenceProblem{stashv1beta1.ReasonStorageSecretNotFound, `Repository "ns/repo" spec.backend.storageSecretName: Secret "s" does not exist`}
	targetMissing := referenceProblem{stashv1beta1.ReasonTargetNotFound, `BackupConfiguration spec.target.ref: PersistentVolumeClaim "data" does not exist`}
	tests := map[string]struct {
		scheduleErr, resolveErr error
		res                     *resolve.Result
		refs                    []referenceProblem
		wantStatus              metav1.ConditionStatus
		wantReason              stashv1beta1.ReadyReason
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
		"a missing Secret and a missing target": {
			res: &resolve.Result{}, refs: []referenceProblem{secretMissing, targetMissing},
			wantStatus: metav1.ConditionFalse, wantReason: stashv1beta1.ReasonStorageSecretNotFound,
			wantLines: []string{secretMissing.message, targetMissing.message},
		},
		"resolution problems come before the references": {
			resolveErr: twoVars, refs: []referenceProblem{targetMissing},
			wantStatus: metav1.ConditionFalse, wantReason: stashv1beta1.ReasonResolveFailed,
			wantLines: []string{twoVars[0].Error(), twoVars[1].Error(), targetMissing.message},
		},
		"a bad schedule alone": {
			scheduleErr: badSchedule, res: &resolve.Result{},
			wantStatus: metav1.ConditionFalse, wantReason: stashv1beta1.ReasonInvalidSchedule,
			wantLines: []string{badSchedule.Error()},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, reason, message := readiness("t", tc.scheduleErr, tc.res, tc.resolveErr, tc.refs)
			if status != tc.wantStatus || reason != tc.wantReason {
				t.Fatalf("Ready = %s/%s, want %s/%s", status, reason, tc.wantStatus, tc.wantReason)
			}
			if diff := cmp.Diff(tc.wantLines, strings.Split(message, "\n")); diff != "" {
				t.Fatalf("message lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStorageSecretProblems(t *testing.T) {
	where := `Repository "ns/repo" spec.backend.storageSecretName`
	tests := map[string]struct {
		provider string
		data     map[string][]byte
		want     []referenceProblem
	}{
		"complete": {"local", map[string][]byte{"RESTIC_PASSWORD": []byte("x")}, nil},
		"an empty password": {"local", map[string][]byte{"RESTIC_PASSWORD": {}}, []referenceProblem{{stashv1beta1.ReasonStorageSecretIncomplete,
			where + `: Secret "s": it has no key RESTIC_PASSWORD: add the repository's password under it`}}},
		"b2 without its account": {"b2", map[string][]byte{"RESTIC_PASSWORD": []byte("x")}, []referenceProblem{{stashv1beta1.ReasonStorageSecretIncomplete,
			where + `: Secret "s": it has neither B2_ACCOUNT_ID nor B2_ACCOUNT_KEY: the b2 backend needs both`}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, storageSecretProblems(where, "s", tc.provider, tc.data), cmp.AllowUnexported(referenceProblem{})); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
