package session

import (
	"strings"
	"testing"
	"time"
)

func TestSlots(t *testing.T) {
	midnight := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	w := func(name string, queued int, after time.Duration) Waiter {
		return Waiter{Created: midnight.Add(after), Namespace: "demo", Name: name, Queued: queued}
	}
	waiting := []Waiter{w("c", 1, time.Second), w("a", 1, 0), w("b", 3, 0), w("d", 1, 2*time.Second)}
	tests := map[string]struct {
		limit, running int
		self           Waiter
		want           int
		why            []string
	}{
		"the oldest takes what is free":       {limit: 10, running: 2, self: w("a", 1, 0), want: 8},
		"same tick: by name, after a":         {limit: 10, running: 2, self: w("b", 3, 0), want: 7},
		"after a and b's four hosts":          {limit: 10, running: 2, self: w("c", 1, time.Second), want: 4},
		"none left for the newest":            {limit: 7, running: 2, self: w("d", 1, 2*time.Second), why: []string{"2 backup Jobs run, at most 7 at once", "5 hosts of older sessions go first"}},
		"all running":                         {limit: 2, running: 2, self: w("a", 1, 0), why: []string{"--max-running-backup-jobs"}},
		"a session not yet among the waiting": {limit: 10, running: 0, self: w("e", 1, time.Hour), want: 4},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, why := Slots(tc.limit, tc.running, waiting, tc.self)
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
	var names []string
	for _, o := range Oldest(waiting, 3) {
		names = append(names, o.Name)
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Errorf("Oldest(3) = %v, want a,b,c", names)
	}
}
