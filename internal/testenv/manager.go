package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/manifest"
)

// ManagerOptions shape a manager a test starts.
type ManagerOptions struct {
	// Namespace limits the manager's cache to one namespace; empty for all.
	Namespace string
	// AsOperator runs the manager as a user bound to the operator's
	// generated ClusterRole (config/rbac/role.yaml) only, so that a
	// permission the controllers use but do not declare fails the test.
	AsOperator bool
	// Config, when set, is the identity the manager runs as instead.
	Config *rest.Config
	// LeaderElection, when set, is the lease the manager must hold before
	// its controllers start: Namespace/Name.
	LeaderElection *types.NamespacedName
	// Metrics, when set, serves the metrics endpoint so (none by default).
	Metrics *metricsserver.Options
}

// StartManager runs a controller-runtime manager against the package's
// control plane, with what setup registers, until t ends or the returned
// stop is called (a test that restarts the operator calls it). Its log goes
// to the test's log while the test runs.
func StartManager(t testing.TB, o ManagerOptions, setup func(mgr manager.Manager) error) (stop func()) {
	t.Helper()
	cp := Shared(t)
	cfg := o.Config
	switch {
	case cfg != nil:
	case o.AsOperator:
		cfg = OperatorConfig(t)
	default:
		cfg = cp.Config
	}
	logs := &testLog{t: t}
	opts := ctrl.Options{
		Scheme:                 kube.Scheme,
		Logger:                 logs.logger(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Tests start a manager each; controller names repeat across them.
		Controller: config.Controller{SkipNameValidation: ptr.To(true), MaxConcurrentReconciles: kube.OperatorConcurrency},
	}
	opts.Cache = kube.OperatorCache() // what the operator's informers hold
	if o.Namespace != "" {
		opts.Cache.DefaultNamespaces = map[string]cache.Config{o.Namespace: {}}
	}
	if o.Metrics != nil {
		opts.Metrics = *o.Metrics
	}
	if l := o.LeaderElection; l != nil {
		opts.LeaderElection, opts.LeaderElectionNamespace, opts.LeaderElectionID = true, l.Namespace, l.Name
		opts.LeaderElectionReleaseOnCancel = true
	}
	mgr, err := ctrl.NewManager(kube.ForOperator(cfg), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := setup(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
			logs.close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// testLog shows the manager's log with the test's output until the test
// ends; what the manager's goroutines log afterwards is dropped (t.Log
// would panic).
type testLog struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (l *testLog) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if !l.closed {
			l.t.Log(prefix, args)
		}
	}, funcr.Options{})
}

func (l *testLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
}

// operatorUser is the identity of a manager started AsOperator.
const operatorUser = "stash-operator-under-test"

// OperatorMay asks the API server whether a manager started AsOperator may
// do what attrs say.
func OperatorMay(t testing.TB, attrs authorizationv1.ResourceAttributes) bool {
	t.Helper()
	cp := Shared(t)
	OperatorConfig(t) // the roles are bound
	admin, err := client.New(cp.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: operatorUser, ResourceAttributes: &attrs}}
	if err := admin.Create(context.Background(), sar); err != nil {
		t.Fatalf("SubjectAccessReview: %v", err)
	}
	return sar.Status.Allowed
}

var (
	operatorOnce sync.Once
	operatorCfg  *rest.Config
	operatorErr  error
)

// OperatorConfig is a config of the package's control plane authenticated
// as a user whose only permissions are the operator's generated roles,
// config/rbac/role.yaml (the ClusterRole, and the Role of its namespace),
// bound as the install manifests bind them.
func OperatorConfig(t testing.TB) *rest.Config {
	t.Helper()
	cp := Shared(t)
	operatorOnce.Do(func() { operatorCfg, operatorErr = bindOperatorRole(cp) })
	if operatorErr != nil {
		t.Fatal(operatorErr)
	}
	return rest.CopyConfig(operatorCfg)
}

// operatorRoles reads config/rbac/role.yaml: the ClusterRole, and the
// namespaced Roles, each with the binding to the operator's user.
func operatorRoles() ([]client.Object, error) {
	f, err := os.Open(filepath.Join(RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	docs, err := manifest.Split(f)
	if err != nil {
		return nil, fmt.Errorf("config/rbac/role.yaml: %w", err)
	}
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: operatorUser}}
	var objs []client.Object
	for _, doc := range docs {
		var kind metav1.TypeMeta
		if err := yaml.Unmarshal(doc.JSON, &kind); err != nil {
			return nil, fmt.Errorf("config/rbac/role.yaml document %d: %w", doc.Index, err)
		}
		switch kind.Kind {
		case "ClusterRole":
			var role rbacv1.ClusterRole
			if err := yaml.UnmarshalStrict(doc.JSON, &role); err != nil {
				return nil, fmt.Errorf("config/rbac/role.yaml document %d: %w", doc.Index, err)
			}
			objs = append(objs, &role, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}, Subjects: subjects})
		case "Role":
			var role rbacv1.Role
			if err := yaml.UnmarshalStrict(doc.JSON, &role); err != nil {
				return nil, fmt.Errorf("config/rbac/role.yaml document %d: %w", doc.Index, err)
			}
			objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: role.Namespace}}, &role,
				&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: role.Namespace},
					RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}, Subjects: subjects})
		default:
			return nil, fmt.Errorf("config/rbac/role.yaml document %d: a %s, want a ClusterRole or Role", doc.Index, kind.Kind)
		}
	}
	return objs, nil
}

func bindOperatorRole(cp *ControlPlane) (*rest.Config, error) {
	objs, err := operatorRoles()
	if err != nil {
		return nil, err
	}
	admin, err := client.New(cp.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if err := admin.Create(context.Background(), o); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("bind the operator's roles: %w", err)
		}
	}
	user, err := cp.Env.AddUser(envtest.User{Name: operatorUser}, cp.Config)
	if err != nil {
		return nil, fmt.Errorf("add the operator's user: %w", err)
	}
	return user.Config(), nil
}
