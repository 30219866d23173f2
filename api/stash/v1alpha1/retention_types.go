package v1alpha1

// RetentionPolicy maps one to one onto `restic forget --keep-*`; zero counts
// are not passed. Forget is always scoped to the backup's host, so one target
// never prunes another target's snapshots.
type RetentionPolicy struct {
	// Name is cosmetic, kept for Stash compatibility; v0.9's guides leave
	// it out too.
	// +optional
	Name string `json:"name"`
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="keepLast must not be negative: set the number of snapshots to keep, or leave it out"
	KeepLast int64 `json:"keepLast,omitempty"`
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="keepHourly must not be negative: set the number of hourly snapshots to keep, or leave it out"
	KeepHourly int64 `json:"keepHourly,omitempty"`
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="keepDaily must not be negative: set the number of daily snapshots to keep, or leave it out"
	KeepDaily int64 `json:"keepDaily,omitempty"`
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="keepWeekly must not be negative: set the number of weekly snapshots to keep, or leave it out"
	KeepWeekly int64 `json:"keepWeekly,omitempty"`
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="keepMonthly must not be negative: set the number of monthly snapshots to keep, or leave it out"
	KeepMonthly int64 `json:"keepMonthly,omitempty"`
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= 0",message="keepYearly must not be negative: set the number of yearly snapshots to keep, or leave it out"
	KeepYearly int64 `json:"keepYearly,omitempty"`
	// +optional
	KeepTags []string `json:"keepTags,omitempty"`
	// Prune removes the data that forgotten snapshots no longer reference.
	// +optional
	Prune bool `json:"prune"`
	// DryRun reports what would be forgotten without removing anything.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`
}
