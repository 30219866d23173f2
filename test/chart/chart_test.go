// Package chart tests the Helm chart (charts/stash): helm lint passes, its
// default rendering installs exactly what config/default does, its values
// do what values.yaml says, and a kube-apiserver accepts what it renders.
package chart

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stash-operator/stash/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithControlPlane(m)) }

var chartDir = filepath.Join(testenv.RepoRoot(), "charts", "stash")

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	stdout, stderr, code := testenv.Run(t, exec.Command(testenv.Binary(t, name), args...))
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s%s", name, strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// render is helm template of the chart in namespace with values set.
func render(t *testing.T, namespace string, set ...string) map[string]*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", "stash", chartDir, "--namespace", namespace, "--include-crds"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return objects(t, run(t, "helm", args...))
}

// objects decodes a stream of YAML documents by kind/namespace/name.
func objects(t *testing.T, stream string) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		if obj == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		out[key(u)] = u
	}
}

func key(u *unstructured.Unstructured) string {
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

func TestChartLints(t *testing.T) {
	for name, set := range map[string][]string{
		"defaults":              nil,
		"everything off":        {"rbac.create=false", "serviceAccount.create=false", "admissionPolicy.create=false", "metrics.enabled=false", "catalog.install=false"},
		"with a ServiceMonitor": {"metrics.serviceMonitor.enabled=true"},
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir}
			for _, s := range set {
				args = append(args, "--set", s)
			}
			run(t, "helm", args...)
		})
	}
}

// The chart's default rendering in stash-system is config/default, but for
// the Namespace (helm install --create-namespace makes it) and the labels
// Helm adds.
func TestChartInstallsWhatConfigDefaultDoes(t *testing.T) {
	chart := render(t, "stash-system")
	config := objects(t, run(t, "kubectl", "kustomize", filepath.Join(testenv.RepoRoot(), "config", "default")))
	delete(config, "Namespace//stash-system")
	helmLabels := []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance"}
	for _, u := range chart {
		labels := u.GetLabels()
		for _, l := range helmLabels {
			delete(labels, l)
		}
		if len(labels) == 0 {
			labels = nil
		}
		u.SetLabels(labels)
	}
	var missing, extra []string
	for k := range config {
		if _, ok := chart[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range chart {
		if _, ok := config[k]; !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing)+len(extra) > 0 {
		t.Fatalf("the chart lacks %v and adds %v", missing, extra)
	}
	for k, want := range config {
		if diff := cmp.Diff(want.Object, chart[k].Object); diff != "" {
			t.Errorf("%s (-config/default +chart):\n%s", k, diff)
		}
	}
}

func deploymentArgs(t *testing.T, objs map[string]*unstructured.Unstructured, namespace string) ([]string, map[string]any) {
	t.Helper()
	d, ok := objs["Deployment/"+namespace+"/stash-operator"]
	if !ok {
		t.Fatal("no Deployment stash-operator")
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	return args, c
}

func TestChartValues(t *testing.T) {
	kinds := func(objs map[string]*unstructured.Unstructured, kind string) []string {
		var names []string
		for k, u := range objs {
			if u.GetKind() == kind {
				names = append(names, k)
			}
		}
		return names
	}
	t.Run("rbac, the account and the policy off", func(t *testing.T) {
		objs := render(t, "ops", "rbac.create=false", "serviceAccount.create=false", "admissionPolicy.create=false")
		for _, kind := range []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount", "ValidatingAdmissionPolicy"} {
			if got := kinds(objs, kind); len(got) != 0 {
				t.Errorf("%s rendered: %v", kind, got)
			}
		}
	})
	t.Run("the operator's namespace is the release's", func(t *testing.T) {
		objs := render(t, "ops")
		for _, k := range []string{"Role/ops/stash-operator", "RoleBinding/ops/stash-operator", "ServiceAccount/ops/stash-operator", "Deployment/ops/stash-operator"} {
			if _, ok := objs[k]; !ok {
				t.Errorf("no %s", k)
			}
		}
		binding := objs["ClusterRoleBinding//stash-operator"]
		subjects, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
		if ns := subjects[0].(map[string]any)["namespace"]; ns != "ops" {
			t.Errorf("the ClusterRoleBinding binds the account of namespace %v", ns)
		}
	})
	t.Run("image, flags and resources", func(t *testing.T) {
		objs := render(t, "ops", "image.repository=registry.example/stash", "image.tag=v1.2.3", "catalog.install=false",
			"operator.maxRunningBackupJobs=5", "operator.snapshotSyncInterval=0s", "operator.extraArgs={--development-logs}",
			"resources.limits.memory=1Gi")
		args, c := deploymentArgs(t, objs, "ops")
		if c["image"] != "registry.example/stash:v1.2.3" {
			t.Errorf("image %v", c["image"])
		}
		for _, want := range []string{"--image=registry.example/stash:v1.2.3", "--install-catalog=false", "--max-running-backup-jobs=5",
			"--snapshot-sync-interval=0s", "--development-logs"} {
			if !slices.Contains(args, want) {
				t.Errorf("args %q lack %q", args, want)
			}
		}
		if m, _, _ := unstructured.NestedString(c, "resources", "limits", "memory"); m != "1Gi" {
			t.Errorf("memory limit %q", m)
		}
	})
	t.Run("a numeric image tag", func(t *testing.T) {
		_, c := deploymentArgs(t, render(t, "ops", "image.tag=123"), "ops")
		if c["image"] != "stash:123" {
			t.Errorf("image %v, want stash:123", c["image"])
		}
	})
	t.Run("metrics off, or with a ServiceMonitor", func(t *testing.T) {
		off := render(t, "ops", "metrics.enabled=false")
		if _, ok := off["Service/ops/stash-operator-metrics"]; ok {
			t.Error("a metrics Service without metrics")
		}
		if args, _ := deploymentArgs(t, off, "ops"); !slices.Contains(args, "--metrics-bind-address=0") {
			t.Errorf("args %q: the endpoint is not off", args)
		}
		on := render(t, "ops", "metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prometheus")
		sm, ok := on["ServiceMonitor/ops/stash-operator"]
		if !ok || sm.GetLabels()["release"] != "prometheus" {
			t.Fatalf("ServiceMonitor: %v", sm)
		}
	})
}

// What the chart renders (but the CRDs, which the control plane already
// has from config/, equal to the chart's by TestChartInstallsWhatConfigDefaultDoes),
// the kube-apiserver accepts: a server-side dry run of each object.
func TestChartRendersObjectsTheAPIServerAccepts(t *testing.T) {
	e := testenv.NewEnv(t, time.Now())
	objs := render(t, e.Namespace)
	for k, u := range objs {
		if u.GetKind() == "CustomResourceDefinition" {
			continue
		}
		// Applied, not created: the control plane has the admission policy
		// already (the operator's install, as the CRDs).
		if err := e.Client.Apply(e.Ctx, client.ApplyConfigurationFromUnstructured(u), client.DryRunAll, client.FieldOwner("chart-test"), client.ForceOwnership); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if len(objs) < 10 {
		t.Fatalf("only %d objects rendered", len(objs))
	}
}
