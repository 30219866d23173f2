package repository

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/podsecurity"
	"github.com/stash-operator/stash/internal/resolve"
)

const secretMountPath = "/etc/repository/secret"

// JobImage is the image the Jobs of a Repository run (the stash binary),
// and its pull policy.
type JobImage struct {
	Image      string
	PullPolicy corev1.PullPolicy
}

// WipeOutJobName is the Job that wipes a Repository's data.
func WipeOutJobName(repository string) string { return naming.Join("stash-wipeout", repository) }

// WipeOutJob runs `stash wipe-repository` against the repository's backend,
// with its storage Secret (and, for the local backend, its volume) mounted.
func WipeOutJob(repo *stashv1alpha1.Repository, image string, pullPolicy corev1.PullPolicy) (*batchv1.Job, error) {
	return repositoryJob(repo, repositoryCommand{
		name: WipeOutJobName(repo.Name), component: "stash-wipeout", command: "wipe-repository",
		// wiping is idempotent: retrying is safe
		backoffLimit: 2,
	}, image, pullPolicy)
}

// SnapshotsJobName is the Job that syncs a Repository's Snapshot objects.
func SnapshotsJobName(repository string) string { return naming.Join("stash-snapshots", repository) }

// AccountName is the ServiceAccount of the Jobs that work on the whole
// repository and talk to the API server (jobrbac.RepositoryRules).
func AccountName(repository string) string { return naming.Join("stash-repository", repository) }

// SnapshotsJob runs `stash sync-snapshots` for repo under AccountName.
func SnapshotsJob(repo *stashv1alpha1.Repository, image string, pullPolicy corev1.PullPolicy) (*batchv1.Job, error) {
	return repositoryJob(repo, repositoryCommand{
		name: SnapshotsJobName(repo.Name), component: "stash-snapshots", command: "sync-snapshots",
		args: []string{"--namespace=" + repo.Namespace, "--repository=" + repo.Name, "--repository-uid=" + string(repo.UID)},
		// A failure is recorded and retried with a back-off by the
		// operator (snapshotsync.Due), with the failed pod's log kept.
		backoffLimit:   0,
		deadline:       SnapshotsJobDeadline,
		serviceAccount: AccountName(repo.Name),
	}, image, pullPolicy)
}

// SnapshotsJobDeadline bounds a sync: a first sync of 10,000 snapshots
// takes minutes, one whose pod cannot start would wait forever.
const SnapshotsJobDeadline = 30 * time.Minute

func activeDeadline(d time.Duration) *int64 {
	if d <= 0 {
		return nil
	}
	return ptr.To(int64(d.Seconds()))
}

// repositoryCommand is a stash command that works on a whole repository.
type repositoryCommand struct {
	name, component, command string
	args                     []string
	backoffLimit             int32
	// deadline, when set, fails the Job after that long (a pod that cannot
	// start, say its Secret is missing, would otherwise wait forever).
	deadline time.Duration
	// serviceAccount, when set, is the pod's account (it talks to the API
	// server); without one the pod gets no token.
	serviceAccount string
}

