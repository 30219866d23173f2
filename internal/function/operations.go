package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/restic"
	"github.com/stash-operator/stash/internal/status"
	"github.com/stash-operator/stash/internal/text"
)

// RequestOptions name the Repository an operation asked for by annotation
// (stash unlock, stash check) works on, and the request it answers.
type RequestOptions struct {
	Setup
	Namespace  string
	Repository string
	Request    string
	// Force (unlock): remove the locks of holders that run, too.
	Force bool
	// ReadDataSubset (check): restic check --read-data-subset.
	ReadDataSubset string
}

// UnlockRepository removes the repository's locks when every holder has
// ended (its pod is gone or finished, or restic holds the lock stale), or
// with Force whatever their holders; otherwise it removes none and names
// the holders that run. The outcome goes to status.lastUnlock.
func UnlockRepository(ctx context.Context, c client.Client, o RequestOptions, stdout io.Writer) error {
	return o.record(ctx, c, stdout, func(st *stashv1alpha1.RepositoryStatus) *stashv1alpha1.RepositoryOperation {
		st.LastUnlock = &stashv1alpha1.RepositoryOperation{}
		return st.LastUnlock
	}, o.unlock)
}

func (o *RequestOptions) unlock(ctx context.Context) (phase, message string, record func(*stashv1alpha1.RepositoryStatus)) {
	repo, err := o.NewRepo()
	if err != nil {
		return stashv1alpha1.OperationFailed, err.Error(), nil
	}
	locks, err := repo.Locks(ctx)
	if err != nil {
		return stashv1alpha1.OperationFailed, fmt.Sprintf("list the locks of %s: %v", repo, err), nil
	}
	if len(locks) == 0 {
		return stashv1alpha1.OperationSucceeded, "the repository has no lock", nil
	}
	holder := o.LockHolder
	if holder == nil {
		holder = o.podHolder()
	}
	now := time.Now()
	var held []string
	described := make([]string, len(locks))
	for i, l := range locks {
		why, removable := lockState(ctx, holder, l, now)
		described[i] = describeLock(l, why)
		if !removable {
			held = append(held, described[i])
		}
	}
	if len(held) > 0 && !o.Force {
		return stashv1alpha1.OperationFailed, fmt.Sprintf("removed no lock: %s. Wait for it to end, or remove the locks anyway "+
			"with stash unlock --force (a backup that still runs then fails, or worse, writes into a repository another command prunes)",
			strings.Join(held, "; ")), nil
	}
	// restic removes every lock at once: a lock taken since they were
	// judged (a backup that started) must not go with them.
	again, err := repo.Locks(ctx)
	if err != nil {
		return stashv1alpha1.OperationFailed, fmt.Sprintf("list the locks of %s again: %v", repo, err), nil
	}
	if !sameLocks(locks, again) && !o.Force {
		return stashv1alpha1.OperationFailed, "removed no lock: the locks changed while they were judged (a backup started?); run stash unlock again", nil
	}
	if err := repo.RemoveAllLocks(ctx); err != nil {
		return stashv1alpha1.OperationFailed, fmt.Sprintf("remove the locks: %v", err), nil
	}
	return stashv1alpha1.OperationSucceeded, fmt.Sprintf("removed %d lock(s): %s", len(locks), strings.Join(described, "; ")), nil
}

// lockState says why lock l may be removed at now, or why not.
func lockState(ctx context.Context, holder func(context.Context, string) restic.Holder, l restic.Lock, now time.Time) (why string, removable bool) {
	if age := now.Sub(l.Time); age >= restic.ResticStaleAge {
		return "stale (not refreshed for " + age.Round(time.Second).String() + ")", true
	}
	h := restic.HolderUnknown
	if holder != nil {
		h = holder(ctx, l.Hostname)
	}
	switch h {
	case restic.HolderGone:
		return "its pod has ended", true
	case restic.HolderRuns:
		return "its pod still runs", false
	default:
		return "its holder is not a pod of this namespace: nobody can tell whether it runs", false
	}
}

