package restic

import (
	"testing"
	"time"
)

func TestDeadLocks(t *testing.T) {
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	fresh := func(host string) Lock { return Lock{Hostname: host, Time: now.Add(-time.Minute)} }
	old := func(host string) Lock { return Lock{Hostname: host, Time: now.Add(-ResticStaleAge)} }
	holders := map[string]Holder{"gone-pod": HolderGone, "running-pod": HolderRuns}
	holder := func(l Lock) Holder { return holders[l.Hostname] }
	tests := map[string]struct {
		locks []Lock
		want  bool
	}{
		"no lock: nothing to remove":                {nil, false},
		"the holder's pod is gone":                  {[]Lock{fresh("gone-pod")}, true},
		"the holder's pod runs":                     {[]Lock{fresh("running-pod")}, false},
		"an unknown holder is respected":            {[]Lock{fresh("elsewhere")}, false},
		"restic's own age rule, whoever held it":    {[]Lock{old("elsewhere"), old("running-pod")}, true},
		"one live lock keeps every other":           {[]Lock{fresh("gone-pod"), fresh("running-pod")}, false},
		"gone and aged: all stale":                  {[]Lock{fresh("gone-pod"), old("elsewhere")}, true},
		"an unreadable lock (no host) is respected": {[]Lock{fresh("gone-pod"), fresh("")}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := DeadLocks(tc.locks, now, holder); got != tc.want {
				t.Fatalf("DeadLocks = %v, want %v", got, tc.want)
			}
		})
	}
}
