package maintenance

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
)

func TestDue(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	at := func(ago time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-ago)); return &t }
	every := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	yes, no := true, false
	tests := map[string]struct {
		spec   stashv1alpha1.Maintenance
		status stashv1alpha1.RepositoryStatus
		prunes bool
		want   Plan
	}{
		"a new repository is checked and pruned": {prunes: true, want: Plan{Check: true, Prune: true}},
		"no prune without a pruning policy":      {want: Plan{Check: true}},
		"checked and pruned an hour ago": {prunes: true,
			status: stashv1alpha1.RepositoryStatus{LastIntegrityCheckTime: at(time.Hour), LastPruneTime: at(time.Hour), Integrity: &yes}},
		"a day ago, the default interval": {prunes: true, want: Plan{Check: true, Prune: true},
			status: stashv1alpha1.RepositoryStatus{LastIntegrityCheckTime: at(24 * time.Hour), LastPruneTime: at(25 * time.Hour), Integrity: &yes}},
		"intervals of the spec": {prunes: true, want: Plan{Prune: true},
			spec:   stashv1alpha1.Maintenance{CheckInterval: every(7 * 24 * time.Hour), PruneInterval: every(time.Hour)},
			status: stashv1alpha1.RepositoryStatus{LastIntegrityCheckTime: at(48 * time.Hour), LastPruneTime: at(2 * time.Hour), Integrity: &yes}},
		"0s: every backup, as Stash v0.9": {prunes: true, want: Plan{Check: true, Prune: true},
			spec:   stashv1alpha1.Maintenance{CheckInterval: every(0), PruneInterval: every(0)},
			status: stashv1alpha1.RepositoryStatus{LastIntegrityCheckTime: at(time.Minute), LastPruneTime: at(time.Minute), Integrity: &yes}},
		"a failed check is repeated until it passes": {want: Plan{Check: true},
			status: stashv1alpha1.RepositoryStatus{LastIntegrityCheckTime: at(time.Minute), Integrity: &no}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Due(tc.spec, tc.status, tc.prunes, now); got != tc.want {
				t.Errorf("Due = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	size := int64(1 << 20)
	measured := stashv1alpha1.RepositoryStatus{TotalSizeBytes: &size}
	tests := map[string]struct {
		plan   Plan
		status stashv1alpha1.RepositoryStatus
		want   bool
	}{
		"never measured":        {want: true},
		"measured, nothing due": {status: measured},
		"a check measures":      {plan: Plan{Check: true}, status: measured, want: true},
		"a prune must measure":  {plan: Plan{Prune: true}, status: measured, want: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.plan.Measure(tc.status); got != tc.want {
				t.Errorf("Measure = %v, want %v", got, tc.want)
			}
		})
	}
}
