package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	repositoriesv1alpha1 "github.com/stash-operator/stash/api/repositories/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/restic"
	"github.com/stash-operator/stash/internal/snapshotsync"
	"github.com/stash-operator/stash/internal/text"
)

// SyncSnapshotsOptions name the Repository whose Snapshot objects a sync
// writes, and its backend (Setup).
type SyncSnapshotsOptions struct {
	Setup
	Namespace     string
	Repository    string
	RepositoryUID string
	// Writers is how many API writes run at once (a first sync of a large
	// repository creates thousands of objects); DefaultSyncWriters when 0.
	Writers int
}

// DefaultSyncWriters: enough to keep the API server busy, few enough to
// stay a small part of its load.
const DefaultSyncWriters = 8

// SyncSnapshots makes the Snapshot objects of the Repository mirror its
// restic snapshots (snapshotsync.PlanSync). It first forgets the snapshots
// whose objects were deleted; a forget that fails is recorded on those
// objects (condition Forgotten False), which stay. The data a forget frees
// is reclaimed by the repository's next prune. It returns an error when
// anything could not be listed, forgotten or written; what it did stays
// done, and the next sync does the rest.
func SyncSnapshots(ctx context.Context, c client.Client, o SyncSnapshotsOptions, stdout io.Writer) error {
	r, err := o.NewRepo()
	if err != nil {
		return err
	}
	return o.sync(ctx, c, resticStore{setup: &o.Setup, repo: r}, stdout)
}

// snapshotStore is where the snapshots are: the restic repository, or in
// the scale benchmark a list, whose cost is restic's, not the sync's.
type snapshotStore interface {
	snapshots(ctx context.Context) ([]restic.Snapshot, error)
	forget(ctx context.Context, ids []string) error
}

type resticStore struct {
	setup *Setup
	repo  *restic.Repo
}

func (s resticStore) snapshots(ctx context.Context) ([]restic.Snapshot, error) {
	snaps, err := s.repo.Snapshots(ctx, restic.SnapshotFilter{})
	switch {
	case errors.Is(err, restic.ErrRepositoryNotFound):
		return nil, nil // nothing was backed up yet: the repository holds no snapshot
	case err != nil:
		return nil, fmt.Errorf("list the snapshots in %s: %w", s.repo, err)
	}
	return snaps, nil
}

// forget forgets ids in one restic call (one lock).
func (s resticStore) forget(ctx context.Context, ids []string) error {
	return s.setup.withLocksCleared(ctx, s.repo, func(r *restic.Repo) error { return r.ForgetIDs(ctx, ids...) })
}

func (o *SyncSnapshotsOptions) sync(ctx context.Context, c client.Client, store snapshotStore, stdout io.Writer) error {
	repo := &stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{
		Name: o.Repository, Namespace: o.Namespace, UID: types.UID(o.RepositoryUID)}}
	objects, err := listSnapshotObjects(ctx, c, o.Namespace, o.Repository)
	if err != nil {
		return err
	}
	snaps, err := store.snapshots(ctx)
	if err != nil {
		return err
	}
	plan := snapshotsync.PlanSync(repo, snaps, objects)

	var errs []error
	forgot := 0
	if len(plan.Forget) > 0 {
		// Forget only while the Repository stands: when it, or its
		// namespace, is being deleted, its objects go with it and the
		// data is its spec.wipeOut's to decide.
		if why := o.notStanding(ctx, c); why != "" {
			fmt.Fprintf(stdout, "forgetting nothing: %s\n", why)
			plan.Forget = nil
		}
	}
	if len(plan.Forget) > 0 {
		ids := make([]string, len(plan.Forget))
		for i, obj := range plan.Forget {
			ids[i] = obj.Status.ID
		}
		if err := store.forget(ctx, ids); err != nil {
			errs = append(errs, fmt.Errorf("forget %d deleted snapshot(s): %w", len(plan.Forget), err))
			errs = append(errs, each(ctx, o.Writers, plan.Forget, func(obj *repositoriesv1alpha1.Snapshot) error {
				return recordForgetFailure(ctx, c, obj, err)
			})...)
		} else {
			forgot = len(plan.Forget)
			plan.Release = append(plan.Release, plan.Forget...)
		}
	}
	errs = append(errs, each(ctx, o.Writers, plan.Create, func(obj *repositoriesv1alpha1.Snapshot) error {
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create Snapshot %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		return nil
	})...)
	errs = append(errs, each(ctx, o.Writers, plan.Update, func(obj *repositoriesv1alpha1.Snapshot) error {
		return ignoreGone(c.Update(ctx, obj), "update", obj)
	})...)
	errs = append(errs, each(ctx, o.Writers, plan.Release, func(obj *repositoriesv1alpha1.Snapshot) error {
		return release(ctx, c, obj)
	})...)
	errs = append(errs, each(ctx, o.Writers, plan.Remove, func(obj *repositoriesv1alpha1.Snapshot) error {
		if err := release(ctx, c, obj); err != nil {
			return err
		}
		return ignoreGone(c.Delete(ctx, obj, client.Preconditions{UID: &obj.UID}), "delete", obj)
	})...)
	fmt.Fprintf(stdout, "%d snapshots in Repository %s/%s: %d created, %d rewritten, %d removed (no longer in the repository), %d forgotten\n",
		len(snaps), o.Namespace, o.Repository, len(plan.Create), len(plan.Update), len(plan.Remove), forgot)
	return errors.Join(errs...)
}

