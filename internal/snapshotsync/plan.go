// Package snapshotsync decides how the Snapshot objects of a Repository
// follow the restic snapshots in it, and when the operator runs the Job
// that makes them follow. It has no Kubernetes client: the sync command
// (internal/function) and the Repository controller act on its answers.
package snapshotsync

import (
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	repositoriesv1alpha1 "github.com/stash-operator/stash/api/repositories/v1alpha1"
	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/restic"
	"github.com/stash-operator/stash/internal/text"
)

// Plan is what one sync does; each list holds objects ready to write.
type Plan struct {
	// Create: snapshots in the repository without an object.
	Create []*repositoriesv1alpha1.Snapshot
	// Update: objects whose fields someone edited, rewritten from the
	// repository.
	Update []*repositoriesv1alpha1.Snapshot
	// Remove: objects whose snapshot is no longer in the repository
	// (retention forgot it, or another tool did): their finalizer goes and
	// they are deleted, without forgetting anything.
	Remove []*repositoriesv1alpha1.Snapshot
	// Forget: objects being deleted whose snapshot is still in the
	// repository. Once forgotten, their finalizer goes.
	Forget []*repositoriesv1alpha1.Snapshot
	// Release: objects being deleted whose snapshot is already gone: only
	// their finalizer goes.
	Release []*repositoriesv1alpha1.Snapshot
}

// Empty reports whether the sync has nothing to write.
func (p Plan) Empty() bool {
	return len(p.Create)+len(p.Update)+len(p.Remove)+len(p.Forget)+len(p.Release) == 0
}

// Deleting reports whether obj was deleted and waits for its snapshot to
// be forgotten.
func Deleting(obj *repositoriesv1alpha1.Snapshot) bool {
	return obj.DeletionTimestamp != nil && slices.Contains(obj.Finalizers, repositoriesv1alpha1.ForgetFinalizer)
}

// OwnedBy reports whether obj belongs to repo itself, not to an earlier
// Repository of the same name.
func OwnedBy(obj metav1.Object, repo *stashv1alpha1.Repository) bool {
	for _, o := range obj.GetOwnerReferences() {
		if o.Kind == "Repository" && o.UID == repo.UID {
			return true
		}
	}
	return false
}

// RepositoryLabel is the value of the repository label of repo's objects:
// its name, as Stash v0.9 selected them (-l repository=NAME), or for a
// name longer than a label value may be, a shortened one.
func RepositoryLabel(repository string) string { return naming.Join(repository) }

// PlanSync matches the objects of repo (those labelled with its name) to
// the snapshots listed in it, by full id. Objects are never renamed: a
// new snapshot whose short id an object already uses gets a longer name.
func PlanSync(repo *stashv1alpha1.Repository, snaps []restic.Snapshot, objects []repositoriesv1alpha1.Snapshot) Plan {
	inRepo := make(map[string]restic.Snapshot, len(snaps))
	for _, s := range snaps {
		inRepo[s.ID] = s
	}
	var p Plan
	mirrored := make(map[string]bool, len(objects))
	taken := make(map[string]bool, len(objects))
	for i := range objects {
		obj := &objects[i]
		taken[obj.Name] = true
		snap, present := inRepo[obj.Status.ID]
		switch {
		case obj.DeletionTimestamp != nil:
			mirrored[obj.Status.ID] = true // deleted: never created again
			if !Deleting(obj) {
				continue
			}
			// Only a user's delete of this Repository's object forgets: an
			// object of an earlier Repository of that name goes with it
			// (the garbage collector deletes it), and its data stays.
			if present && OwnedBy(obj, repo) {
				p.Forget = append(p.Forget, obj.DeepCopy())
			} else {
				p.Release = append(p.Release, obj.DeepCopy())
			}
		case !present || mirrored[obj.Status.ID]:
			// Gone from the repository, or a second object of one snapshot.
			p.Remove = append(p.Remove, obj.DeepCopy())
		default:
			mirrored[obj.Status.ID] = true
			want := Status(repo.Name, snap)
			want.Conditions = obj.Status.Conditions
			if !equality.Semantic.DeepEqual(obj.Status, want) {
				updated := obj.DeepCopy()
				updated.Status = want
				p.Update = append(p.Update, updated)
			}
		}
	}
	for _, s := range snaps {
		if mirrored[s.ID] {
			continue
		}
		mirrored[s.ID] = true
		obj := Object(repo, s, nameFor(repo.Name, s.ID, taken))
		taken[obj.Name] = true
		p.Create = append(p.Create, obj)
	}
	return p
}

// nameFor is `<repository>-<short id>` as Stash v0.9 named snapshots,
// with as many more characters of the id as it takes to be unique.
func nameFor(repository, id string, taken map[string]bool) string {
	for n := min(8, len(id)); ; n++ {
		name := naming.Join(repository, id[:n])
		if !taken[name] || n >= len(id) {
			return name
		}
	}
}

// Object is the Snapshot object of snap in repo, owned by repo (so that it
// goes with it) and held by the forget finalizer.
func Object(repo *stashv1alpha1.Repository, snap restic.Snapshot, name string) *repositoriesv1alpha1.Snapshot {
	labels := map[string]string{repositoriesv1alpha1.RepositoryLabel: RepositoryLabel(repo.Name)}
	// A label value has to be short and plain; a host that is not is still
	// in status.hostname.
	if len(validation.IsValidLabelValue(snap.Hostname)) == 0 {
		labels[repositoriesv1alpha1.HostnameLabel] = snap.Hostname
	}
	return &repositoriesv1alpha1.Snapshot{
		TypeMeta: metav1.TypeMeta{APIVersion: repositoriesv1alpha1.GroupVersion.String(), Kind: "Snapshot"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: repo.Namespace, Labels: labels,
			Finalizers: []string{repositoriesv1alpha1.ForgetFinalizer},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: stashv1alpha1.GroupVersion.String(), Kind: "Repository", Name: repo.Name, UID: repo.UID,
			}},
		},
		Status: Status(repo.Name, snap),
	}
}

// Status holds what restic recorded of snap.
func Status(repository string, snap restic.Snapshot) repositoriesv1alpha1.SnapshotStatus {
	st := repositoriesv1alpha1.SnapshotStatus{
		// The API keeps whole seconds; so does the comparison with an
		// object read back.
		ID: snap.ID, Repository: repository, Time: ptr.To(metav1.NewTime(snap.Time.UTC().Truncate(time.Second))),
		Tree: snap.Tree, Paths: nilIfEmpty(snap.Paths), Hostname: snap.Hostname, Username: snap.Username,
		UID: snap.UID, Gid: snap.GID, Tags: nilIfEmpty(snap.Tags),
	}
	if snap.Summary != nil {
		st.SizeBytes = ptr.To(snap.Summary.TotalBytesProcessed)
		st.Size = text.Bytes(uint64(max(snap.Summary.TotalBytesProcessed, 0)))
	}
	return st
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
