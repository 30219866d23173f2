package function

import (
	"bytes"
	"strings"
	"testing"
	"time"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
)

// requestFixture is a syncFixture's Repository, backed up once, with the
// options of a request on it.
func requestFixture(t *testing.T) (*syncFixture, RequestOptions) {
	f := newSyncFixture(t)
	f.backup("host-0")
	return f, RequestOptions{Setup: f.opts.Setup, Namespace: f.e.Namespace, Repository: f.repo.Name, Request: "r-" + t.Name()}
}

func (f *syncFixture) status() stashv1alpha1.RepositoryStatus {
	f.e.T.Helper()
	var repo stashv1alpha1.Repository
	if err := f.e.Get(f.repo.Name, &repo); err != nil {
		f.e.T.Fatal(err)
	}
	return repo.Status
}

func TestUnlockRepository(t *testing.T) {
	job := stashJob("stash-backup-nightly-1767225600-0", true) // its pod is gone
	for name, tc := range map[string]struct {
		holder  string
		force   bool
		phase   string
		want    []string
		removed bool
	}{
		"a lock of a pod that ended goes": {holder: job.Name + "-x7k2q", phase: "Succeeded", removed: true,
			want: []string{"removed 1 lock(s)", job.Name + "-x7k2q", "its pod has ended"}},
		"a lock nobody can tell is kept": {holder: "another-machine", phase: "Failed",
			want: []string{"removed no lock", "another-machine", "nobody can tell whether it runs", "stash unlock --force"}},
		"--force removes it anyway": {holder: "another-machine", force: true, phase: "Succeeded", removed: true,
			want: []string{"removed 1 lock(s)", "another-machine"}},
	} {
		t.Run(name, func(t *testing.T) {
			f, o := requestFixture(t)
			f.e.Create(stashJob(job.Name, true))
			o.Force = tc.force
			leaveLock(t, o.Setup, tc.holder, false)
			var out bytes.Buffer
			if err := UnlockRepository(f.e.Ctx, f.e.Client, o, &out); err != nil {
				t.Fatal(err)
			}
			last := f.status().LastUnlock
			if last == nil || last.Request != o.Request || last.Phase != tc.phase || last.Time == nil {
				t.Fatalf("status.lastUnlock = %+v, want phase %s for request %s", last, tc.phase, o.Request)
			}
			for _, w := range tc.want {
				if !strings.Contains(last.Message, w) {
					t.Errorf("message %q lacks %q", last.Message, w)
				}
			}
			repo, _ := o.NewRepo()
			locks, err := repo.Locks(f.e.Ctx)
			if err != nil || (len(locks) == 0) != tc.removed {
				t.Fatalf("locks after the unlock: %+v (%v); removed want %v", locks, err, tc.removed)
			}
		})
	}
}

func TestCheckRepositoryRecordsTheCheck(t *testing.T) {
	f, o := requestFixture(t)
	o.ReadDataSubset = "50%"
	start := time.Now().Add(-time.Second)
	var out bytes.Buffer
	if err := CheckRepository(f.e.Ctx, f.e.Client, o, &out); err != nil {
		t.Fatal(err)
	}
	st := f.status()
	if last := st.LastCheck; last == nil || last.Request != o.Request || last.Phase != "Succeeded" ||
		!strings.Contains(last.Message, "no errors") || !strings.Contains(last.Message, "50% of the data") {
		t.Fatalf("status.lastCheck = %+v", last)
	}
	if st.Integrity == nil || !*st.Integrity || st.LastIntegrityCheckTime == nil || st.LastIntegrityCheckTime.Time.Before(start.Truncate(time.Second)) {
		t.Fatalf("integrity %v, checked %v", st.Integrity, st.LastIntegrityCheckTime)
	}
	if c := conditions.Get(st.Conditions, stashv1beta1.ConditionIntegrityVerified); c == nil || c.Status != "True" {
		t.Fatalf("IntegrityVerified %+v", c)
	}
	if !strings.Contains(out.String(), "Succeeded: restic check found no errors") {
		t.Errorf("stdout %q", out.String())
	}
}

func TestRequestWithoutANameIsRefused(t *testing.T) {
	f, o := requestFixture(t)
	o.Request = ""
	if err := CheckRepository(f.e.Ctx, f.e.Client, o, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--request") {
		t.Fatalf("err = %v", err)
	}
}
