package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	repositoriesv1alpha1 "github.com/stash-operator/stash/api/repositories/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/restic"
	"github.com/stash-operator/stash/internal/snapshotsync"
)

// The test plays the sync Job: it writes the Snapshot objects a sync of
// these restic snapshots writes, and the Repository's sync status.
func TestSnapshotsCommand(t *testing.T) {
	w := newCLIWorld(t)
	var repo stashv1alpha1.Repository
	if err := w.Get("repo", &repo); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	older := restic.Snapshot{ID: "1111111122222222", Hostname: "host-0", Paths: []string{"/var/lib/data"}, Time: now.Add(-2 * time.Hour),
		Summary: &restic.SnapshotSummary{TotalBytesProcessed: 5 << 20}}
	newer := restic.Snapshot{ID: "3333333344444444", Hostname: "host-1", Paths: []string{"/dumpfile.sql"}, Time: now.Add(-time.Hour)}
	for _, s := range []restic.Snapshot{older, newer} {
		w.Create(snapshotsync.Object(&repo, s, "repo-"+s.ID[:8]))
	}

	t.Run("before the first sync", func(t *testing.T) {
		stdout, stderr, code := w.run("snapshots", "repo")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		wantIn(t, "header", stdout, "Repository "+w.Namespace+"/repo: 2 snapshot(s), never synced yet")
	})
	w.UpdateStatus(&repo, func() { repo.Status.SnapshotsSyncTime = &metav1.Time{Time: now.Add(-3 * time.Minute)} })

	t.Run("a table, newest first", func(t *testing.T) {
		stdout, stderr, code := w.run("snapshots", "repo")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		wantIn(t, "table", stdout, "2 snapshot(s), synced 3m", "NAME", "ID", "HOSTNAME", "PATHS", "SIZE", "CREATED",
			"repo-11111111", "host-0", "/var/lib/data", "5.0 MiB", "(120m ago)", "repo-33333333", "/dumpfile.sql")
		if strings.Index(stdout, "repo-33333333") > strings.Index(stdout, "repo-11111111") {
			t.Errorf("the older snapshot is listed first:\n%s", stdout)
		}
	})
	t.Run("--host", func(t *testing.T) {
		stdout, _, code := w.run("snapshots", "repo", "--host", "host-1")
		if code != 0 || !strings.Contains(stdout, "repo-33333333") || strings.Contains(stdout, "repo-11111111") {
			t.Fatalf("exit %d:\n%s", code, stdout)
		}
	})
	t.Run("-o json is the Snapshot objects", func(t *testing.T) {
		stdout, stderr, code := w.run("snapshots", "repo", "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var list repositoriesv1alpha1.SnapshotList
		if err := json.Unmarshal([]byte(stdout), &list); err != nil {
			t.Fatalf("%v:\n%s", err, stdout)
		}
		if list.Kind != "SnapshotList" || len(list.Items) != 2 || list.Items[0].Kind != "Snapshot" ||
			list.Items[0].Status.ID != newer.ID || list.Items[1].Status.Hostname != "host-0" {
			t.Fatalf("list: %+v", list)
		}
	})
	t.Run("a failed sync and a failed forget are shown", func(t *testing.T) {
		w.UpdateStatus(&repo, func() {
			conditions.Set(&repo.Status.Conditions, repo.Generation, stashv1beta1.ConditionSnapshotsSynced, metav1.ConditionFalse,
				stashv1beta1.ReasonSnapshotSyncFailed, "Job stash-snapshots-repo could not sync", now)
		})
		var snap repositoriesv1alpha1.Snapshot
		if err := w.Get("repo-11111111", &snap); err != nil {
			t.Fatal(err)
		}
		if err := w.Client.Delete(w.Ctx, &snap); err != nil {
			t.Fatal(err)
		}
		w.Update(&snap, func() {
			conditions.Set(&snap.Status.Conditions, 0, repositoriesv1alpha1.ConditionForgotten, metav1.ConditionFalse,
				repositoriesv1alpha1.ReasonForgetFailed, "restic forget failed: repository is already locked", now)
		})
		stdout, _, code := w.run("snapshots", "repo")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		wantIn(t, "table", stdout, "The last sync failed: Job stash-snapshots-repo could not sync",
			"ForgetFailed: restic forget failed: repository is already locked")
	})
	t.Run("usage and lookup errors", func(t *testing.T) {
		for name, tc := range map[string]struct {
			args []string
			code int
			want string
		}{
			"no repository":        {args: []string{"snapshots"}, code: 2, want: "accepts 1 arg"},
			"an unknown format":    {args: []string{"snapshots", "repo", "-o", "xml"}, code: 2, want: `-o "xml"`},
			"a missing repository": {args: []string{"snapshots", "nope"}, code: 1, want: `Repository "nope" not found in namespace "` + w.Namespace + `"`},
		} {
			t.Run(name, func(t *testing.T) {
				_, stderr, code := w.with(t).run(tc.args...)
				if code != tc.code || !strings.Contains(stderr, tc.want) {
					t.Fatalf("exit %d, want %d; stderr %q, want %q", code, tc.code, stderr, tc.want)
				}
			})
		}
	})
}
