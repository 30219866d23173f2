package function

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	repositoriesv1alpha1 "github.com/stash-operator/stash/api/repositories/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/restic"
	"github.com/stash-operator/stash/internal/testenv"
)

// syncFixture is a Repository in a real API server whose data is a real
// restic repository on local disk.
type syncFixture struct {
	e    *testenv.Env
	repo *stashv1alpha1.Repository
	opts SyncSnapshotsOptions
	src  string
}

func newSyncFixture(t *testing.T) *syncFixture {
	e := testenv.NewEnv(t, time.Now())
	repo := &stashv1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: "local-repo", Namespace: e.Namespace},
		Spec: stashv1alpha1.RepositorySpec{Backend: stashv1alpha1.Backend{StorageSecretName: "s",
			Local: &stashv1alpha1.LocalSpec{MountPath: "/repo"}}},
	}
	e.Create(repo)
	s := localSetup(t, "sync-password")
	s.PodNamespace = e.Namespace
	s.LockHolder = PodHolder(e.Client, e.Namespace)
	return &syncFixture{e: e, repo: repo, src: t.TempDir(),
		opts: SyncSnapshotsOptions{Setup: s, Namespace: e.Namespace, Repository: repo.Name, RepositoryUID: string(repo.UID)}}
}

// backup takes one snapshot of f.src as host and returns its id.
func (f *syncFixture) backup(host string) string {
	f.e.T.Helper()
	if err := os.WriteFile(filepath.Join(f.src, "data"), []byte(host+time.Now().String()), 0o644); err != nil {
		f.e.T.Fatal(err)
	}
	o := BackupPVCOptions{Setup: f.opts.Setup, BackupPaths: []string{f.src}}
	o.Hostname = host
	out := BackupPVC(f.e.Ctx, o)
	if out.Failed() {
		f.e.T.Fatalf("backup %s: %+v", host, out.HostBackupStats)
	}
	ids := f.resticIDs()
	return ids[len(ids)-1]
}

// resticIDs are the snapshots restic itself lists, oldest first.
func (f *syncFixture) resticIDs() []string {
	f.e.T.Helper()
	repo, err := f.opts.NewRepo()
	if err != nil {
		f.e.T.Fatal(err)
	}
	snaps, err := repo.Snapshots(f.e.Ctx, restic.SnapshotFilter{})
	if err != nil {
		f.e.T.Fatal(err)
	}
	ids := make([]string, len(snaps))
	for i, s := range snaps {
		ids[i] = s.ID
	}
	return ids
}

func (f *syncFixture) sync() (string, error) {
	var out bytes.Buffer
	err := SyncSnapshots(f.e.Ctx, f.e.Client, f.opts, &out)
	return out.String(), err
}

// objects are the Repository's Snapshot objects by id.
func (f *syncFixture) objects() map[string]repositoriesv1alpha1.Snapshot {
	f.e.T.Helper()
	var list repositoriesv1alpha1.SnapshotList
	if err := f.e.Client.List(f.e.Ctx, &list, client.InNamespace(f.e.Namespace),
		client.MatchingLabels{"repository": f.repo.Name}); err != nil {
		f.e.T.Fatal(err)
	}
	byID := map[string]repositoriesv1alpha1.Snapshot{}
	for _, s := range list.Items {
		byID[s.Status.ID] = s
	}
	return byID
}

func (f *syncFixture) mirrors() error {
	want := f.resticIDs()
	sort.Strings(want)
	if got := slices.Sorted(maps.Keys(f.objects())); !slices.Equal(got, want) {
		return fmt.Errorf("Snapshot objects hold %q, restic lists %q", got, want)
	}
	return nil
}