func describeLock(l restic.Lock, why string) string {
	kind := "lock"
	if l.Exclusive {
		kind = "exclusive lock"
	}
	return fmt.Sprintf("the %s of %s (pid %d, since %s): %s", kind, l.Hostname, l.PID, l.Time.UTC().Format(time.RFC3339), why)
}

// CheckRepository runs restic check (with ReadDataSubset, that part of the
// data too) and records it as a backup's check is recorded (integrity,
// lastIntegrityCheckTime, condition IntegrityVerified) and in
// status.lastCheck. The locks of ended pods are removed first.
func CheckRepository(ctx context.Context, c client.Client, o RequestOptions, stdout io.Writer) error {
	return o.record(ctx, c, stdout, func(st *stashv1alpha1.RepositoryStatus) *stashv1alpha1.RepositoryOperation {
		st.LastCheck = &stashv1alpha1.RepositoryOperation{}
		return st.LastCheck
	}, o.check)
}

func (o *RequestOptions) check(ctx context.Context) (phase, message string, record func(*stashv1alpha1.RepositoryStatus)) {
	repo, err := o.NewRepo()
	if err != nil {
		return stashv1alpha1.OperationFailed, err.Error(), nil
	}
	var ok bool
	start := time.Now()
	err = o.withLocksCleared(ctx, repo, func(r *restic.Repo) error {
		var cerr error
		ok, cerr = r.Check(ctx, o.ReadDataSubset)
		return cerr
	})
	if err != nil {
		return stashv1alpha1.OperationFailed, fmt.Sprintf("restic check could not run: %v", err), nil
	}
	subset := ""
	if o.ReadDataSubset != "" {
		subset = ", reading " + o.ReadDataSubset + " of the data"
	}
	record = func(st *stashv1alpha1.RepositoryStatus) { status.RecordCheck(st, ok, "this check Job", start) }
	took := time.Since(start).Round(time.Second)
	if !ok {
		return stashv1alpha1.OperationFailed, fmt.Sprintf("restic check found errors in the repository (in %s%s): see this Job's log, "+
			"and repair it (restic repair index, restic repair snapshots) before relying on it", took, subset), record
	}
	return stashv1alpha1.OperationSucceeded, fmt.Sprintf("restic check found no errors (in %s%s)", took, subset), record
}

// record runs op and writes its outcome into the Repository's status: in
// the operation's entry (entry makes it) and what op records besides. The
// outcome is printed too; only failing to write it is an error, so that a
// failed operation's Job ends Complete and the status says why.
func (o *RequestOptions) record(ctx context.Context, c client.Client, stdout io.Writer,
	entry func(*stashv1alpha1.RepositoryStatus) *stashv1alpha1.RepositoryOperation,
	op func(context.Context) (string, string, func(*stashv1alpha1.RepositoryStatus))) error {
	if o.Request == "" {
		return errors.New("--request is empty: it names the request the outcome answers")
	}
	phase, message, also := op(ctx)
	fmt.Fprintf(stdout, "%s: %s\n", phase, message)
	key := client.ObjectKey{Namespace: o.Namespace, Name: o.Repository}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var repo stashv1alpha1.Repository
		if err := c.Get(ctx, key, &repo); err != nil {
			return err
		}
		*entry(&repo.Status) = stashv1alpha1.RepositoryOperation{Request: o.Request, Phase: phase,
			Message: text.CutBack(message, text.MaxConditionMessage), Time: &metav1.Time{Time: time.Now()}}
		if also != nil {
			also(&repo.Status)
		}
		return c.Status().Update(ctx, &repo)
	})
	if err != nil {
		return fmt.Errorf("record the outcome in Repository %s: %w", key, err)
	}
	return nil
}

func sameLocks(a, b []restic.Lock) bool {
	ids := func(locks []restic.Lock) []string {
		out := make([]string, len(locks))
		for i, l := range locks {
			out[i] = l.ID
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(ids(a), ids(b))
}
