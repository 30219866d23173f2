package restic

import "context"

// Prune removes the data that no snapshot references any more.
func (r *Repo) Prune(ctx context.Context) error {
	_, err := r.run(ctx, call{sub: "prune", args: []string{"--quiet"}})
	return err
}
