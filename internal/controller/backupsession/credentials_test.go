package backupsession

import (
	"fmt"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
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
