package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/controller/repository"
	"github.com/stash-operator/stash/internal/testenv"
)

// The test plays the operator's Job: once the command has annotated the
// Repository, it records the outcome of that request.
func TestUnlockAndCheckCommands(t *testing.T) {
	w := newCLIWorld(t)
	answer := func(op repository.Operation, phase, message string) (annotations map[string]string) {
		var repo stashv1alpha1.Repository
		w.Eventually("the request annotation", func() error {
			if err := w.Get("repo", &repo); err != nil {
				return err
			}
			if repo.Annotations[op.Annotation] == "" {
				return errors.New("not annotated yet")
			}
			return nil
		})
		w.UpdateStatus(&repo, func() {
			*op.Outcome(&repo.Status) = &stashv1alpha1.RepositoryOperation{Request: repo.Annotations[op.Annotation],
				Phase: phase, Message: message, Time: &metav1.Time{Time: time.Now()}}
		})
		return repo.Annotations
	}
	// In order: a plain unlock after --force must not force.
	for _, tc := range []struct {
		name           string
		args           []string
		op             repository.Operation
		phase, message string
		code           int
		annotation     string // and its value, among the Repository's
		value          string
	}{
		{name: "unlock", args: []string{"unlock", "repo"}, op: repository.Operations[0], phase: "Succeeded",
			message: "removed 1 lock(s)", code: 0},
		{name: "unlock --force", args: []string{"unlock", "repo", "--force"}, op: repository.Operations[0], phase: "Succeeded",
			message: "removed 1 lock(s)", annotation: stashv1alpha1.UnlockForceAnnotation, value: "true"},
		{name: "an unlock that keeps a running holder's lock", args: []string{"unlock", "repo"}, op: repository.Operations[0], phase: "Failed",
			message: "removed no lock: the lock of stash-backup-x (pid 1): its pod still runs", code: 1},
		{name: "check --read-data-subset", args: []string{"check", "repo", "--read-data-subset", "10%"}, op: repository.Operations[1],
			phase: "Succeeded", message: "restic check found no errors", annotation: stashv1alpha1.CheckReadDataSubsetAnnotation, value: "10%"},
		{name: "a check that finds errors", args: []string{"check", "repo"}, op: repository.Operations[1], phase: "Failed",
			message: "restic check found errors in the repository", code: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.with(t)
			cmd, stdout, stderr := w.start(tc.args...)
			annotations := answer(tc.op, tc.phase, tc.message)
			code := testenv.ExitCode(t, cmd.Wait(), stdout, stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s%s", code, tc.code, stdout, stderr)
			}
			wantIn(t, "output", stdout.String()+stderr.String(), tc.op.Name+" of repository "+w.Namespace+"/repo", tc.phase, tc.message)
			if tc.annotation != "" && annotations[tc.annotation] != tc.value {
				t.Errorf("annotation %s = %q, want %q", tc.annotation, annotations[tc.annotation], tc.value)
			}
			for _, option := range []string{stashv1alpha1.UnlockForceAnnotation, stashv1alpha1.CheckReadDataSubsetAnnotation} {
				if _, set := annotations[option]; set && option != tc.annotation {
					t.Errorf("annotation %s = %q stays from an earlier request", option, annotations[option])
				}
			}
			// The request is answered: clear it for the next subtest.
			var repo stashv1alpha1.Repository
			if err := w.Get("repo", &repo); err != nil {
				t.Fatal(err)
			}
			w.Update(&repo, func() { delete(repo.Annotations, tc.op.Annotation) })
		})
	}
	t.Run("a missing repository", func(t *testing.T) {
		_, stderr, code := w.with(t).run("unlock", "nope")
		if code != 1 || !strings.Contains(stderr, `Repository "nope" not found`) {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}
