package function

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/stash-operator/stash/internal/restic"
)

// WipeRepository forgets every snapshot of the repository and prunes, so
// that the backed-up data is gone from the backend; the empty repository
// (its config and keys) remains. It runs when a Repository with
// spec.wipeOut: true is deleted. A repository that does not exist is
// already wiped.
func WipeRepository(ctx context.Context, s Setup, stdout io.Writer) error {
	repo, err := s.NewRepo()
	if err != nil {
		return err
	}
	if _, err := s.openRepo(ctx, repo, false); err != nil {
		if errors.Is(err, restic.ErrRepositoryNotFound) {
			fmt.Fprintf(stdout, "%s holds no repository: nothing to wipe\n", repo)
			return nil
		}
		return err
	}
	snaps, err := repo.Snapshots(ctx, restic.SnapshotFilter{})
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(snaps))
	for _, s := range snaps {
		ids = append(ids, s.ID)
	}
	if err := repo.ForgetIDs(ctx, ids...); err != nil {
		return fmt.Errorf("forget %d snapshots: %w", len(ids), err)
	}
	if err := repo.Prune(ctx); err != nil {
		return fmt.Errorf("prune after forgetting %d snapshots: %w", len(ids), err)
	}
	fmt.Fprintf(stdout, "wiped %s: forgot %d snapshots and pruned their data\n", repo, len(ids))
	return nil
}
