package restic

import (
	"fmt"
	"time"
)

// FormatProcessingTime renders d as Stash's processingTime: whole hours,
// minutes and seconds, always all three ("0h0m40s").
func FormatProcessingTime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%dh%dm%ds", s/3600, s%3600/60, s%60)
}
