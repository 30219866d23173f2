package backupconfiguration

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

// session is a session created at minute created that finished (if phase is
// final) at minute done.
func session(name string, phase stashv1beta1.SessionPhase, created, done int) stashv1beta1.BackupSession {
	base := time.Date(2027, 1, 10, 10, 0, 0, 0, time.UTC)
	bs := stashv1beta1.BackupSession{ObjectMeta: metav1.ObjectMeta{Name: name,
		CreationTimestamp: metav1.NewTime(base.Add(time.Duration(created) * time.Minute))}}
	bs.Status.Phase = phase
	if done > 0 {
		status := metav1.ConditionTrue
		if phase != stashv1beta1.SessionSucceeded {
			status = metav1.ConditionFalse
		}
		bs.Status.Conditions = []metav1.Condition{{Type: stashv1beta1.ConditionSucceeded, Status: status,
			LastTransitionTime: metav1.NewTime(base.Add(time.Duration(done) * time.Minute))}}
	}
	return bs
}

func TestExpired(t *testing.T) {
	const (
		ok      = stashv1beta1.SessionSucceeded
		failed  = stashv1beta1.SessionFailed
		skipped = stashv1beta1.SessionSkipped
		run     = stashv1beta1.SessionRunning
		pending = stashv1beta1.SessionPending
	)
	tests := map[string]struct {
		sessions []stashv1beta1.BackupSession
		limit    int
		want     []string // deleted, in any order
	}{
		"keeps the newest one by default": {
			sessions: []stashv1beta1.BackupSession{session("a", ok, 0, 1), session("b", ok, 5, 6), session("c", ok, 10, 11)},
			limit:    1, want: []string{"a", "b"},
		},
		"keeps the newest failed one beyond the limit": {
			sessions: []stashv1beta1.BackupSession{session("old-failed", failed, 0, 1), session("new-failed", failed, 5, 6),
				session("ok-1", ok, 10, 11), session("ok-2", ok, 15, 16)},
			limit: 1, want: []string{"old-failed", "ok-1"},
		},
		"a failed one within the limit counts as the kept failed one": {
			sessions: []stashv1beta1.BackupSession{session("old-failed", failed, 0, 1), session("new-failed", failed, 5, 6), session("ok", ok, 10, 11)},
			limit:    2, want: []string{"old-failed"},
		},
		"never deletes what has not finished": {
			sessions: []stashv1beta1.BackupSession{session("running", run, 0, 0), session("pending", pending, 1, 0),
				session("no-phase", "", 2, 0), session("unknown", stashv1beta1.SessionUnknown, 3, 0), session("ok", ok, 10, 11)},
			limit: 1, want: nil,
		},
		"limit 0 keeps only the newest failed one": {
			sessions: []stashv1beta1.BackupSession{session("f1", failed, 0, 1), session("ok", ok, 5, 6), session("f2", failed, 10, 11), session("sk", skipped, 12, 12)},
			limit:    0, want: []string{"f1", "ok", "sk"},
		},
		"skipped sessions are history too": {
			sessions: []stashv1beta1.BackupSession{session("ok", ok, 0, 1), session("sk1", skipped, 5, 5), session("sk2", skipped, 10, 10)},
			limit:    2, want: []string{"ok"},
		},
		"newest is the one that finished last": {
			// long started first and ran past the tick that was skipped
			sessions: []stashv1beta1.BackupSession{session("long", ok, 0, 20), session("skipped", skipped, 5, 5)},
			limit:    1, want: []string{"skipped"},
		},
		"without a Succeeded condition the creation time counts": {
			sessions: []stashv1beta1.BackupSession{{ObjectMeta: metav1.ObjectMeta{Name: "x-1", CreationTimestamp: metav1.NewTime(time.Unix(100, 0))},
				Status: stashv1beta1.BackupSessionStatus{SessionStatus: stashv1beta1.SessionStatus{Phase: ok}}},
				{ObjectMeta: metav1.ObjectMeta{Name: "x-2", CreationTimestamp: metav1.NewTime(time.Unix(200, 0))},
					Status: stashv1beta1.BackupSessionStatus{SessionStatus: stashv1beta1.SessionStatus{Phase: ok}}}},
			limit: 1, want: []string{"x-1"},
		},
		"ties are broken by name, scheduled names by tick": {
			sessions: []stashv1beta1.BackupSession{session("bc-1799575200", ok, 0, 1), session("bc-1799575500", ok, 0, 1)},
			limit:    1, want: []string{"bc-1799575200"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, bs := range expired(tc.sessions, tc.limit) {
				got = append(got, bs.Name)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("deleted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunning(t *testing.T) {
	skippedRecord := session("s", "", 0, 0)
	skippedRecord.Annotations = map[string]string{stashv1beta1.AnnotationSkipped: "why"}
	tests := map[string]struct {
		bs   stashv1beta1.BackupSession
		want bool
	}{
		"no phase yet":             {bs: session("a", "", 0, 0), want: true},
		"pending":                  {bs: session("a", stashv1beta1.SessionPending, 0, 0), want: true},
		"running":                  {bs: session("a", stashv1beta1.SessionRunning, 0, 0), want: true},
		"unknown":                  {bs: session("a", stashv1beta1.SessionUnknown, 0, 0), want: true},
		"succeeded":                {bs: session("a", stashv1beta1.SessionSucceeded, 0, 1)},
		"failed":                   {bs: session("a", stashv1beta1.SessionFailed, 0, 1)},
		"skipped":                  {bs: session("a", stashv1beta1.SessionSkipped, 0, 1)},
		"record of a skipped tick": {bs: skippedRecord},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := running(&tc.bs); got != tc.want {
				t.Fatalf("running = %v, want %v", got, tc.want)
			}
		})
	}
}
