package operator

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/podsecurity"
	"github.com/stash-operator/stash/internal/testenv"
)

// In a namespace that enforces Pod Security "restricted", the API server
// itself admits the pod of every Job the operator makes there: backups of a
// claim (with a hook) and of a database, a database restore, a claim
// restore that asks to run as a user, a wipe-out. The claim restore that
// runs as root to restore the files' owners gets no Job, and its session
// says why and what to do.
func TestJobsUnderPodSecurityRestricted(t *testing.T) {
	e := testenv.NewEnv(t, time.Now())
	var ns corev1.Namespace
	if err := e.Client.Get(e.Ctx, client.ObjectKey{Name: e.Namespace}, &ns); err != nil {
		t.Fatal(err)
	}
	e.Update(&ns, func() { ns.Labels[podsecurity.EnforceLabel] = "restricted" })
	objs := startWithEveryJob(e, "data-backup", "db-backup")
	e.Apply("testdata/pod-security-restores.yaml")
	for _, name := range []string{"data-backup-1", "db-backup-1", "db-restore", "data-as-user-restore"} {
		e.WaitForJob(jobOf(name))
	}

	root := &stashv1beta1.RestoreSession{}
	root.Name = "data-restore"
	c := e.WaitForPhase(root, stashv1beta1.SessionFailed, stashv1beta1.ReasonPodSecurityForbidden)
	if err := testenv.ContainsAll(c.Message, `namespace "`+e.Namespace+`" enforces Pod Security "restricted"`,
		`container "pvc-restore-0" runs as root`, "restore the files' owners", "pod-security.kubernetes.io/enforce=baseline"); err != nil {
		t.Error(err)
	}
	if e.Exists(&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: jobOf("data-restore")}}) {
		t.Error("the root restore got a Job the namespace cannot run")
	}

	if err := e.Client.Delete(e.Ctx, &stashv1alpha1.Repository{ObjectMeta: objs["Repository/repo"].(*stashv1alpha1.Repository).ObjectMeta}); err != nil {
		t.Fatal(err)
	}
	e.WaitForJob("stash-wipeout-repo")

	jobs := e.Jobs()
	if len(jobs) != 5 {
		t.Errorf("%d Jobs, want 5: two backups, two restores, one wipe-out", len(jobs))
	}
	for _, job := range jobs {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: job.Name, Namespace: job.Namespace, Labels: job.Spec.Template.Labels},
			Spec:       job.Spec.Template.Spec,
		}
		if err := e.Client.Create(e.Ctx, pod, client.DryRunAll); err != nil {
			t.Errorf("the pod of Job %s is refused: %v", job.Name, err)
		}
	}
	// The check is the API server's: a pod of the root restore is refused.
	restore := e.WaitForJob(jobOf("data-as-user-restore"))
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "as-root", Namespace: e.Namespace}, Spec: *restore.Spec.Template.Spec.DeepCopy()}
	pod.Spec.InitContainers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: new(int64)}
	err := e.Client.Create(e.Ctx, pod, client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), `violates PodSecurity "restricted`) {
		t.Errorf("a root restore pod: %v, want refused by PodSecurity", err)
	}
}
