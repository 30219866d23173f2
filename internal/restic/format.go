package restic

import (
	"fmt"
	"time"
)

// FormatBytes humanises a size the way Stash shows it in status and
// output.json: binary units with one decimal ("1.2 GiB"), plain bytes below
// 1 KiB ("512 B").
func FormatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / unit
	i := 0
	// Move up a unit when rounding to one decimal would print "1024.0".
	for v >= unit-0.05 && i < len(units)-1 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// FormatProcessingTime renders d as Stash's processingTime: whole hours,
// minutes and seconds, always all three ("0h0m40s").
func FormatProcessingTime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%dh%dm%ds", s/3600, s%3600/60, s%60)
}
