package repository

import (
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

// SnapshotsJob runs `stash sync-snapshots` for repo under the account
// SnapshotsAccount makes, which may write the namespace's Snapshots.
func SnapshotsJob(repo *stashv1alpha1.Repository, image string, pullPolicy corev1.PullPolicy) (*batchv1.Job, error) {
	return repositoryJob(repo, repositoryCommand{
		name: SnapshotsJobName(repo.Name), component: "stash-snapshots", command: "sync-snapshots",
		args: []string{"--namespace=" + repo.Namespace, "--repository=" + repo.Name, "--repository-uid=" + string(repo.UID)},
		// A failure is recorded and retried with a back-off by the
		// operator (snapshotsync.Due), with the failed pod's log kept.
		backoffLimit:   0,
		serviceAccount: SnapshotsJobName(repo.Name),
	}, image, pullPolicy)
}

// repositoryCommand is a stash command that works on a whole repository.
type repositoryCommand struct {
	name, component, command string
	args                     []string
	backoffLimit             int32
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
			BackoffLimit: ptr.To(c.backoffLimit),
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
