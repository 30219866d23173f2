package session

import (
	"strings"
	"testing"
	"time"
)

// w is a session created after midnight with queued hosts waiting.
func w(name string, queued int, after time.Duration) Waiter {
	midnight := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	return Waiter{Created: midnight.Add(after), Namespace: "demo", Name: name, Queued: queued}
}

// queue: a and b of the same tick (b with three hosts), then c, then d.
var queue = []Waiter{w("c", 1, time.Second), w("a", 1, 0), w("b", 3, 0), w("d", 1, 2*time.Second)}

func TestSlots(t *testing.T) {
	tests := map[string]struct {
		limit, running int
		self           Waiter
		want           int
		why            []string
	}{
		"the oldest takes what is free":       {limit: 10, running: 2, self: w("a", 1, 0), want: 8},
		"same tick: by name, after a":         {limit: 10, running: 2, self: w("b", 3, 0), want: 7},
		"after a and b's four hosts":          {limit: 10, running: 2, self: w("c", 1, time.Second), want: 4},
		"none left for the newest":            {limit: 7, running: 2, self: w("d", 1, 2*time.Second), why: []string{"at most 7 backup Jobs run at once", "older sessions first"}},
		"all running":                         {limit: 2, running: 2, self: w("a", 1, 0), why: []string{"--max-running-backup-jobs"}},
		"a session not yet among the waiting": {limit: 10, running: 0, self: w("e", 1, time.Hour), want: 4},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, why := Slots(tc.limit, tc.running, queue, tc.self)
			if got != tc.want {
				t.Errorf("Slots = %d, want %d", got, tc.want)
			}
			for _, s := range tc.why {
				if !strings.Contains(why, s) {
					t.Errorf("why %q lacks %q", why, s)
				}
			}
			if (why == "") != (got > 0) {
				t.Errorf("why %q with %d slots", why, got)
			}
		})
	}
	// A session that waits and is told why must not be told anything new
	// as Jobs end, or every waiting session's status is rewritten per Job.
	_, whyBusy := Slots(7, 2, queue, w("d", 1, 2*time.Second))
	_, whyBusier := Slots(7, 6, queue[1:], w("d", 1, 2*time.Second))
	if whyBusy != whyBusier {
		t.Errorf("why changed as the queue moved: %q, then %q", whyBusy, whyBusier)
	}
}

func TestNext(t *testing.T) {
	tests := map[string]struct {
		free int
		want string
	}{
		"no slot: none":                          {free: 0, want: ""},
		"one slot: the oldest":                   {free: 1, want: "a"},
		"two slots: b takes one of its three":    {free: 2, want: "a,b"},
		"four slots: a and b's three hosts":      {free: 4, want: "a,b"},
		"five slots: then c":                     {free: 5, want: "a,b,c"},
		"more slots than hosts queued: them all": {free: 20, want: "a,b,c,d"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var names []string
			for _, o := range Next(queue, tc.free) {
				names = append(names, o.Name)
			}
			if got := strings.Join(names, ","); got != tc.want {
				t.Errorf("Next(%d) = %q, want %q", tc.free, got, tc.want)
			}
		})
	}
}
