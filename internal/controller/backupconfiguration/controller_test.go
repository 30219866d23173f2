package backupconfiguration_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appcatalogv1alpha1 "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/testenv"
)

// checkTimes compares status.lastScheduleTime and nextScheduleTime.
func checkTimes(t *testing.T, bc *stashv1beta1.BackupConfiguration, last, next time.Time) {
	t.Helper()
	format := func(v *metav1.Time) string {
		if v == nil {
			return "none"
		}
		return v.UTC().Format(time.RFC3339)
	}
	want := func(v time.Time) string {
		if v.IsZero() {
			return "none"
		}
		return v.UTC().Format(time.RFC3339)
	}
	if got := format(bc.Status.LastScheduleTime); got != want(last) {
		t.Errorf("lastScheduleTime = %s, want %s", got, want(last))
	}
	if got := format(bc.Status.NextScheduleTime); got != want(next) {
		t.Errorf("nextScheduleTime = %s, want %s", got, want(next))
	}
}

func checkSessions(t *testing.T, h *harness, bc string, want []string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	if diff := cmp.Diff(want, h.sessionNames(bc)); diff != "" {
		t.Fatalf("sessions of %s (-want +got):\n%s", bc, diff)
	}
}

// A */5 schedule creates one session per tick, named after the tick, and a
// new manager started after one that died between creating a tick's session
// and recording the tick creates no duplicate.
func TestScheduleCreatesSessionsAtTicks(t *testing.T) {
	h := newHarness(t, at(9, 58, 0))
	h.startManager()
	task := h.catalog()
	h.Create(configuration("db", task, "*/5 * * * *", func(s *stashv1beta1.BackupConfigurationSpec) {
		s.ConcurrencyPolicy = stashv1beta1.AllowConcurrent // nothing runs the sessions here
		s.BackupHistoryLimit = ptr.To[int32](10)
		s.StartingDeadlineSeconds = ptr.To[int64](60) // 09:55 is too old to catch up
	}))

	bc := h.reconciled("db")
	checkSessions(t, h, "db", nil)
	checkTimes(t, bc, time.Time{}, at(10, 0, 0))

	h.clock.SetTime(at(10, 0, 5))
	bc = h.touch("db")
	checkSessions(t, h, "db", tickNames("db", at(10, 0, 0)))
	checkTimes(t, bc, at(10, 0, 0), at(10, 5, 0))

	h.clock.SetTime(at(10, 5, 0).Add(400 * time.Millisecond))
	h.touch("db")
	h.touch("db") // the same tick again: nothing new
	checkSessions(t, h, "db", tickNames("db", at(10, 0, 0), at(10, 5, 0)))

	// The session of a tick is what the scheduler must create.
	bs := h.sessions("db")[naming.SessionName("db", at(10, 5, 0))]
	want := resolve.NewBackupSession(h.bc("db"), bs.Name)
	if diff := cmp.Diff(want.Labels, bs.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Spec, bs.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if owner := metav1.GetControllerOf(&bs); owner == nil || owner.Kind != "BackupConfiguration" || owner.Name != "db" {
		t.Errorf("controller of %s = %+v, want the BackupConfiguration", bs.Name, owner)
	}

	// The manager dies after creating the 10:10 session but before recording
	// the tick; a new one starts at 10:10:03.
	h.stopManager()
	dead := resolve.NewBackupSession(h.bc("db"), naming.SessionName("db", at(10, 10, 0)))
	h.Create(dead)
	h.clock.SetTime(at(10, 10, 3))
	h.startManager()
	h.Eventually("the new manager records the 10:10 tick", func() error {
		if last := h.bc("db").Status.LastScheduleTime; last == nil || !last.Time.Equal(at(10, 10, 0)) {
			return fmt.Errorf("lastScheduleTime = %v", last)
		}
		return nil
	})
	checkSessions(t, h, "db", tickNames("db", at(10, 0, 0), at(10, 5, 0), at(10, 10, 0)))

	h.advance(at(10, 15, 1), "db")
	checkSessions(t, h, "db", tickNames("db", at(10, 0, 0), at(10, 5, 0), at(10, 10, 0), at(10, 15, 0)))
}

// paused stops the schedule but not sessions made by hand; unpausing catches
// up the newest tick within the deadline, once.
func TestPausedCreatesNoSessions(t *testing.T) {
	h := newHarness(t, at(10, 0, 5))
	h.startManager()
	task := h.catalog()
	h.Create(configuration("db", task, "*/5 * * * *", func(s *stashv1beta1.BackupConfigurationSpec) {
		s.Paused = true
		s.ConcurrencyPolicy = stashv1beta1.AllowConcurrent
		s.BackupHistoryLimit = ptr.To[int32](10)
	}))
	bc := h.reconciled("db")
	checkTimes(t, bc, time.Time{}, time.Time{})
	if c := conditions.Get(bc.Status.Conditions, stashv1beta1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("Ready = %+v, want True while paused", c)
	}
	h.manualSession("by-hand", "db", "", time.Time{})

	h.advance(at(10, 20, 5), "db")
	checkSessions(t, h, "db", []string{"by-hand"})
	if bs, err := h.session("by-hand"); err != nil || bs.Status.Phase != "" {
		t.Fatalf("the session made by hand was touched: %+v, %v", bs.Status, err)
	}

	bc = h.bc("db")
	h.Update(bc, func() { bc.Spec.Paused = false })
	bc = h.reconciled("db")
	checkSessions(t, h, "db", append(tickNames("db", at(10, 20, 0)), "by-hand"))
	checkTimes(t, bc, at(10, 20, 0), at(10, 25, 0))
}

// concurrencyPolicy when a tick finds a session still running.
func TestConcurrencyPolicy(t *testing.T) {
	t.Run("Forbid records a Skipped session", func(t *testing.T) {
		h := newHarness(t, at(10, 0, 5))
		h.startManager()
		task := h.catalog()
		running := h.manualSession("by-hand", "db", stashv1beta1.SessionRunning, at(9, 59, 0))
		h.Create(configuration("db", task, "*/5 * * * *", nil)) // Forbid is the default

		h.reconciled("db")
		name := naming.SessionName("db", at(10, 0, 0))
		bs, err := h.session(name)
		if err != nil {
			t.Fatal(err)
		}
		if bs.Status.Phase != stashv1beta1.SessionSkipped {
			t.Fatalf("phase of %s = %q, want Skipped", name, bs.Status.Phase)
		}
		c := conditions.Get(bs.Status.Conditions, stashv1beta1.ConditionSucceeded)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != string(stashv1beta1.ReasonConcurrentSessionRunning) ||
			!strings.Contains(c.Message, `BackupSession "by-hand" (Running)`) {
			t.Fatalf("Succeeded condition = %+v, want False/%s naming the running session", c, stashv1beta1.ReasonConcurrentSessionRunning)
		}
		if _, ok := bs.Annotations[stashv1beta1.AnnotationSkipped]; !ok {
			t.Errorf("the skipped session lacks annotation %s", stashv1beta1.AnnotationSkipped)
		}
		if cur, _ := h.session("by-hand"); cur.Status.Phase != stashv1beta1.SessionRunning {
			t.Errorf("the running session became %q", cur.Status.Phase)
		}

		// Once it finished, the next tick runs.
		h.setPhase(running, stashv1beta1.SessionSucceeded, at(10, 3, 0))
		h.advance(at(10, 5, 2), "db")
		next, err := h.session(naming.SessionName("db", at(10, 5, 0)))
		if err != nil {
			t.Fatal(err)
		}
		if next.Status.Phase != "" || next.Annotations[stashv1beta1.AnnotationSkipped] != "" {
			t.Fatalf("the 10:05 session was skipped: %+v", next.Status)
		}
	})

	// A manager that died between creating a skipped tick's session and
	// writing its phase: the next reconcile finishes the job, and the
	// half-made record does not count as running.
	t.Run("an interrupted skip is completed", func(t *testing.T) {
		h := newHarness(t, at(10, 0, 5))
		h.startManager()
		task := h.catalog()
		bc := configuration("db", task, "*/5 * * * *", func(s *stashv1beta1.BackupConfigurationSpec) {
			s.StartingDeadlineSeconds = ptr.To[int64](1) // 10:00 is too old: this test is not about ticks
		})
		h.Create(bc)
		half := resolve.NewBackupSession(h.bc("db"), naming.SessionName("db", at(9, 55, 0)))
		half.Annotations = map[string]string{stashv1beta1.AnnotationSkipped: `skipped: BackupSession "x" (Running) still running`}
		h.Create(half)

		h.Eventually("the skip completed", func() error {
			bs, err := h.session(half.Name)
			if err != nil {
				return err
			}
			c := conditions.Get(bs.Status.Conditions, stashv1beta1.ConditionSucceeded)
			if bs.Status.Phase != stashv1beta1.SessionSkipped || c == nil || c.Reason != string(stashv1beta1.ReasonConcurrentSessionRunning) ||
				c.Message != half.Annotations[stashv1beta1.AnnotationSkipped] {
				return fmt.Errorf("phase %q, condition %+v", bs.Status.Phase, c)
			}
			return nil
		})
		h.advance(at(10, 5, 0), "db")
		if bs, err := h.session(naming.SessionName("db", at(10, 5, 0))); err != nil || bs.Status.Phase != "" {
			t.Fatalf("the 10:05 session: %+v, %v; want it created, not skipped", bs.Status, err)
		}
	})

	t.Run("Replace fails the running session and starts a new one", func(t *testing.T) {
		h := newHarness(t, at(10, 0, 5))
		h.startManager()
		task := h.catalog()
		running := h.manualSession("by-hand", "db", stashv1beta1.SessionRunning, at(9, 59, 0))
		job := h.jobOf(running, true)
		h.Create(configuration("db", task, "*/5 * * * *", func(s *stashv1beta1.BackupConfigurationSpec) {
			s.ConcurrencyPolicy = stashv1beta1.ReplaceConcurrent
		}))

		h.reconciled("db")
		newName := naming.SessionName("db", at(10, 0, 0))
		old, err := h.session("by-hand")
		if err != nil {
			t.Fatal(err)
		}
		c := conditions.Get(old.Status.Conditions, stashv1beta1.ConditionSucceeded)
		if old.Status.Phase != stashv1beta1.SessionFailed || c == nil || c.Reason != string(stashv1beta1.ReasonReplacedByNewerSession) ||
			!strings.Contains(c.Message, newName) {
			t.Fatalf("replaced session: phase %q, condition %+v; want Failed/%s naming %s", old.Status.Phase, c, stashv1beta1.ReasonReplacedByNewerSession, newName)
		}
		bs, err := h.session(newName)
		if err != nil {
			t.Fatal(err)
		}
		if bs.Status.Phase != "" {
			t.Fatalf("the new session has phase %q, want none yet", bs.Status.Phase)
		}
		if h.Exists(job) {
			t.Errorf("the Job of the replaced session still exists")
		}
	})

	t.Run("Replace leaves a Job of the same name that the session does not control", func(t *testing.T) {
		h := newHarness(t, at(10, 0, 5))
		h.startManager()
		task := h.catalog()
		running := h.manualSession("by-hand", "db", stashv1beta1.SessionRunning, at(9, 59, 0))
		job := h.jobOf(running, false)
		h.Create(configuration("db", task, "*/5 * * * *", func(s *stashv1beta1.BackupConfigurationSpec) {
			s.ConcurrencyPolicy = stashv1beta1.ReplaceConcurrent
		}))

		h.reconciled("db")
		old, err := h.session("by-hand")
		if err != nil {
			t.Fatal(err)
		}
		if c := conditions.Get(old.Status.Conditions, stashv1beta1.ConditionSucceeded); old.Status.Phase != stashv1beta1.SessionFailed ||
			c == nil || c.Reason != string(stashv1beta1.ReasonReplacedByNewerSession) {
			t.Fatalf("session by-hand: phase %q, condition %+v; want it replaced", old.Status.Phase, c)
		}
		if !h.Exists(job) {
			t.Errorf("a Job the replaced session does not control was deleted")
		}
	})
}

// A missed tick older than the starting deadline is not caught up; of the
// recent ones only the newest is, once.
func TestMissedTicks(t *testing.T) {
	h := newHarness(t, at(10, 0, 30))
	h.startManager()
	task := h.catalog()
	allow := func(deadline int64) func(*stashv1beta1.BackupConfigurationSpec) {
		return func(s *stashv1beta1.BackupConfigurationSpec) {
			s.ConcurrencyPolicy = stashv1beta1.AllowConcurrent
			s.BackupHistoryLimit = ptr.To[int32](10)
			s.StartingDeadlineSeconds = ptr.To(deadline)
		}
	}
	h.Create(configuration("late", task, "*/5 * * * *", allow(60)))
	h.Create(configuration("recent", task, "*/5 * * * *", allow(600)))
	h.reconciled("late")
	h.reconciled("recent")
	checkSessions(t, h, "late", tickNames("late", at(10, 0, 0)))
	checkSessions(t, h, "recent", tickNames("recent", at(10, 0, 0)))

	// The operator is down from 10:00:30 to 10:13: 10:05 and 10:10 are missed.
	h.stopManager()
	h.clock.SetTime(at(10, 13, 0))
	h.startManager()
	h.Eventually("the new manager reconciles both", func() error {
		late, recent := h.bc("late"), h.bc("recent")
		if next := late.Status.NextScheduleTime; next == nil || !next.Time.Equal(at(10, 15, 0)) {
			return fmt.Errorf("late: nextScheduleTime = %v", next)
		}
		if last := recent.Status.LastScheduleTime; last == nil || !last.Time.Equal(at(10, 10, 0)) {
			return fmt.Errorf("recent: lastScheduleTime = %v", last)
		}
		return nil
	})
	h.touch("late")
	h.touch("recent")
	checkSessions(t, h, "late", tickNames("late", at(10, 0, 0)))
	checkSessions(t, h, "recent", tickNames("recent", at(10, 0, 0), at(10, 10, 0)))
	checkTimes(t, h.bc("late"), at(10, 0, 0), at(10, 15, 0))

	h.Eventually("a MissedSchedule event on late", func() error {
		var list eventsv1.EventList
		if err := h.c.List(context.Background(), &list, client.InNamespace(h.ns)); err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == stashv1beta1.EventReasonMissedSchedule && e.Regarding.Name == "late" {
				return nil
			}
		}
		return fmt.Errorf("none among %d events", len(list.Items))
	})
}

