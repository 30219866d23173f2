package operator

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/conditions"
	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/naming"
	"github.com/stash-operator/stash/internal/status"
	"github.com/stash-operator/stash/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithControlPlane(m)) }

// The operator's own roles hold its leader election to its namespace: a
// Lease anywhere else is refused, as is reading a Secret's list or writing
// RBAC beyond Roles and RoleBindings.
func TestOperatorRBACBoundaries(t *testing.T) {
	tests := map[string]struct {
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		"its Lease":                    {attrs: authorizationv1.ResourceAttributes{Namespace: "stash-system", Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: LeaderElectionID}, want: true},
		"a Lease of another namespace": {attrs: authorizationv1.ResourceAttributes{Namespace: "kube-system", Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "kube-controller-manager"}},
		"Leases of the cluster":        {attrs: authorizationv1.ResourceAttributes{Verb: "list", Group: "coordination.k8s.io", Resource: "leases"}},
		"list Secrets":                 {attrs: authorizationv1.ResourceAttributes{Verb: "list", Resource: "secrets"}},
		"ClusterRoles":                 {attrs: authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}},
		"delete a Role":                {attrs: authorizationv1.ResourceAttributes{Namespace: "demo", Verb: "delete", Group: "rbac.authorization.k8s.io", Resource: "roles"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := testenv.OperatorMay(t, tc.attrs); got != tc.want {
				t.Errorf("the operator may %s %s %q in %q: %v, want %v", tc.attrs.Verb, tc.attrs.Resource, tc.attrs.Name, tc.attrs.Namespace, got, tc.want)
			}
		})
	}
}

func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The whole operator, as the install manifests run it: under the generated
// ClusterRole of config/rbac only (so a missing permission fails here), from
// the catalog install through a scheduled tick to a finished session.
func TestOperatorUnderItsOwnRBAC(t *testing.T) {
	cp := testenv.Shared(t)
	admin, err := client.New(cp.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	start := time.Now()
	clk := clocktesting.NewFakeClock(start)
	// The operator's identity: a user bound to config/rbac/role.yaml only,
	// electing its leader as the Deployment does (--leader-elect).
	lease := &types.NamespacedName{Namespace: "stash-system", Name: LeaderElectionID}
	testenv.StartManager(t, testenv.ManagerOptions{AsOperator: true, LeaderElection: lease}, func(mgr manager.Manager) error {
		return Setup(mgr, Options{Image: "stash:test", JobImagePullPolicy: corev1.PullIfNotPresent,
			ImagePullGracePeriod: time.Minute, Clock: clk})
	})

	eventually(t, "the default catalog", func() error {
		return admin.Get(ctx, client.ObjectKey{Name: "pvc-backup"}, &stashv1beta1.Task{})
	})
	eventually(t, "the leader's Lease", func() error {
		return admin.Get(ctx, *lease, &coordinationv1.Lease{})
	})

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "operator-"}}
	if err := admin.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	repo := &stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: ns.Name},
		Spec: stashv1alpha1.RepositorySpec{Backend: stashv1alpha1.Backend{StorageSecretName: "repo-secret",
			S3: &stashv1alpha1.S3Spec{Endpoint: "http://s3:9000", Bucket: "stash", Prefix: "demo"}}}}
	bc := &stashv1beta1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns.Name},
		Spec: stashv1beta1.BackupConfigurationSpec{
			BackupConfigurationTemplateSpec: stashv1beta1.BackupConfigurationTemplateSpec{
				Task:   stashv1beta1.TaskRef{Name: "pvc-backup"},
				Target: &stashv1beta1.BackupTarget{Ref: stashv1beta1.TargetRef{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: "data"}},
			},
			Schedule:        "*/5 * * * *",
			Repository:      corev1.LocalObjectReference{Name: "repo"},
			RetentionPolicy: stashv1alpha1.RetentionPolicy{Name: "keep", KeepLast: 2, Prune: true},
		}}
	// What the Jobs need from the namespace, or the configuration is not Ready.
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "repo-secret", Namespace: ns.Name}, StringData: map[string]string{"RESTIC_PASSWORD": "p"}}
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns.Name}, Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	for _, o := range []client.Object{secret, pvc, repo, bc} {
		if err := admin.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "Ready=True", func() error {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(bc), bc); err != nil {
			return err
		}
		if c := conditions.Get(bc.Status.Conditions, stashv1beta1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("Ready = %+v", c)
		}
		return nil
	})

	// The next tick: advance the clock past it and nudge the configuration.
	tick := bc.CreationTimestamp.Time.Truncate(5 * time.Minute).Add(5 * time.Minute)
	clk.SetTime(tick.Add(time.Second))
	bc.Annotations = map[string]string{"test/poke": "1"}
	if err := admin.Update(ctx, bc); err != nil {
		t.Fatal(err)
	}
	sessionName := naming.SessionName(bc.Name, tick)
	bs := &stashv1beta1.BackupSession{}
	eventually(t, "the tick's session to run", func() error {
		if err := admin.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: sessionName}, bs); err != nil {
			return err
		}
		if bs.Status.Phase != stashv1beta1.SessionRunning {
			return fmt.Errorf("phase %q", bs.Status.Phase)
		}
		return nil
	})
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: naming.Backup.JobName(sessionName, 0)}, &batchv1.Job{}); err != nil {
		t.Fatalf("the session's Job: %v", err)
	}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: naming.Backup.ServiceAccountName(bc.Name)}, &rbacv1.Role{}); err != nil {
		t.Fatalf("the Job's Role (the operator must be allowed to grant it): %v", err)
	}

	// update-status reports the host.
	status.UpsertBackupHosts(&bs.Status, bc.Spec.Target.Ref, []stashv1beta1.HostBackupStats{{Hostname: "host-0", Phase: stashv1beta1.HostBackupSucceeded}})
	if err := admin.Status().Update(ctx, bs); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the session to succeed", func() error {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(bs), bs); err != nil {
			return err
		}
		if bs.Status.Phase != stashv1beta1.SessionSucceeded || bs.Status.SessionDuration == "" {
			return fmt.Errorf("phase %q duration %q", bs.Status.Phase, bs.Status.SessionDuration)
		}
		return nil
	})
	eventually(t, "lastScheduleTime", func() error {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(bc), bc); err != nil {
			return err
		}
		if bc.Status.LastScheduleTime == nil || !bc.Status.LastScheduleTime.Time.Equal(tick) {
			return fmt.Errorf("lastScheduleTime %v, want %v", bc.Status.LastScheduleTime, tick)
		}
		return nil
	})
}
