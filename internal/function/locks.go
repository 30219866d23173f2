package function

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/restic"
)

// A backup whose restic was killed, or whose pod was deleted, leaves its
// lock in the repository. Its host name is the pod's, which no other pod
// has, so restic on the next backup's pod cannot tell the lock is stale and
// respects it for 30 minutes: the next backup's retention waits and fails.
// But this Job can tell: the lock's pod, or the Job it belonged to, is one
// of the namespace's, and it has ended. (The Job's Role allows reading
// them: internal/controller/jobrbac.)

// serviceAccountNamespace is where a pod's namespace is mounted.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// clearDeadLocks removes the repository's locks (as just listed) when every one of them is
// stale by restic's rule or held by a pod of this namespace that has ended.
// It only ever helps: when it cannot tell (no lock, no cluster to ask), it
// leaves the locks to restic.
func (s *Setup) clearDeadLocks(ctx context.Context, repo *restic.Repo, locks []restic.Lock) error {
	if len(locks) == 0 {
		return nil
	}
	holder := s.LockHolder
	if holder == nil {
		holder = s.podHolder()
	}
	if holder == nil || !restic.DeadLocks(locks, time.Now(), func(l restic.Lock) restic.Holder { return holder(ctx, l.Hostname) }) {
		return nil
	}
	hosts := make([]string, len(locks))
	for i, l := range locks {
		hosts[i] = l.Hostname
	}
	s.logf("removing %d stale lock(s) left by pods that have ended: %s", len(locks), strings.Join(hosts, ", "))
	return repo.RemoveAllLocks(ctx)
}

// podHolder tells, from the API server, whether the pod that is a lock's
// holder (restic names the host it runs on: the pod) has ended. nil outside
// a cluster.
func (s *Setup) podHolder() func(context.Context, string) restic.Holder {
	namespace := s.PodNamespace
	if namespace == "" {
		b, err := os.ReadFile(serviceAccountNamespace)
		if err != nil {
			return nil
		}
		namespace = strings.TrimSpace(string(b))
	}
	c, err := kube.NewClient("")
	if err != nil {
		s.logf("cannot judge the repository's locks: %v", err)
		return nil
	}
	return PodHolder(c, namespace)
}

// podNameSuffix is what the Job controller appends to a Job's name to name
// its pod.
var podNameSuffix = regexp.MustCompile(`-[a-z0-9]{5}$`)

// PodHolder is what the API server, read through c, says of the pod named
// host in namespace: it runs, it has ended (its phase; being deleted with
// no container left running; or gone while the stash Job that made it is
// still there), or nothing is known (another namespace, another tool, no
// permission).
func PodHolder(c client.Reader, namespace string) func(context.Context, string) restic.Holder {
	return func(ctx context.Context, host string) restic.Holder {
		if host == "" {
			return restic.HolderUnknown
		}
		var pod corev1.Pod
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: host}, &pod)
		switch {
		case err == nil && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || (pod.DeletionTimestamp != nil && !anyRunning(&pod))):
			return restic.HolderGone
		case err == nil:
			return restic.HolderRuns
		case !apierrors.IsNotFound(err):
			return restic.HolderUnknown
		}
		jobName := podNameSuffix.ReplaceAllString(host, "")
		if jobName == host {
			return restic.HolderUnknown
		}
		var job batchv1.Job
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: jobName}, &job); err != nil {
			return restic.HolderUnknown
		}
		if job.Labels[naming.ManagedByLabel] != naming.ManagedByStash {
			return restic.HolderUnknown
		}
		return restic.HolderGone
	}
}

// anyRunning: some container of pod runs (a pod being deleted still shows
// phase Running until the kubelet has stopped its containers).
func anyRunning(pod *corev1.Pod) bool {
	for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if cs.State.Running != nil {
			return true
		}
	}
	return false
}

// withLocksCleared runs op, a command that takes a lock of the repository,
// first failing at once on a lock; when one is in the way
// it removes the locks of pods that have ended and runs op again, waiting
// for what locks remain (another Job's backup that runs).
func (s *Setup) withLocksCleared(ctx context.Context, repo *restic.Repo, op func(*restic.Repo) error) error {
	err := op(repo.FailingOnLocks())
	if !errors.Is(err, restic.ErrLocked) {
		return err
	}
	locks, lerr := repo.Locks(ctx)
	if lerr != nil {
		return err
	}
	if cerr := s.clearDeadLocks(ctx, repo, locks); cerr != nil {
		s.logf("could not judge the repository's locks (restic will wait for them): %v", cerr)
	}
	return op(repo)
}
