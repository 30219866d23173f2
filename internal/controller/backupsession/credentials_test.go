package backupsession

import (
	"fmt"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/testenv"
)

// jobsMay asks the API server whether the Jobs of the backup invoker may
// do verb on resource (a "resource/subresource") named name.
func jobsMay(e *testenv.Env, invoker, verb, group, resource, subresource, name string) bool {
	e.T.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: fmt.Sprintf("system:serviceaccount:%s:%s", e.Namespace, naming.Backup.ServiceAccountName(invoker)),
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: e.Namespace, Verb: verb, Group: group,
			Resource: resource, Subresource: subresource, Name: name},
	}}
	if err := e.Client.Create(e.Ctx, sar); err != nil {
		e.T.Fatalf("SubjectAccessReview: %v", err)
	}
	return sar.Status.Allowed
}

// The confused deputy, tried: an AppBinding that points at a Secret which
// does not allow it gets no Job, and its session says why and what to do;
// the Jobs of an AppBinding whose Secret allows it may read that Secret,
// no other, and write the status of their own Repository only.
func TestCredentialsOnlyFromSecretsThatAllowTheAppBinding(t *testing.T) {
	e := startAsOperator(t)
	e.Apply("testdata/credentials.yaml")

	sneaky := newSession(e, "sneaky-backup", "sneaky-backup-1")
	_, c := waitFor(e, sneaky.Name, stashv1beta1.SessionFailed, stashv1beta1.ReasonJobCreationFailed)
	if err := testenv.ContainsAll(c.Message, `Secret "payroll-db-auth" (AppBinding "sneaky" spec.secret.name) does not allow AppBinding "sneaky" to use it`,
		"kubectl -n "+e.Namespace+" annotate secret payroll-db-auth stash.appscode.com/appbindings=sneaky"); err != nil {
		t.Error(err)
	}
	if jobs := e.Jobs(); len(jobs) != 0 {
		t.Fatalf("%d Jobs for the session of an AppBinding whose Secret does not allow it", len(jobs))
	}
	if jobsMay(e, "sneaky-backup", "get", "", "secrets", "", "payroll-db-auth") {
		t.Error("the Jobs of sneaky-backup may read payroll-db-auth")
	}

	shop := newSession(e, "shop-backup", "shop-backup-1")
	hostsWithJobs(e, shop.Name, 1)
	for _, tc := range []struct {
		verb, group, resource, subresource, name string
		want                                     bool
	}{
		{"get", "", "secrets", "", "shop-db-auth", true},
		{"get", "", "secrets", "", "payroll-db-auth", false},
		{"get", "", "secrets", "", "s3-secret", false}, // the storage Secret is mounted, never read
		{"list", "", "secrets", "", "", false},
		{"update", "stash.appscode.com", "repositories", "status", "s3-repo", true},
		{"update", "stash.appscode.com", "repositories", "status", "other-repo", false},
	} {
		if got := jobsMay(e, "shop-backup", tc.verb, tc.group, tc.resource, tc.subresource, tc.name); got != tc.want {
			t.Errorf("the Jobs of shop-backup may %s %s/%s %q: %v, want %v", tc.verb, tc.resource, tc.subresource, tc.name, got, tc.want)
		}
	}
}

// asJobOf is a client that acts as the Jobs of the backup invoker: their
// ServiceAccount, with its groups.
func asJobOf(e *testenv.Env, invoker string) client.Client {
	e.T.Helper()
	cfg := rest.CopyConfig(testenv.Shared(e.T).Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: fmt.Sprintf("system:serviceaccount:%s:%s", e.Namespace, naming.Backup.ServiceAccountName(invoker)),
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + e.Namespace, "system:authenticated"},
	}
	c, err := client.New(cfg, client.Options{Scheme: kube.Scheme})
	if err != nil {
		e.T.Fatal(err)
	}
	return c
}

// RBAC lets the Jobs of an invoker write the status of any BackupSession
// of their namespace (a session cannot be named before it exists); the
// admission policy of config/policy keeps them to their own: the Jobs of
// timed-backup are refused on data-backup's session, may write their own,
// and may not change the account the session records.
func TestJobsWriteTheStatusOfTheirOwnSessionsOnly(t *testing.T) {
	e := startAsOperatorWith(t, "testdata/pvc-backup.yaml")
	for _, bc := range []string{"data-backup", "timed-backup"} {
		newSession(e, bc, bc+"-1")
		bs := hostsWithJobs(e, bc+"-1", 1)
		if want := naming.Backup.ServiceAccountName(bc); bs.Status.JobServiceAccount != want {
			t.Fatalf("%s records jobServiceAccount %q, want %q", bs.Name, bs.Status.JobServiceAccount, want)
		}
	}
	if !jobsMay(e, "timed-backup", "update", "stash.appscode.com", "backupsessions", "status", "data-backup-1") {
		t.Fatal("RBAC already refuses: the test would not reach the policy")
	}
	timed := asJobOf(e, "timed-backup")
	// The operator writes the sessions too: a conflict is retried.
	write := func(name string, change func(*stashv1beta1.BackupSession)) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var bs stashv1beta1.BackupSession
			if err := e.Get(name, &bs); err != nil {
				return err
			}
			change(&bs)
			return timed.Status().Update(e.Ctx, &bs)
		})
	}
	report := func(bs *stashv1beta1.BackupSession) {
		bs.Status.Targets = []stashv1beta1.BackupTargetStatus{{Stats: []stashv1beta1.HostBackupStats{succeeded("host-0")}}}
	}

	err := write("data-backup-1", report)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "ServiceAccount stash-backup-timed-backup may write the status of its own BackupSessions only; "+
		"BackupSession data-backup-1 runs its Jobs as stash-backup-data-backup") {
		t.Errorf("timed-backup's Jobs writing data-backup-1: %v, want refused by the policy", err)
	}
	if err := write("timed-backup-1", report); err != nil {
		t.Errorf("timed-backup's Jobs writing their own session: %v", err)
	}
	err = write("timed-backup-1", func(bs *stashv1beta1.BackupSession) { bs.Status.JobServiceAccount = "stash-backup-data-backup" })
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "status.jobServiceAccount is set by the operator") {
		t.Errorf("timed-backup's Jobs changing jobServiceAccount: %v, want refused", err)
	}
}
