package function

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stash-operator/stash/internal/restic"
)

// listedStore is a repository's listing as restic printed it: the scale
// test measures the sync's own cost, the API server's, on top of
// restic's listing.
type listedStore struct{ snaps []restic.Snapshot }

func (s *listedStore) snapshots(context.Context) ([]restic.Snapshot, error) { return s.snaps, nil }
func (s *listedStore) forget(context.Context, []string) error {
	return fmt.Errorf("the scale test deletes no Snapshot")
}

func syntheticSnapshots(n int) []restic.Snapshot {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snaps := make([]restic.Snapshot, n)
	for i := range snaps {
		id := fmt.Sprintf("%08x%056x", i, i) // unique short ids, as a real repository's nearly always are
		snaps[i] = restic.Snapshot{ID: id, ShortID: id[:8], Hostname: fmt.Sprintf("host-%d", i%3), Paths: []string{"/source/data"},
			Time: start.Add(time.Duration(i) * time.Hour), Tree: id, Username: "root",
			Summary: &restic.SnapshotSummary{TotalFilesProcessed: 8645, TotalBytesProcessed: 1 << 30}}
	}
	return snaps
}

// TestSyncSnapshotsScale syncs STASH_BENCH_SNAPSHOTS (default 10,000)
// snapshots of one Repository into a real API server and prints the time
// of each sync: the first (every object created), one with nothing new
// (the paged listing and the plan only), one after a backup (one new) and
// one after retention forgot a tenth. Skipped unless STASH_BENCH_SNAPSHOTS
// is set:
//
//	STASH_BENCH_SNAPSHOTS=10000 go test -run TestSyncSnapshotsScale -v ./internal/function/
func TestSyncSnapshotsScale(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("STASH_BENCH_SNAPSHOTS"))
	if err != nil {
		t.Skip("set STASH_BENCH_SNAPSHOTS=10000 to measure a sync of that many snapshots")
	}
	f := newSyncFixture(t)
	store := &listedStore{snaps: syntheticSnapshots(n)}
	sync := func(what string, want int) {
		t.Helper()
		var out bytes.Buffer
		start := time.Now()
		if err := f.opts.sync(f.e.Ctx, f.e.Client, store, &out); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		took := time.Since(start)
		if got := len(f.objects()); got != want {
			t.Fatalf("%s: %d Snapshot objects, want %d", what, got, want)
		}
		t.Logf("%-44s %8.2f s  (%s)", what, took.Seconds(), bytes.TrimSpace(out.Bytes()))
	}
	sync(fmt.Sprintf("first sync of %d snapshots", n), n)
	sync("second sync, nothing new", n)
	store.snaps = append(store.snaps, syntheticSnapshots(n + 1)[n])
	sync("after one backup", n+1)
	store.snaps = store.snaps[(n+1)/10:]
	sync("after retention forgot a tenth", len(store.snaps))
}
