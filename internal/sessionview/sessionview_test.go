package sessionview

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// now is a minute after the fixtures' sessions were created.
var now = time.Date(2026, 12, 2, 10, 1, 0, 0, time.UTC)

// load reads the session of testdata/name.yaml, strictly.
func load(t *testing.T, name string) Session {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "kind: RestoreSession") {
		var rs stashv1beta1.RestoreSession
		if err := yaml.UnmarshalStrict(data, &rs); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return FromRestore(&rs)
	}
	var bs stashv1beta1.BackupSession
	if err := yaml.UnmarshalStrict(data, &bs); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return FromBackup(&bs)
}

func TestChanges(t *testing.T) {
	tests := map[string]struct {
		prev, cur string // fixtures; prev "" is the first look
		want      []string
	}{
		"first look at a waiting session says why it waits": {
			cur:  "backup-pending",
			want: []string{"Pending: waiting for a free slot: 20 backup Jobs run (--max-running-backup-jobs 20)"},
		},
		"a session that started: its phase, its Job, the step that runs": {
			prev: "backup-pending", cur: "backup-running",
			want: []string{"Running", "host-0: Job db-backup-x7k2p-0", "host-0: step postgres-backup-15-0 Running"},
		},
		"a failed step: exit code, reason, time and the last line of its log": {
			prev: "backup-running", cur: "backup-failed",
			want: []string{"Failed", "host-0: step postgres-backup-15-0 Failed, exit 1 (Error) after 3s: backup-pg: pg_dumpall exited 1"},
		},
		"every step that ended is a line; a step whose phase stayed is not": {
			prev: "backup-running", cur: "backup-succeeded",
			want: []string{"Succeeded", "host-0: step postgres-backup-15-0 Succeeded after 4s", "host-0: step update-status-1 Succeeded after <1s"},
		},
		"nothing moved": {
			prev: "backup-running", cur: "backup-running",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var prev *Session
			if tc.prev != "" {
				p := load(t, tc.prev)
				prev = &p
			}
			got := Changes(prev, load(t, tc.cur))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFinalAndSummary(t *testing.T) {
	tests := map[string]struct {
		fixture      string
		final, summa string
	}{
		"running": {
			fixture: "backup-running",
			final:   "BackupSession demo/db-backup-x7k2p Running (Running): 1 host: 0 done",
			summa:   "Running 12s, 0/2 steps done, running host-0: postgres-backup-15-0",
		},
		"failed: the reason and message": {
			fixture: "backup-failed",
			final:   "BackupSession demo/db-backup-x7k2p Failed in 9s (StepFailed): host host-0: step postgres-backup-15-0 (function postgres-backup-15) exited 1",
			summa:   "Failed 12s, 1/2 steps done",
		},
		"succeeded: no reason": {
			fixture: "backup-succeeded",
			final:   "BackupSession demo/db-backup-x7k2p Succeeded in 11s",
			summa:   "Succeeded 12s, 2/2 steps done",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := load(t, tc.fixture)
			if got := Final(s); got != tc.final {
				t.Errorf("Final:\n got %q\nwant %q", got, tc.final)
			}
			if got := Summary(s, 12300*time.Millisecond); got != tc.summa {
				t.Errorf("Summary:\n got %q\nwant %q", got, tc.summa)
			}
		})
	}
}

// TestDescribe compares each fixture's page with testdata/golden/NAME.txt
// (go test -run TestDescribe -update rewrites them).
func TestDescribe(t *testing.T) {
	events := map[string][]Event{
		"backup-failed": {
			{Time: now.Add(-50 * time.Second), Type: "Warning", Reason: "StepFailed", Note: "host host-0: step postgres-backup-15-0 exited 1"},
		},
	}
	for _, name := range []string{"backup-pending", "backup-running", "backup-failed", "backup-succeeded", "restore-unknown"} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Describe(&out, load(t, name), events[name], nil, now); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", name+".txt")
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestDescribe -update writes it)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("Describe differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := map[string]struct {
		fixture string
		reason  string   // replaces the fixture's, when set
		want    []string // each must be one of the lines, in order
	}{
		"a host that recorded its failure: its error, not a log tail": {
			fixture: "backup-failed", reason: "HostFailed",
			want: []string{"The host's error (Results, above)", "stash logs backupsession/db-backup-x7k2p -n demo", "stash trigger db-backup -n demo"},
		},
		"running: follow it": {
			fixture: "backup-running",
			want:    []string{"Follow it: kubectl -n demo get backupsession/db-backup-x7k2p -w", "stash logs backupsession/db-backup-x7k2p -n demo"},
		},
		"a failed step: its logs, then trigger again": {
			fixture: "backup-failed",
			want:    []string{"log tail above", "stash logs backupsession/db-backup-x7k2p -n demo", "stash trigger db-backup -n demo"},
		},
		"a restore of unknown outcome: check the data": {
			fixture: "restore-unknown",
			want:    []string{"check the restored data", "stash logs restoresession/web-restore -n demo"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := load(t, tc.fixture)
			if tc.reason != "" {
				s.Status.Conditions[0].Reason = tc.reason
			}
			got := Next(s)
			if len(got) != len(tc.want) {
				t.Fatalf("Next = %q, want %d lines", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("line %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