// repositoryJob runs c against the repository's backend, with its storage
// Secret (and, for the local backend, its volume) mounted.
func repositoryJob(repo *stashv1alpha1.Repository, c repositoryCommand, image string, pullPolicy corev1.PullPolicy) (*batchv1.Job, error) {
	b, err := resolve.BackendOf(repo.Spec.Backend)
	if err != nil {
		return nil, err
	}
	args := append([]string{
		c.command,
		"--provider=" + b.Provider, "--bucket=" + b.Bucket, "--endpoint=" + b.Endpoint, "--region=" + b.Region,
		"--path=" + b.Prefix, "--secret-dir=" + secretMountPath, "--scratch-dir=/tmp", "--enable-cache=false",
	}, c.args...)
	volumes := []corev1.Volume{
		{Name: "secret-volume", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: repo.Spec.Backend.StorageSecretName}}},
		{Name: resolve.TmpDirVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "secret-volume", MountPath: secretMountPath, ReadOnly: true},
		{Name: resolve.TmpDirVolume, MountPath: "/tmp"},
	}
	if local := repo.Spec.Backend.Local; local != nil {
		volumes = append(volumes, corev1.Volume{Name: resolve.LocalBackendVolume, VolumeSource: *local.VolumeSource.DeepCopy()})
		mounts = append(mounts, corev1.VolumeMount{Name: resolve.LocalBackendVolume, MountPath: local.MountPath, SubPath: local.SubPath})
	}
	labels := map[string]string{
		naming.ManagedByLabel:           naming.ManagedByStash, // the operator's cache holds its Jobs only
		naming.ComponentLabel:           c.component,
		"stash.appscode.com/repository": naming.Join(repo.Name),
	}
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: c.name, Namespace: repo.Namespace, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: stashv1alpha1.GroupVersion.String(), Kind: "Repository", Name: repo.Name, UID: repo.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To(c.backoffLimit),
			ActiveDeadlineSeconds: activeDeadline(c.deadline),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           c.serviceAccount,
					AutomountServiceAccountToken: ptr.To(c.serviceAccount != ""),
					Volumes:                      volumes,
					Containers: []corev1.Container{{
						Name: c.command, Image: image, ImagePullPolicy: pullPolicy, Args: args,
						VolumeMounts: mounts, TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						SecurityContext: podsecurity.RestrictedContainer(),
					}},
				},
			},
		},
	}, nil
}

// RequestAnnotation on a Job says which request (the value of the
// Repository's annotation) it answers.
const RequestAnnotation = "stash.appscode.com/request"

// Operation is something a Repository's annotation asks for: a Job runs
// it and records its outcome in the Repository's status.
type Operation struct {
	// Annotation names the request.
	Annotation string
	// Name of the operation, also its Job's prefix (stash-<name>-<repository>).
	Name    string
	command string
	// deadline of its Job, so that a pod that cannot start (its Secret is
	// missing) still gets the request an answer; a day for a check, which
	// reads as much data as it is asked to.
	deadline time.Duration
	// args from the Repository's other annotations.
	args func(annotations map[string]string) []string
	// Outcome is where the status records the last one.
	Outcome func(st *stashv1alpha1.RepositoryStatus) **stashv1alpha1.RepositoryOperation
}

// Operations are unlock (stash unlock) and check (stash check).
var Operations = []Operation{
	{
		Annotation: stashv1alpha1.UnlockAnnotation, Name: "unlock", command: "unlock-repository", deadline: 10 * time.Minute,
		args: func(a map[string]string) []string {
			return []string{"--force=" + fmt.Sprint(a[stashv1alpha1.UnlockForceAnnotation] == "true")}
		},
		Outcome: func(st *stashv1alpha1.RepositoryStatus) **stashv1alpha1.RepositoryOperation { return &st.LastUnlock },
	},
	{
		Annotation: stashv1alpha1.CheckAnnotation, Name: "check", command: "check-repository", deadline: 24 * time.Hour,
		args: func(a map[string]string) []string {
			return []string{"--read-data-subset=" + a[stashv1alpha1.CheckReadDataSubsetAnnotation]}
		},
		Outcome: func(st *stashv1alpha1.RepositoryStatus) **stashv1alpha1.RepositoryOperation { return &st.LastCheck },
	},
}

// JobName is the Job of op on repository.
func (op Operation) JobName(repository string) string {
	return naming.Join("stash-"+op.Name, repository)
}

// Job runs op for the request repo's annotation names, under AccountName.
func (op Operation) Job(repo *stashv1alpha1.Repository, image string, pullPolicy corev1.PullPolicy) (*batchv1.Job, error) {
	request := repo.Annotations[op.Annotation]
	job, err := repositoryJob(repo, repositoryCommand{
		name: op.JobName(repo.Name), component: "stash-" + op.Name, command: op.command,
		args: append([]string{"--namespace=" + repo.Namespace, "--repository=" + repo.Name, "--request=" + request},
			op.args(repo.Annotations)...),
		// The command records its outcome, also a failed one; a Job that
		// fails could not, and the operator records that instead.
		backoffLimit:   0,
		deadline:       op.deadline,
		serviceAccount: AccountName(repo.Name),
	}, image, pullPolicy)
	if err != nil {
		return nil, err
	}
	job.Annotations = map[string]string{RequestAnnotation: request}
	return job, nil
}