// timeZone is honoured: 02:00 in New York is 07:00 UTC in winter.
func TestTimeZone(t *testing.T) {
	h := newHarness(t, at(1, 59, 0))
	h.startManager()
	task := h.catalog()
	h.Create(configuration("db", task, "0 2 * * *", func(s *stashv1beta1.BackupConfigurationSpec) {
		s.TimeZone = "America/New_York"
	}))
	checkTimes(t, h.reconciled("db"), time.Time{}, at(7, 0, 0))

	h.advance(at(2, 0, 10), "db")
	checkSessions(t, h, "db", nil)

	h.advance(at(7, 0, 10), "db")
	checkSessions(t, h, "db", []string{fmt.Sprintf("db-%d", at(7, 0, 0).Unix())})
	checkTimes(t, h.bc("db"), at(7, 0, 0), at(7, 0, 0).AddDate(0, 0, 1))
}

// Ready lists every resolution problem and follows fixes to the Repository,
// a Function and the configuration itself.
func TestReadyCondition(t *testing.T) {
	h := newHarness(t, at(10, 0, 0))
	h.startManager()
	f0, f1, task := h.ns+"-0", h.ns+"-1", h.ns
	fn0 := &stashv1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: f0},
		Spec: stashv1beta1.FunctionSpec{Image: "busybox", Args: []string{"--a=${FOO}"}}}
	h.Create(fn0)
	h.Create(&stashv1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: f1},
		Spec: stashv1beta1.FunctionSpec{Image: "busybox", Args: []string{"--b", "--c=${BAR}"}}})
	h.Create(&stashv1beta1.Task{ObjectMeta: metav1.ObjectMeta{Name: task},
		Spec: stashv1beta1.TaskSpec{Steps: []stashv1beta1.FunctionRef{{Name: f0}, {Name: f1}}}})
	t.Cleanup(func() {
		ctx := context.Background()
		_ = h.c.Delete(ctx, &stashv1beta1.Task{ObjectMeta: metav1.ObjectMeta{Name: task}})
		_ = h.c.Delete(ctx, &stashv1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: f0}})
		_ = h.c.Delete(ctx, &stashv1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: f1}})
	})
	h.Create(configuration("db", task, "", nil))

	ready := func(status metav1.ConditionStatus, reason stashv1beta1.ReadyReason, lines ...string) {
		t.Helper()
		h.Eventually("Ready "+string(reason), func() error {
			c := conditions.Get(h.bc("db").Status.Conditions, stashv1beta1.ConditionReady)
			if c == nil {
				return fmt.Errorf("no Ready condition")
			}
			if c.Status != status || c.Reason != string(reason) {
				return fmt.Errorf("Ready = %s/%s: %s", c.Status, c.Reason, c.Message)
			}
			got := strings.Split(c.Message, "\n")
			if len(got) != len(lines) {
				return fmt.Errorf("message has %d lines, want %d:\n%s", len(got), len(lines), c.Message)
			}
			for i, want := range lines {
				if !strings.Contains(got[i], want) {
					return fmt.Errorf("line %d %q lacks %q", i, got[i], want)
				}
			}
			return nil
		})
	}

	ready(metav1.ConditionFalse, stashv1beta1.ReasonRepositoryNotFound, `spec.repository.name: Repository "`+h.ns+`/repo" not found`)

	h.Create(repository("repo"))
	h.Create(storageSecret("repo-secret"))
	ready(metav1.ConditionFalse, stashv1beta1.ReasonResolveFailed,
		fmt.Sprintf(`step 0 (function %q): spec.args[0]: variable ${FOO} has no value`, f0),
		fmt.Sprintf(`step 1 (function %q): spec.args[1]: variable ${BAR} has no value`, f1))

	h.Update(fn0, func() { fn0.Spec.Args = []string{"--a=${FOO:=x}"} })
	ready(metav1.ConditionFalse, stashv1beta1.ReasonResolveFailed, "${BAR}")

	bc := h.bc("db")
	h.Update(bc, func() { bc.Spec.Task.Params = []stashv1beta1.Param{{Name: "BAR", Value: "y"}} })
	ready(metav1.ConditionTrue, stashv1beta1.ReasonTaskResolved, fmt.Sprintf("Task %q resolves", task))

	h.Update(bc, func() { bc.Spec.Schedule = "*/5 * *" })
	ready(metav1.ConditionFalse, stashv1beta1.ReasonInvalidSchedule,
		`spec.schedule: "*/5 * *": expected 5 fields (minute hour day-of-month month day-of-week), found 3: use a cron expression like "*/5 * * * *" or @daily`)
	checkTimes(t, h.reconciled("db"), time.Time{}, time.Time{})
}

