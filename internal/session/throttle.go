package session

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Waiter is a session with hosts that wait for their Job, as the global
// limit of running Jobs orders them: by creation (the tick), then name.
type Waiter struct {
	Created   time.Time
	Namespace string
	Name      string
	// Queued is how many of its hosts wait for a Job.
	Queued int
}

func (w Waiter) before(o Waiter) bool {
	return cmp.Or(w.Created.Compare(o.Created), cmp.Compare(w.Namespace, o.Namespace), cmp.Compare(w.Name, o.Name)) < 0
}

// Slots is how many Jobs self may create now when at most limit Jobs may
// run at once, running run, and waiting (self among them, or not) wait:
// the older sessions' queued hosts go first, so that a midnight with a
// thousand schedules starts them in tick order. When it is zero, why says
// so for the session's status. why does not count the Jobs that run or the
// hosts ahead: those change each time a Job ends, and rewriting the status
// of every waiting session then would cost the API server a write per
// waiting session per Job, a thousand times a thousand at such a midnight.
func Slots(limit, running int, waiting []Waiter, self Waiter) (slots int, why string) {
	ahead := 0
	for _, w := range waiting {
		if w.before(self) {
			ahead += w.Queued
		}
	}
	free := limit - running - ahead
	if free > 0 {
		return free, ""
	}
	return 0, fmt.Sprintf("waiting for a free slot: at most %d backup Jobs run at once (the operator's --max-running-backup-jobs), older sessions first", limit)
}

// Next are the waiting sessions, oldest first, whose queued hosts fill free
// slots: the ones to wake when Jobs end. The last may get fewer slots than
// it has hosts queued.
func Next(waiting []Waiter, free int) []Waiter {
	sorted := slices.SortedFunc(slices.Values(waiting), func(a, b Waiter) int {
		switch {
		case a.before(b):
			return -1
		case b.before(a):
			return 1
		}
		return 0
	})
	n := 0
	for filled := 0; n < len(sorted) && filled < free; n++ {
		filled += max(sorted[n].Queued, 1)
	}
	return sorted[:n]
}
