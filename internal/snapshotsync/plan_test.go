package snapshotsync

import (
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	repositoriesv1alpha1 "github.com/stash-operator/stash/api/repositories/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/restic"
)

var repo = &stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "local-repo", Namespace: "demo", UID: "u1"}}

func snap(id, host string) restic.Snapshot {
	return restic.Snapshot{ID: id, ShortID: id[:8], Hostname: host, Paths: []string{"/data"},
		Time: time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)}
}

// mirrored is the object a sync made of s, as read back from the API.
func mirrored(s restic.Snapshot, name string) repositoriesv1alpha1.Snapshot {
	return *Object(repo, s, name)
}

func deleted(obj repositoriesv1alpha1.Snapshot) repositoriesv1alpha1.Snapshot {
	obj.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	return obj
}

func names(objs []*repositoriesv1alpha1.Snapshot) []string {
	var n []string
	for _, o := range objs {
		n = append(n, o.Name)
	}
	return n
}

func TestPlanSync(t *testing.T) {
	a := snap("aaaaaaaa11111111", "host-0")
	b := snap("bbbbbbbb22222222", "host-0")
	aTwin := snap("aaaaaaaa99999999", "host-1") // same short id as a
	edited := mirrored(b, "local-repo-bbbbbbbb")
	edited.Status.Paths = []string{"/elsewhere"}
	notOurs := deleted(mirrored(b, "local-repo-bbbbbbbb"))
	notOurs.Finalizers = nil
	earlier := deleted(mirrored(a, "local-repo-aaaaaaaa")) // of an earlier Repository of that name
	earlier.OwnerReferences[0].UID = "u0"

	for name, tc := range map[string]struct {
		snaps                                   []restic.Snapshot
		objects                                 []repositoriesv1alpha1.Snapshot
		create, update, remove, forget, release []string
	}{
		"a new repository's snapshots are created with v0.9's names": {
			snaps:  []restic.Snapshot{a, b},
			create: []string{"local-repo-aaaaaaaa", "local-repo-bbbbbbbb"},
		},
		"objects that match their snapshot are left alone": {
			snaps:   []restic.Snapshot{a, b},
			objects: []repositoriesv1alpha1.Snapshot{mirrored(a, "local-repo-aaaaaaaa"), mirrored(b, "local-repo-bbbbbbbb")},
		},
		"a snapshot forgotten by retention or another tool is removed": {
			snaps:   []restic.Snapshot{b},
			objects: []repositoriesv1alpha1.Snapshot{mirrored(a, "local-repo-aaaaaaaa"), mirrored(b, "local-repo-bbbbbbbb")},
			remove:  []string{"local-repo-aaaaaaaa"},
		},
		"a deleted object is forgotten while its snapshot is there, and is not created again": {
			snaps:   []restic.Snapshot{a, b},
			objects: []repositoriesv1alpha1.Snapshot{deleted(mirrored(a, "local-repo-aaaaaaaa")), mirrored(b, "local-repo-bbbbbbbb")},
			forget:  []string{"local-repo-aaaaaaaa"},
		},
		"a deleted object whose snapshot is gone is only released": {
			snaps:   []restic.Snapshot{b},
			objects: []repositoriesv1alpha1.Snapshot{deleted(mirrored(a, "local-repo-aaaaaaaa")), mirrored(b, "local-repo-bbbbbbbb")},
			release: []string{"local-repo-aaaaaaaa"},
		},
		"the garbage collector's delete of an earlier Repository's object forgets nothing": {
			snaps:   []restic.Snapshot{a},
			objects: []repositoriesv1alpha1.Snapshot{earlier},
			release: []string{"local-repo-aaaaaaaa"},
		},
		"a deleted object without our finalizer is left to the API server": {
			snaps:   []restic.Snapshot{b},
			objects: []repositoriesv1alpha1.Snapshot{notOurs},
		},
		"an edited object is rewritten from the repository": {
			snaps:   []restic.Snapshot{b},
			objects: []repositoriesv1alpha1.Snapshot{edited},
			update:  []string{"local-repo-bbbbbbbb"},
		},
		"a short id already taken gets a longer name; the object keeps its own": {
			snaps:   []restic.Snapshot{a, aTwin},
			objects: []repositoriesv1alpha1.Snapshot{mirrored(a, "local-repo-aaaaaaaa")},
			create:  []string{"local-repo-aaaaaaaa9"},
		},
		"two objects of one snapshot: the second goes": {
			snaps:   []restic.Snapshot{a},
			objects: []repositoriesv1alpha1.Snapshot{mirrored(a, "local-repo-aaaaaaaa"), mirrored(a, "local-repo-aaaaaaaa1")},
			remove:  []string{"local-repo-aaaaaaaa1"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := PlanSync(repo, tc.snaps, tc.objects)
			for list, got := range map[string]struct{ got, want []string }{
				"create": {names(p.Create), tc.create}, "update": {names(p.Update), tc.update},
				"remove": {names(p.Remove), tc.remove}, "forget": {names(p.Forget), tc.forget},
				"release": {names(p.Release), tc.release},
			} {
				if !slices.Equal(got.got, got.want) {
					t.Errorf("%s = %q, want %q", list, got.got, got.want)
				}
			}
		})
	}
}

func TestObjectHoldsV09Fields(t *testing.T) {
	s := snap("aaaaaaaa11111111", "host-0")
	s.Tree, s.Username, s.UID, s.GID, s.Tags = "tree1", "root", 0, 0, []string{"nightly"}
	s.Summary = &restic.SnapshotSummary{TotalBytesProcessed: 3 << 20}
	obj := Object(repo, s, "local-repo-aaaaaaaa")
	if got := obj.Labels; got["repository"] != "local-repo" || got["hostname"] != "host-0" {
		t.Errorf("labels = %v, want repository and hostname", got)
	}
	if st := obj.Status; st.ID != s.ID || st.Repository != "local-repo" || st.Tree != "tree1" || st.Username != "root" ||
		!slices.Equal(st.Paths, []string{"/data"}) || !slices.Equal(st.Tags, []string{"nightly"}) ||
		st.Size != "3.0 MiB" || *st.SizeBytes != 3<<20 || !st.Time.Time.Equal(s.Time.Truncate(time.Second)) {
		t.Errorf("status = %+v", st)
	}
	if o := obj.OwnerReferences; len(o) != 1 || o[0].Kind != "Repository" || o[0].UID != "u1" {
		t.Errorf("owner references = %+v, want the Repository", o)
	}
	if !slices.Contains(obj.Finalizers, repositoriesv1alpha1.ForgetFinalizer) {
		t.Errorf("finalizers = %v, want %s", obj.Finalizers, repositoriesv1alpha1.ForgetFinalizer)
	}
	long := snap("cccccccc33333333", "a host name that is no label value")
	if _, ok := Object(repo, long, "x").Labels["hostname"]; ok {
		t.Error("a host name that is not a label value was put in a label")
	}
}

// BenchmarkPlanSync10000: the plan of a sync of a mirrored repository of
// 10,000 snapshots, which every sync makes.
func BenchmarkPlanSync10000(b *testing.B) {
	snaps := make([]restic.Snapshot, 10000)
	objects := make([]repositoriesv1alpha1.Snapshot, len(snaps))
	for i := range snaps {
		snaps[i] = snap(fmt.Sprintf("%08x%08x", i, i), "host-0")
		objects[i] = mirrored(snaps[i], "local-repo-"+snaps[i].ShortID)
	}
	for b.Loop() {
		if p := PlanSync(repo, snaps, objects); !p.Empty() {
			b.Fatal("a sync of a mirrored repository plans writes")
		}
	}
}
