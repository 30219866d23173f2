// Package maintenance decides when a backup also does the work whose cost
// grows with the whole repository rather than with what the backup adds:
// restic check, and the prune of a retention policy that prunes. Stash
// v0.9 did both on every backup; here they run on the first backup after
// their interval (Repository spec.maintenance, default a day), as K8up and
// Velero schedule them apart from the backups.
package maintenance

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
)

// DefaultInterval is how often a repository is checked, and pruned, when
// its spec.maintenance says nothing.
const DefaultInterval = 24 * time.Hour

// Plan is what a backup does besides backing up and forgetting snapshots.
type Plan struct {
	// Check: run restic check.
	Check bool
	// Prune: remove the data no snapshot references (only when the
	// retention policy prunes).
	Prune bool
}

// Measure reports whether the backup measures the repository (size and
// snapshots) rather than adding what it wrote to the last measurement: a
// prune shrinks it by an amount only a measurement knows, and a check
// costs as much anyway. A repository never measured is measured.
func (p Plan) Measure(st stashv1alpha1.RepositoryStatus) bool {
	return p.Check || p.Prune || st.TotalSizeBytes == nil
}

// Due is the plan of a backup that starts at now into a repository with
// spec m and status st, whose retention policy prunes when prunes is set.
// A repository whose last check found errors is checked again on every
// backup, so that its repair shows at once.
func Due(m stashv1alpha1.Maintenance, st stashv1alpha1.RepositoryStatus, prunes bool, now time.Time) Plan {
	failed := st.Integrity != nil && !*st.Integrity
	return Plan{
		Check: failed || due(m.CheckInterval, st.LastIntegrityCheckTime, now),
		Prune: prunes && due(m.PruneInterval, st.LastPruneTime, now),
	}
}

func due(interval *metav1.Duration, last *metav1.Time, now time.Time) bool {
	every := DefaultInterval
	if interval != nil {
		every = interval.Duration
	}
	return last == nil || every <= 0 || now.Sub(last.Time) >= every
}