// backupHistoryLimit keeps the newest finished sessions and the newest
// failed one, never what still runs, and nothing of other configurations.
func TestHistoryLimit(t *testing.T) {
	h := newHarness(t, at(12, 0, 0))
	h.startManager()
	task := h.catalog()
	for _, s := range []struct {
		name  string
		phase stashv1beta1.SessionPhase
		done  time.Time
	}{
		{"running", stashv1beta1.SessionRunning, at(10, 0, 0)},
		{"no-phase", "", time.Time{}},
		{"old-failed", stashv1beta1.SessionFailed, at(10, 1, 0)},
		{"ok-1", stashv1beta1.SessionSucceeded, at(10, 2, 0)},
		{"new-failed", stashv1beta1.SessionFailed, at(10, 3, 0)},
		{"ok-2", stashv1beta1.SessionSucceeded, at(10, 4, 0)},
		{"skipped", stashv1beta1.SessionSkipped, at(10, 5, 0)},
	} {
		h.manualSession(s.name, "db", s.phase, s.done)
	}
	h.manualSession("other-ok", "other", stashv1beta1.SessionSucceeded, at(9, 0, 0))
	h.Create(configuration("db", task, "", func(s *stashv1beta1.BackupConfigurationSpec) {
		s.BackupHistoryLimit = ptr.To[int32](2)
	}))
	h.Create(configuration("other", task, "", func(s *stashv1beta1.BackupConfigurationSpec) {
		s.BackupHistoryLimit = ptr.To[int32](5)
	}))

	h.Eventually("old sessions deleted", func() error {
		if diff := cmp.Diff([]string{"new-failed", "no-phase", "ok-2", "running", "skipped"}, h.sessionNames("db")); diff != "" {
			return fmt.Errorf("sessions (-want +got):\n%s", diff)
		}
		return nil
	})
	h.touch("db")
	checkSessions(t, h, "db", []string{"new-failed", "no-phase", "ok-2", "running", "skipped"})
	checkSessions(t, h, "other", []string{"other-ok"})

	// A session finishing is enough to prune again: ok-3 and skipped are the
	// newest two; new-failed stays as the newest failed one.
	h.manualSession("ok-3", "db", stashv1beta1.SessionSucceeded, at(11, 0, 0))
	h.Eventually("ok-2 deleted", func() error {
		if diff := cmp.Diff([]string{"new-failed", "no-phase", "ok-3", "running", "skipped"}, h.sessionNames("db")); diff != "" {
			return fmt.Errorf("sessions (-want +got):\n%s", diff)
		}
		return nil
	})
}

