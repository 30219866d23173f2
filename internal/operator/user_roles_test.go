package operator

import (
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/testenv"
)

// as is a client acting as user.
func as(t *testing.T, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(testenv.Shared(t).Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	c, err := client.New(cfg, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The user roles of config/rbac/user_roles.yaml, bound in one namespace: an
// editor manages backups, restores, Repositories and AppBindings there and
// nothing more (no Secret, no status, no other namespace); a viewer reads
// them and writes nothing. The aggregation into Kubernetes' admin, edit and
// view roles is the controller manager's, proven in e2e.
func TestUserRoles(t *testing.T) {
	e := testenv.NewEnv(t, time.Now())
	other := testenv.NewEnv(t, time.Now()).Namespace
	roles := e.Load(filepath.Join(testenv.RepoRoot(), "config", "rbac", "user_roles.yaml"))
	for _, role := range []string{"stash-edit", "stash-view"} {
		e.CreateIfMissing(roles["ClusterRole/"+role])
	}
	e.Create(
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "stash-edit"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "stash-view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-auth"}, StringData: map[string]string{"POSTGRES_PASSWORD": "x"}},
	)
	alice, bob := as(t, "alice"), as(t, "bob")

	objs := e.Load("testdata/user-roles.yaml")
	bc := objs["BackupConfiguration/daily"].(*stashv1beta1.BackupConfiguration)
	for _, obj := range objs {
		obj.SetNamespace(e.Namespace)
		if err := alice.Create(e.Ctx, obj); err != nil {
			t.Errorf("stash-edit creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
	var list stashv1beta1.BackupConfigurationList
	if err := bob.List(e.Ctx, &list, client.InNamespace(e.Namespace)); err != nil || len(list.Items) != 1 {
		t.Errorf("stash-view listing BackupConfigurations: %d, %v", len(list.Items), err)
	}

	refused := map[string]func() error{
		"stash-edit reads a Secret": func() error {
			return alice.Get(e.Ctx, client.ObjectKey{Namespace: e.Namespace, Name: "db-auth"}, &corev1.Secret{})
		},
		"stash-edit creates in another namespace": func() error {
			elsewhere := bc.DeepCopy()
			elsewhere.ResourceVersion, elsewhere.Namespace = "", other
			return alice.Create(e.Ctx, elsewhere)
		},
		"stash-edit writes a status": func() error {
			var cur stashv1beta1.BackupConfiguration
			if err := alice.Get(e.Ctx, client.ObjectKeyFromObject(bc), &cur); err != nil {
				return err
			}
			cur.Status.ObservedGeneration = 7
			return alice.Status().Update(e.Ctx, &cur)
		},
		"stash-view creates": func() error {
			return bob.Create(e.Ctx, &stashv1beta1.BackupSession{ObjectMeta: metav1.ObjectMeta{Name: "now", Namespace: e.Namespace},
				Spec: stashv1beta1.BackupSessionSpec{Invoker: stashv1beta1.BackupInvokerRef{APIGroup: "stash.appscode.com", Kind: "BackupConfiguration", Name: "daily"}}})
		},
		"stash-view deletes": func() error { return bob.Delete(e.Ctx, bc.DeepCopy()) },
		"stash-view reads a Secret": func() error {
			return bob.Get(e.Ctx, client.ObjectKey{Namespace: e.Namespace, Name: "db-auth"}, &corev1.Secret{})
		},
		"stash-view lists elsewhere": func() error {
			return bob.List(e.Ctx, &stashv1beta1.BackupConfigurationList{}, client.InNamespace(other))
		},
	}
	for name, try := range refused {
		if err := try(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want Forbidden", name, err)
		}
	}
}
