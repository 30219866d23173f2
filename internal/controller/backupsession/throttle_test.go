package backupsession

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/controller/deps"
	"github.com/stash-operator/stash/internal/controller/lifecycle"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/testenv"
)

// Under a limit of two running backup Jobs, four sessions: the two oldest
// get their Jobs, the other two wait in phase Pending saying why; when one
// Job ends, the next oldest, and only it, gets its Job; the newest, still
// waiting, is not written to (its reason to wait has not changed).
func TestMaxRunningJobsServesTheOldestFirst(t *testing.T) {
	e := testenv.Start(t, func(mgr ctrl.Manager, clk clock.PassiveClock) error {
		return (&Reconciler{Runner: lifecycle.Runner{Deps: deps.Deps{Clock: clk}, ResolveOptions: testenv.ResolveOptions, MaxRunningJobs: 2}}).SetupWithManager(mgr)
	}, "testdata/pvc-backup.yaml")
	names := []string{"data-backup-1", "data-backup-2", "data-backup-3", "data-backup-4"}
	for _, name := range names {
		newSession(e, "data-backup", name)
		time.Sleep(1100 * time.Millisecond) // a tick apart: creation times order them
	}
	hostsWithJobs(e, names[0], 1)
	hostsWithJobs(e, names[1], 1)
	for _, name := range names[2:] {
		bs := &stashv1beta1.BackupSession{}
		bs.Name = name
		c := e.WaitForPhase(bs, stashv1beta1.SessionPending, stashv1beta1.ReasonPending)
		if err := testenv.ContainsAll(c.Message, "waiting for a free slot: at most 2 backup Jobs run at once", "--max-running-backup-jobs", "older sessions first"); err != nil {
			t.Error(err)
		}
	}
	if n := len(e.Jobs()); n != 2 {
		t.Fatalf("%d Jobs, want 2", n)
	}

	var last stashv1beta1.BackupSession
	if err := e.Get(names[3], &last); err != nil {
		t.Fatal(err)
	}
	e.CompleteJob(e.WaitForJob(naming.Backup.JobName(names[0], 0)))
	hostsWithJobs(e, names[2], 1)
	e.Consistently(names[3]+" still waits, unwritten", 2*time.Second, func() error {
		var bs stashv1beta1.BackupSession
		if err := e.Get(names[3], &bs); err != nil {
			return err
		}
		if bs.Status.Phase != stashv1beta1.SessionPending || len(e.Jobs()) != 3 {
			return fmt.Errorf("phase %s with %d Jobs; want Pending, 3 Jobs", bs.Status.Phase, len(e.Jobs()))
		}
		if bs.ResourceVersion != last.ResourceVersion {
			return fmt.Errorf("written while it waits: %+v", bs.Status.Conditions)
		}
		return nil
	})
}
