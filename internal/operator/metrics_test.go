package operator

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/yaml"

	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/testenv"
)

// freeAddress is a local TCP address nothing listens on.
func freeAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// The metrics endpoint is HTTPS and answers only callers the API server
// authenticates and allows GET /metrics: no token is refused (401), a
// ServiceAccount without config/rbac's stash-metrics-reader is refused
// (403), one bound to it reads the metrics. The operator asks the API
// server under its own ClusterRole.
func TestMetricsNeedAuthenticationAndAuthorization(t *testing.T) {
	cp := testenv.Shared(t)
	admin, err := client.New(cp.Config, client.Options{Scheme: kube.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	addr := freeAddress(t)
	metrics := MetricsServer(addr, t.TempDir()) // no certificate there: a self-signed one
	testenv.StartManager(t, testenv.ManagerOptions{AsOperator: true, Metrics: &metrics}, func(mgr manager.Manager) error {
		return Setup(mgr, Options{Image: "stash:test"})
	})

	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "metrics_reader_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var reader rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &reader); err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "monitoring-"}}
	if err := admin.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	prometheus := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "prometheus", Namespace: ns.Name}}
	nobody := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody", Namespace: ns.Name}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: ns.Name + "-prometheus"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: prometheus.Name, Namespace: ns.Name}}}
	for _, o := range []client.Object{prometheus, nobody, binding} {
		if err := admin.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.Create(ctx, &reader); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	clientset := kubernetes.NewForConfigOrDie(cp.Config)
	token := func(sa string) string {
		tr, err := clientset.CoreV1().ServiceAccounts(ns.Name).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("token of %s: %v", sa, err)
		}
		return tr.Status.Token
	}
	// The certificate is self-signed: what is checked here is who may read.
	httpClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	scrape := func(token string) (int, string, error) {
		req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/metrics", nil)
		if err != nil {
			return 0, "", err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	readerToken, nobodyToken := token(prometheus.Name), token(nobody.Name)
	eventually(t, "the authorised scrape", func() error {
		code, body, err := scrape(readerToken)
		if err != nil {
			return err
		}
		if code != http.StatusOK || !strings.Contains(body, "# HELP") {
			return fmt.Errorf("status %d, body %.200q", code, body)
		}
		return nil
	})
	for name, tc := range map[string]struct {
		token string
		want  int
	}{"no token": {"", http.StatusUnauthorized}, "not a reader": {nobodyToken, http.StatusForbidden}} {
		code, body, err := scrape(tc.token)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if code != tc.want {
			t.Errorf("%s: status %d, want %d (body %.200q)", name, code, tc.want, body)
		}
	}
	// A token that is no token at all: controller-runtime's filter answers
	// 500 "Authentication failed" (the TokenReview errs); refused all the same.
	if code, body, err := scrape("not-a-token"); err != nil || code == http.StatusOK || strings.Contains(body, "# HELP") {
		t.Errorf("a malformed token: status %d, %v, body %.200q; want it refused", code, err, body)
	}
	plain, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == http.StatusOK {
			t.Error("the metrics are served over plain HTTP")
		}
	}
}
