package jobrbac

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/naming"
)

const ns = "demo"

func invoker() *stashv1beta1.BackupConfiguration {
	return &stashv1beta1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "daily", Namespace: ns, UID: "bc-uid"}}
}

func get(t *testing.T, c client.Client, obj client.Object) client.Object {
	t.Helper()
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "stash-backup-daily"}, obj); err != nil {
		t.Fatalf("get %T: %v", obj, err)
	}
	return obj
}

var grants = Grants{Repository: "local-repo", Secrets: []string{"db-auth"}}

// The Role names what it grants: no Secret but the allowed credentials
// (no Secret rule at all without them), the invoker's Repository only, and
// pods/exec only with exec pods.
func TestRules(t *testing.T) {
	find := func(rules []rbacv1.PolicyRule, resource string) *rbacv1.PolicyRule {
		for i := range rules {
			if slices.Contains(rules[i].Resources, resource) {
				return &rules[i]
			}
		}
		return nil
	}
	tests := map[string]struct {
		kind     naming.SessionKind
		grants   Grants
		resource string
		want     []string // the rule's resourceNames; nil: no rule for resource
	}{
		"backup secrets":               {kind: naming.Backup, grants: grants, resource: "secrets", want: []string{"db-auth"}},
		"no credentials, no secrets":   {kind: naming.Backup, grants: Grants{Repository: "r"}, resource: "secrets"},
		"restore secrets":              {kind: naming.Restore, grants: Grants{Secrets: []string{"a", "b"}}, resource: "secrets", want: []string{"a", "b"}},
		"backup repository":            {kind: naming.Backup, grants: grants, resource: "repositories/status", want: []string{"local-repo"}},
		"restore writes no repository": {kind: naming.Restore, grants: grants, resource: "repositories/status"},
		"restore session by name":      {kind: naming.Restore, resource: "restoresessions/status", want: []string{"daily"}},
		"exec pods":                    {kind: naming.Backup, grants: Grants{ExecPods: []string{"db-0"}}, resource: "pods/exec", want: []string{"db-0"}},
		"no exec":                      {kind: naming.Backup, grants: grants, resource: "pods/exec"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rule := find(Rules(tc.kind, "daily", tc.grants), tc.resource)
			switch {
			case tc.want == nil && rule != nil:
				t.Fatalf("a rule for %s: %+v", tc.resource, rule)
			case tc.want != nil && rule == nil:
				t.Fatalf("no rule for %s", tc.resource)
			case tc.want != nil:
				if diff := cmp.Diff(tc.want, rule.ResourceNames); diff != "" {
					t.Errorf("resourceNames (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// Ensure's create-or-repair paths, on a fake client: the envtest suites of
// the session controllers check the result against a real API server.
func TestEnsure(t *testing.T) {
	ctx := context.Background()
	owner := []metav1.OwnerReference{{APIVersion: "stash.appscode.com/v1beta1", Kind: "BackupConfiguration", Name: "daily", UID: "bc-uid"}}
	wantRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "stash-backup-daily"}

	tests := map[string]struct {
		existing []client.Object
		account  string
		check    func(t *testing.T, c client.Client)
	}{
		"creates the account, Role and binding, owned by the invoker": {
			account: "stash-backup-daily",
			check: func(t *testing.T, c client.Client) {
				for _, obj := range []client.Object{&corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{}} {
					if diff := cmp.Diff(owner, get(t, c, obj).GetOwnerReferences()); diff != "" {
						t.Errorf("%T owner (-want +got):\n%s", obj, diff)
					}
				}
				if diff := cmp.Diff(Rules(naming.Backup, "daily", grants), get(t, c, &rbacv1.Role{}).(*rbacv1.Role).Rules); diff != "" {
					t.Errorf("rules (-want +got):\n%s", diff)
				}
				b := get(t, c, &rbacv1.RoleBinding{}).(*rbacv1.RoleBinding)
				want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "stash-backup-daily", Namespace: ns}}
				if diff := cmp.Diff(want, b.Subjects); diff != "" || b.RoleRef != wantRef {
					t.Errorf("binding %v to %v (-want +got subjects):\n%s", b.RoleRef, b.Subjects, diff)
				}
			},
		},
		"a user's account: nothing to do": {
			account: "my-own-account",
			check: func(t *testing.T, c client.Client) {
				err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "stash-backup-daily"}, &corev1.ServiceAccount{})
				if !apierrors.IsNotFound(err) {
					t.Errorf("the operator's account was created for a Job that does not use it: %v", err)
				}
			},
		},
		"an edited Role gets its rules back": {
			existing: []client.Object{&rbacv1.Role{
				ObjectMeta: metav1.ObjectMeta{Name: "stash-backup-daily", Namespace: ns, Labels: map[string]string{"team": "db"}},
				Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
			}},
			account: "stash-backup-daily",
			check: func(t *testing.T, c client.Client) {
				role := get(t, c, &rbacv1.Role{}).(*rbacv1.Role)
				if diff := cmp.Diff(Rules(naming.Backup, "daily", grants), role.Rules); diff != "" {
					t.Errorf("rules (-want +got):\n%s", diff)
				}
				if role.Labels["team"] != "db" || len(role.OwnerReferences) != 1 {
					t.Errorf("labels %v, owners %v: want the user's label kept and the invoker added", role.Labels, role.OwnerReferences)
				}
			},
		},
		"a binding to another role is replaced": {
			existing: []client.Object{&rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "stash-backup-daily", Namespace: ns, UID: "old"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			}},
			account: "stash-backup-daily",
			check: func(t *testing.T, c client.Client) {
				if b := get(t, c, &rbacv1.RoleBinding{}).(*rbacv1.RoleBinding); b.RoleRef != wantRef {
					t.Errorf("roleRef %v, want %v", b.RoleRef, wantRef)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(kube.Scheme).WithObjects(tc.existing...).Build()
			if err := Ensure(ctx, c, invoker(), ns, tc.account, naming.Backup, grants); err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// A second Ensure writes nothing: session starts do not churn RBAC.
func TestEnsureIsIdempotent(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().WithScheme(kube.Scheme).Build()
	if err := Ensure(ctx, c, invoker(), ns, "stash-backup-daily", naming.Backup, grants); err != nil {
		t.Fatal(err)
	}
	objs := []client.Object{&corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{}}
	var before []string
	for _, obj := range objs {
		before = append(before, get(t, c, obj).GetResourceVersion())
	}
	if err := Ensure(ctx, c, invoker(), ns, "stash-backup-daily", naming.Backup, grants); err != nil {
		t.Fatal(err)
	}
	for i, obj := range objs {
		if rv := get(t, c, obj).GetResourceVersion(); rv != before[i] {
			t.Errorf("%T written again: resourceVersion %s, was %s", obj, rv, before[i])
		}
	}
}

// Memo checks an account once per Recheck for the sessions of one invoker,
// at once when the grants or the owner change, and again after Recheck; a
// failed Ensure is not remembered.
func TestMemo(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	other := grants
	other.Secrets = []string{"db-auth", "replica-auth"}
	recreated := invoker()
	recreated.UID = "bc-uid-2"
	type call struct {
		owner  *stashv1beta1.BackupConfiguration
		grants Grants
		after  time.Duration
	}
	tests := map[string]struct {
		second call
		fail   bool // the first Ensure fails
		checks bool // the second call reads the cluster
	}{
		"same invoker and grants soon after: trusted": {second: call{invoker(), grants, time.Minute}},
		"a clock that went back: checked":             {second: call{invoker(), grants, -time.Minute}, checks: true},
		"after Recheck: checked":                      {second: call{invoker(), grants, Recheck}, checks: true},
		"other grants: checked":                       {second: call{invoker(), other, time.Second}, checks: true},
		"an invoker recreated: checked":               {second: call{recreated, grants, time.Second}, checks: true},
		"after a failure: checked":                    {second: call{invoker(), grants, time.Second}, fail: true, checks: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			reads, failing := 0, tc.fail
			c := fake.NewClientBuilder().WithScheme(kube.Scheme).WithInterceptorFuncs(interceptor.Funcs{
				Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
					reads++
					if failing {
						return apierrors.NewServiceUnavailable("the API server is restarting")
					}
					return c.Get(ctx, key, obj, opts...)
				},
			}).Build()
			var m Memo
			if err := m.Ensure(ctx, c, invoker(), ns, "stash-backup-daily", naming.Backup, grants, t0); (err != nil) != tc.fail {
				t.Fatalf("first Ensure: %v", err)
			}
			failing, reads = false, 0
			if err := m.Ensure(ctx, c, tc.second.owner, ns, "stash-backup-daily", naming.Backup, tc.second.grants, t0.Add(tc.second.after)); err != nil {
				t.Fatal(err)
			}
			if checked := reads > 0; checked != tc.checks {
				t.Errorf("second Ensure read the cluster %d times; want checks %v", reads, tc.checks)
			}
			if tc.checks {
				if diff := cmp.Diff(Rules(naming.Backup, "daily", tc.second.grants), get(t, c, &rbacv1.Role{}).(*rbacv1.Role).Rules); diff != "" {
					t.Errorf("rules (-want +got):\n%s", diff)
				}
			}
		})
	}
}
