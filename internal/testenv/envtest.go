package testenv

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/stash-operator/stash/internal/kube"
	"github.com/stash-operator/stash/internal/manifest"
)

// ControlPlane is a running envtest kube-apiserver + etcd with our CRDs and
// admission policies installed.
type ControlPlane struct {
	Env    *envtest.Environment
	Config *rest.Config
}

// envtestAssets returns the directory holding kube-apiserver and etcd.
func envtestAssets() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		return "", fmt.Errorf("KUBEBUILDER_ASSETS is not set")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("KUBEBUILDER_ASSETS=%s has no %s", dir, bin)
		}
	}
	return dir, nil
}

// StartControlPlane starts envtest with the CRDs of config/crd/bases. Call it
// once per package from TestMain and Stop it there; tests reach it through
// Shared. It returns an error, never skips: TestMain has no *testing.T.
func StartControlPlane() (*ControlPlane, error) {
	assets, err := envtestAssets()
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start envtest (kube-apiserver and etcd from %s): %w", assets, err)
	}
	cp := &ControlPlane{Env: env, Config: cfg}
	if err := installPolicies(cfg); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return cp, nil
}

// installPolicies creates the admission policies of config/policy, which
// are part of the operator's install as its CRDs are.
func installPolicies(cfg *rest.Config) error {
	dir := filepath.Join(RepoRoot(), "config", "policy")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	admin, err := client.New(cfg, client.Options{Scheme: kube.Scheme})
	if err != nil {
		return err
	}
	for _, path := range files {
		if filepath.Base(path) == "kustomization.yaml" {
			continue
		}
		if err := createAll(admin, path); err != nil {
			return fmt.Errorf("install %s: %w", path, err)
		}
	}
	return nil
}

func createAll(c client.Client, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	docs, err := manifest.Split(f)
	if err != nil {
		return err
	}
	for _, doc := range docs {
		obj, _, err := coreDecoder.Decode(doc.JSON, nil, nil)
		if err != nil {
			return fmt.Errorf("document %d: %w", doc.Index, err)
		}
		if err := c.Create(context.Background(), obj.(client.Object)); err != nil {
			return fmt.Errorf("document %d: %w", doc.Index, err)
		}
	}
	return nil
}

// Kubeconfig writes a kubeconfig file of the control plane's administrator
// whose context's namespace is namespace, as a user's would be, for tests
// that run a command line as a user does; it is removed with the test.
func (c *ControlPlane) Kubeconfig(t testing.TB, namespace string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: c.Config.CertData, ClientKeyData: c.Config.KeyData, Token: c.Config.BearerToken,
	}
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin", Namespace: namespace}
	cfg.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// Stop stops the apiserver and etcd.
func (c *ControlPlane) Stop() error {
	if c == nil {
		return nil
	}
	return c.Env.Stop()
}

// Shared holds a package's control plane, started by RunWithControlPlane.
var (
	shared    *ControlPlane
	sharedErr error
)

// RunWithControlPlane is a TestMain body: it starts one control plane for the
// package, runs the tests and stops it, so that no apiserver is orphaned.
func RunWithControlPlane(m *testing.M) int {
	flag.Parse() // testing.Short needs the flags parsed
	if testing.Short() {
		return m.Run()
	}
	shared, sharedErr = StartControlPlane()
	code := m.Run()
	if err := shared.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop envtest: %v\n", err)
	}
	return code
}

// Shared returns the package's control plane, or skips/fails t with the
// reason it could not be started.
func Shared(t testing.TB) *ControlPlane {
	t.Helper()
	skipInShortMode(t)
	if shared == nil {
		if sharedErr == nil {
			sharedErr = fmt.Errorf("call testenv.RunWithControlPlane from TestMain")
		}
		Unavailable(t, "the envtest control plane ("+sharedErr.Error()+")")
	}
	return shared
}