// notStanding says why the Repository is not there to forget in: gone,
// being deleted, or another Repository of the same name; "" when it is.
func (o *SyncSnapshotsOptions) notStanding(ctx context.Context, c client.Reader) string {
	var repo stashv1alpha1.Repository
	err := c.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Repository}, &repo)
	switch {
	case apierrors.IsNotFound(err):
		return "the Repository is gone"
	case err != nil:
		return fmt.Sprintf("cannot read the Repository: %v", err)
	case repo.DeletionTimestamp != nil:
		return "the Repository is being deleted"
	case string(repo.UID) != o.RepositoryUID:
		return "the Repository was replaced by another of the same name"
	}
	return ""
}

// recordForgetFailure says on obj why its snapshot is still there.
func recordForgetFailure(ctx context.Context, c client.Client, obj *repositoriesv1alpha1.Snapshot, cause error) error {
	message := text.CutBack(fmt.Sprintf("restic forget failed: %v. The snapshot and this object stay, and each sync of the Repository tries again; "+
		"the Repository's SnapshotsSynced condition names the Job whose log has the details", cause), text.MaxConditionMessage)
	if !conditions.Set(&obj.Status.Conditions, obj.Generation, repositoriesv1alpha1.ConditionForgotten, metav1.ConditionFalse,
		repositoriesv1alpha1.ReasonForgetFailed, message, time.Now()) {
		return nil
	}
	return ignoreGone(c.Update(ctx, obj), "record the failed forget on", obj)
}

// release removes the forget finalizer of obj.
func release(ctx context.Context, c client.Client, obj *repositoriesv1alpha1.Snapshot) error {
	return ignoreGone(kube.RemoveFinalizer(ctx, c, obj, repositoriesv1alpha1.ForgetFinalizer), "release", obj)
}

func ignoreGone(err error, what string, obj *repositoriesv1alpha1.Snapshot) error {
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or changed: the next sync sees it as it is
	}
	return fmt.Errorf("%s Snapshot %s/%s: %w", what, obj.Namespace, obj.Name, err)
}

// each runs write on every object, writers at a time, and returns the
// errors.
func each(ctx context.Context, writers int, objs []*repositoriesv1alpha1.Snapshot, write func(*repositoriesv1alpha1.Snapshot) error) []error {
	if len(objs) == 0 {
		return nil
	}
	var g errgroup.Group
	g.SetLimit(max(writers, 1))
	errs := make([]error, len(objs))
	for i, obj := range objs {
		g.Go(func() error {
			if ctx.Err() == nil {
				errs[i] = write(obj)
			}
			return nil
		})
	}
	_ = g.Wait()
	var out []error
	if err := ctx.Err(); err != nil {
		out = append(out, fmt.Errorf("stopped before every write: %w", err))
	}
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// listSnapshotObjects lists the repository's Snapshot objects a page at a
// time, so that 10,000 of them do not make one huge response.
func listSnapshotObjects(ctx context.Context, c client.Reader, namespace, repository string) ([]repositoriesv1alpha1.Snapshot, error) {
	var all []repositoriesv1alpha1.Snapshot
	opts := []client.ListOption{client.InNamespace(namespace),
		client.MatchingLabels{repositoriesv1alpha1.RepositoryLabel: snapshotsync.RepositoryLabel(repository)}, client.Limit(500)}
	for {
		var page repositoriesv1alpha1.SnapshotList
		if err := c.List(ctx, &page, opts...); err != nil {
			return nil, fmt.Errorf("list the Snapshots of Repository %s/%s: %w", namespace, repository, err)
		}
		all = append(all, page.Items...)
		if page.Continue == "" {
			return all, nil
		}
		opts = append(opts[:3], client.Continue(page.Continue))
	}
}