func TestSyncSnapshotsMirrorsTheRepository(t *testing.T) {
	f := newSyncFixture(t)
	if out, err := f.sync(); err != nil || !strings.Contains(out, "0 snapshots") {
		t.Fatalf("sync of a repository not yet initialised: %v\n%s", err, out)
	}
	first := f.backup("host-0")
	f.backup("host-1")
	if out, err := f.sync(); err != nil || !strings.Contains(out, "2 snapshots in Repository "+f.e.Namespace+"/local-repo: 2 created") {
		t.Fatalf("first sync: %v\n%s", err, out)
	}
	if err := f.mirrors(); err != nil {
		t.Fatal(err)
	}
	obj := f.objects()[first]
	if obj.Name != "local-repo-"+first[:8] || obj.Labels["hostname"] != "host-0" || obj.Status.Hostname != "host-0" ||
		!slices.Equal(obj.Status.Paths, []string{f.src}) || obj.Status.Size == "" || obj.Status.Time == nil {
		t.Errorf("Snapshot of the first backup: name %s, labels %v, status %+v", obj.Name, obj.Labels, obj.Status)
	}

	t.Run("a second sync with nothing new writes nothing", func(t *testing.T) {
		out, err := f.sync()
		if err != nil || !strings.Contains(out, ": 0 created, 0 rewritten, 0 removed") {
			t.Fatalf("%v\n%s", err, out)
		}
	})
	t.Run("a snapshot another tool forgot is removed", func(t *testing.T) {
		repo, _ := f.opts.NewRepo()
		if err := repo.ForgetIDs(f.e.Ctx, first); err != nil {
			t.Fatal(err)
		}
		if out, err := f.sync(); err != nil || !strings.Contains(out, "1 removed") {
			t.Fatalf("%v\n%s", err, out)
		}
		if err := f.mirrors(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("deleting an object forgets its snapshot", func(t *testing.T) {
		keep := f.backup("host-0")
		f.backup("host-0")
		if _, err := f.sync(); err != nil {
			t.Fatal(err)
		}
		before := f.resticIDs()
		victim := f.objects()[before[len(before)-1]]
		if err := f.e.Client.Delete(f.e.Ctx, &victim); err != nil {
			t.Fatal(err)
		}
		if !f.e.Exists(&victim) {
			t.Fatal("the deleted Snapshot went at once: it has no forget finalizer")
		}
		out, err := f.sync()
		if err != nil || !strings.Contains(out, "1 forgotten") {
			t.Fatalf("%v\n%s", err, out)
		}
		after := f.resticIDs()
		if slices.Contains(after, victim.Status.ID) || !slices.Contains(after, keep) || len(after) != len(before)-1 {
			t.Fatalf("restic lists %q after deleting %s from %q", after, victim.Status.ID, before)
		}
		if f.e.Exists(&victim) {
			t.Fatal("the Snapshot object stays after its snapshot was forgotten")
		}
		if err := f.mirrors(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an edited object is rewritten", func(t *testing.T) {
		obj := f.objects()[f.resticIDs()[0]]
		f.e.Update(&obj, func() { obj.Status.Hostname = "edited" })
		if out, err := f.sync(); err != nil || !strings.Contains(out, "1 rewritten") {
			t.Fatalf("%v\n%s", err, out)
		}
		if got := f.objects()[obj.Status.ID].Status.Hostname; got == "edited" {
			t.Fatal("the edited hostname stayed")
		}
	})
}

// deletedSnapshot backs up once, syncs, and deletes the backup's Snapshot
// object as a user does: it waits on its finalizer.
func (f *syncFixture) deletedSnapshot() (string, repositoriesv1alpha1.Snapshot) {
	f.e.T.Helper()
	id := f.backup("host-0")
	if _, err := f.sync(); err != nil {
		f.e.T.Fatal(err)
	}
	obj := f.objects()[id]
	if err := f.e.Client.Delete(f.e.Ctx, &obj); err != nil {
		f.e.T.Fatal(err)
	}
	return id, obj
}

func TestSyncSnapshotsRecordsAFailedForget(t *testing.T) {
	f := newSyncFixture(t)
	id, _ := f.deletedSnapshot()
	// A lock whose holder nobody can tell is respected: the forget waits it
	// out and fails; the listing needs no lock.
	f.opts.LockWait = 2 * time.Second
	leaveLock(t, f.opts.Setup, "another-machine", false)
	_, err := f.sync()
	if err == nil {
		t.Fatal("the sync succeeded although the repository was locked")
	}
	if !slices.Contains(f.resticIDs(), id) {
		t.Fatal("the snapshot is gone although the forget failed")
	}
	got := f.objects()[id]
	c := meta.FindStatusCondition(got.Status.Conditions, repositoriesv1alpha1.ConditionForgotten)
	if got.Name == "" || c == nil || c.Status != metav1.ConditionFalse || c.Reason != repositoriesv1alpha1.ReasonForgetFailed ||
		!strings.Contains(c.Message, "restic forget failed") {
		t.Fatalf("Snapshot after the failed forget: %+v", got.Status)
	}
	if strings.Contains(c.Message, "sync-password") {
		t.Fatalf("the condition holds the password: %s", c.Message)
	}
}

// A sync whose Repository was replaced by another of the same name (or is
// being deleted) forgets nothing: the objects go with their Repository.
func TestSyncSnapshotsForgetsNothingForAReplacedRepository(t *testing.T) {
	f := newSyncFixture(t)
	id, obj := f.deletedSnapshot()
	f.opts.RepositoryUID = "the-uid-of-an-earlier-repository" // the Job's Repository is not the one that stands
	f.e.Update(&obj, func() { obj.OwnerReferences[0].UID = "the-uid-of-an-earlier-repository" })
	out, err := f.sync()
	if err != nil || !strings.Contains(out, "forgetting nothing: the Repository was replaced") {
		t.Fatalf("%v\n%s", err, out)
	}
	if !slices.Contains(f.resticIDs(), id) {
		t.Fatal("the snapshot was forgotten")
	}
}