// What the Jobs need from the namespace and the resolver cannot see: the
// storage Secret with its keys, the target and what it refers to. Ready
// names each missing one, and turns True once they exist.
func TestReadyNamesMissingReferences(t *testing.T) {
	h := newHarness(t, at(10, 0, 0))
	h.startManager()
	task := h.catalog()
	noKeySecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "b2-secret"}, StringData: map[string]string{"RESTIC_PASSWORD": "p"}}
	h.Create(noKeySecret)
	b2 := repository("b2-repo")
	b2.Spec.Backend = stashv1alpha1.Backend{StorageSecretName: "b2-secret", B2: &stashv1alpha1.B2Spec{Bucket: "b"}}
	h.Create(b2)
	h.Create(configuration("db", task, "", func(s *stashv1beta1.BackupConfigurationSpec) {
		s.Repository.Name = "b2-repo"
		s.Target = &stashv1beta1.BackupTarget{Ref: stashv1beta1.TargetRef{APIVersion: "appcatalog.appscode.com/v1alpha1", Kind: "AppBinding", Name: "pg"}}
	}))
	waitReady := func(status metav1.ConditionStatus, reason stashv1beta1.ReadyReason, lines ...string) {
		t.Helper()
		h.Eventually("Ready "+string(reason), func() error {
			c := conditions.Get(h.touch("db").Status.Conditions, stashv1beta1.ConditionReady)
			if c == nil || c.Status != status || c.Reason != string(reason) {
				return fmt.Errorf("Ready = %+v", c)
			}
			return testenv.ContainsAll(c.Message, lines...)
		})
	}
	waitReady(metav1.ConditionFalse, stashv1beta1.ReasonStorageSecretIncomplete,
		`Repository "`+h.ns+`/b2-repo" spec.backend.storageSecretName: Secret "b2-secret": it has neither B2_ACCOUNT_ID nor B2_ACCOUNT_KEY: the b2 backend needs both`,
		`spec.target.ref: AppBinding "pg" does not exist in namespace `+h.ns)

	h.Update(noKeySecret, func() { noKeySecret.StringData = map[string]string{"B2_ACCOUNT_ID": "id", "B2_ACCOUNT_KEY": "key"} })
	h.Create(&appcatalogv1alpha1.AppBinding{ObjectMeta: metav1.ObjectMeta{Name: "pg"}, Spec: appcatalogv1alpha1.AppBindingSpec{
		ClientConfig: appcatalogv1alpha1.ClientConfig{Service: &appcatalogv1alpha1.ServiceReference{Name: "pg", Port: 5432}},
		Secret:       &corev1.LocalObjectReference{Name: "pg-auth"}}})
	waitReady(metav1.ConditionFalse, stashv1beta1.ReasonTargetNotFound,
		`Service "pg" (AppBinding "pg" spec.clientConfig.service.name) does not exist`, `Secret "pg-auth" (AppBinding "pg" spec.secret.name) does not exist`)

	h.Create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "pg"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 5432}}}})
	auth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pg-auth"}, StringData: map[string]string{"POSTGRES_PASSWORD": "x"}}
	h.Create(auth)
	waitReady(metav1.ConditionFalse, stashv1beta1.ReasonCredentialsNotAllowed,
		`Secret "pg-auth" (AppBinding "pg" spec.secret.name) does not allow AppBinding "pg" to use it`,
		"kubectl -n "+h.ns+" annotate secret pg-auth stash.appscode.com/appbindings=pg")

	h.Update(auth, func() { auth.Annotations = map[string]string{stashv1beta1.AnnotationAppBindings: "pg"} })
	waitReady(metav1.ConditionTrue, stashv1beta1.ReasonTaskResolved)
}
