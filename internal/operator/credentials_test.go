package operator

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/resolve"
	"github.com/stash-operator/stash/internal/testenv"
)

// userinfoURL is a URL with a password in it.
var userinfoURL = regexp.MustCompile(`://[^/\s@:]+:[^/\s@]+@`)

// jobStrings are the strings of a Job anyone who may read Jobs sees: the
// annotations of the Job and its pod, and each container's command, args
// and env values, each with where it is.
func jobStrings(job *batchv1.Job) map[string]string {
	out := map[string]string{}
	for k, v := range job.Annotations {
		out["metadata.annotations."+k] = v
	}
	for k, v := range job.Spec.Template.Annotations {
		out["spec.template.metadata.annotations."+k] = v
	}
	pod := job.Spec.Template.Spec
	for _, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
		for i, s := range append(append([]string{}, c.Command...), c.Args...) {
			out[fmt.Sprintf("container %s command+args[%d]", c.Name, i)] = s
		}
		for _, env := range c.Env {
			out[fmt.Sprintf("container %s env %s", c.Name, env.Name)] = env.Value
		}
	}
	return out
}

// Secrets never leave Secrets: every Job the operator makes for a backup,
// a restore (of a claim and of a database, with hooks) and a wipe-out
// carries no Secret value and no URL with a password, in its arguments,
// environment or annotations; nor do the sessions' status and the events.
// A REST Repository whose URL holds a password gets no Job at all: not for
// a backup, not for wiping it out.
func TestNoCredentialsInAnyJob(t *testing.T) {
	e := testenv.NewEnv(t, time.Now())
	objs := startWithEveryJob(e, "data-backup", "db-backup", "leaky-backup")
	var values []string
	for _, o := range objs {
		if s, ok := o.(*corev1.Secret); ok {
			for _, v := range s.StringData {
				if len(v) >= 8 { // "postgres" is a user name, not a secret
					values = append(values, v)
				}
			}
		}
	}
	values = append(values, "rest-pw-0d4e8b") // the REST URL's password

	for _, name := range []string{"data-backup-1", "db-backup-1", "data-restore", "db-restore"} {
		e.WaitForJob(jobOf(name))
	}
	leaky := &stashv1beta1.BackupSession{}
	leaky.Name = "leaky-backup-1"
	c := e.WaitForPhase(leaky, stashv1beta1.SessionFailed, stashv1beta1.ReasonJobCreationFailed)
	if err := testenv.ContainsAll(c.Message, "rest.url http://REDACTED@rest.storage.svc:8000/leaks contains credentials"); err != nil {
		t.Error(err)
	}

	// Wiping out: the s3 Repository gets its Job, the REST one a reason.
	for _, name := range []string{"repo", "leaky"} {
		if err := e.Client.Delete(e.Ctx, &stashv1alpha1.Repository{ObjectMeta: objs["Repository/"+name].(*stashv1alpha1.Repository).ObjectMeta}); err != nil {
			t.Fatal(err)
		}
	}
	e.WaitForJob("stash-wipeout-repo")
	e.Eventually("leaky's WipedOut=False", func() error {
		var repo stashv1alpha1.Repository
		if err := e.Get("leaky", &repo); err != nil {
			return err
		}
		c := conditions.Get(repo.Status.Conditions, stashv1beta1.ConditionWipedOut)
		if c == nil || c.Reason != string(stashv1beta1.ReasonWipeOutFailed) {
			return fmt.Errorf("WipedOut = %+v", c)
		}
		return testenv.ContainsAll(c.Message, "contains credentials")
	})

	jobs := e.Jobs()
	if len(jobs) != 5 {
		t.Errorf("%d Jobs, want 5: two backups, two restores, one wipe-out", len(jobs))
	}
	check := func(what, s string) {
		for _, v := range values {
			if strings.Contains(s, v) {
				t.Errorf("%s holds the Secret value %q: %s", what, v, s)
			}
		}
		if userinfoURL.MatchString(s) {
			t.Errorf("%s holds a URL with a password: %s", what, s)
		}
	}
	for i := range jobs {
		for where, s := range jobStrings(&jobs[i]) {
			check("Job "+jobs[i].Name+" "+where, s)
		}
	}
	var sessions stashv1beta1.BackupSessionList
	var restores stashv1beta1.RestoreSessionList
	var repos stashv1alpha1.RepositoryList
	var events eventsv1.EventList
	for _, list := range []client.ObjectList{&sessions, &restores, &repos, &events} {
		if err := e.Client.List(e.Ctx, list, client.InNamespace(e.Namespace)); err != nil {
			t.Fatal(err)
		}
	}
	for _, bs := range sessions.Items {
		for _, c := range bs.Status.Conditions {
			check("BackupSession "+bs.Name+" condition "+c.Type, c.Message)
		}
	}
	for _, rs := range restores.Items {
		for _, c := range rs.Status.Conditions {
			check("RestoreSession "+rs.Name+" condition "+c.Type, c.Message)
		}
	}
	for _, r := range repos.Items {
		for _, c := range r.Status.Conditions {
			check("Repository "+r.Name+" condition "+c.Type, c.Message)
		}
	}
	for _, ev := range events.Items {
		check("Event "+ev.Reason+" about "+ev.Regarding.Name, ev.Note)
	}
}

// startWithEveryJob runs the operator under its own RBAC on the fixture of
// every kind of Job (testdata/credentials-*.yaml): it starts a session of
// each of backups, and the restores. It returns the objects.
func startWithEveryJob(e *testenv.Env, backups ...string) map[string]client.Object {
	e.T.Helper()
	e.StartManager(testenv.ManagerOptions{AsOperator: true}, func(mgr manager.Manager, _ clock.PassiveClock) error {
		return Setup(mgr, Options{Image: "stash:test", JobImagePullPolicy: corev1.PullIfNotPresent, Clock: e.Clock})
	})
	e.InstallCatalog()
	objs := e.Apply("testdata/credentials-everywhere.yaml")
	for _, name := range backups {
		bc := &stashv1beta1.BackupConfiguration{}
		if err := e.Get(name, bc); err != nil {
			e.T.Fatal(err)
		}
		e.Create(resolve.NewBackupSession(bc, name+"-1"))
	}
	e.Apply("testdata/credentials-restores.yaml")
	return objs
}

// jobOf is the Job of host 0 of a session of the fixture.
func jobOf(session string) string {
	if strings.HasSuffix(session, "-restore") {
		return naming.Restore.JobName(session, 0)
	}
	return naming.Backup.JobName(session, 0)
}
