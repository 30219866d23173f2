// Package crd tests the generated CRDs against a real kube-apiserver: they
// install, Stash v0.9 examples are accepted, every CEL rule and enum rejects
// what it should with a message that says what to change, and the status
// subresource separates spec and status writes.
package crd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/manifest"
	"github.com/stash-operator/stash/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.RunWithControlPlane(m)) }

func newClient(t *testing.T) client.Client {
	t.Helper()
	cp := testenv.Shared(t)
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(manifest.AddToScheme(s))
	c, err := client.New(cp.Config, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ensureNamespace creates ns once; examples live in "demo".
func ensureNamespace(t *testing.T, c client.Client, ns string) {
	t.Helper()
	err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func TestCRDsInstalledAndEstablished(t *testing.T) {
	c := newClient(t)
	want := []string{
		"functions.stash.appscode.com", "tasks.stash.appscode.com", "backupconfigurations.stash.appscode.com",
		"backupsessions.stash.appscode.com", "restoresessions.stash.appscode.com", "repositories.stash.appscode.com",
		"appbindings.appcatalog.appscode.com",
	}
	for _, name := range want {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &crd); err != nil {
			t.Errorf("CRD %s: %v", name, err)
			continue
		}
		established := false
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				established = true
			}
		}
		if !established {
			t.Errorf("CRD %s is not Established: %+v", name, crd.Status.Conditions)
		}
	}
}

// unstructuredFromYAML keeps values the typed API could not express (wrong
// enum values, negative counts), so the apiserver is what rejects them.
func unstructuredFromYAML(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatalf("bad test YAML: %v", err)
	}
	return u
}

func TestStashV09ExamplesAccepted(t *testing.T) {
	c := newClient(t)
	ensureNamespace(t, c, "demo")
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "api", "testdata", "v0.9", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			u := unstructuredFromYAML(t, string(data))
			if err := c.Create(context.Background(), u); err != nil {
				t.Fatalf("the apiserver rejected a Stash v0.9 manifest: %v", err)
			}
		})
	}
}

const (
	repositoryHead = "apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {name: r, namespace: demo}\n"
	restoreHead    = "apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: {name: rs, namespace: demo}\n"
	backupHead     = "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {name: bc, namespace: demo}\n"
)

func TestInvalidObjectsRejected(t *testing.T) {
	c := newClient(t)
	ensureNamespace(t, c, "demo")
	tests := map[string]struct {
		doc     string
		wantMsg string
	}{
		"repository with two providers": {
			doc:     repositoryHead + "spec:\n  backend:\n    storageSecretName: s\n    s3: {bucket: b}\n    gcs: {bucket: b}\n",
			wantMsg: "backend must name exactly one provider: set one of local, s3, gcs, azure, swift, b2 or rest and remove the others",
		},
		"repository with no provider": {
			doc:     repositoryHead + "spec:\n  backend:\n    storageSecretName: s\n",
			wantMsg: "backend must name exactly one provider",
		},
		"restore rules: two catch-all rules": {
			doc:     restoreHead + "spec:\n  rules:\n  - snapshots: [latest]\n  - paths: [/data]\n",
			wantMsg: "at most one rule may leave targetHosts empty (the rule for every other host): give the others targetHosts",
		},
		"restore rules: a host in two rules": {
			doc:     restoreHead + "spec:\n  rules:\n  - targetHosts: [host-0, host-1]\n  - targetHosts: [host-1]\n",
			wantMsg: "a host may appear in the targetHosts of at most one rule: remove the duplicate host",
		},
		"restore rule with snapshots and paths": {
			doc:     restoreHead + "spec:\n  rules:\n  - snapshots: [latest]\n    paths: [/data]\n",
			wantMsg: "a rule may set snapshots or paths, not both",
		},
		"negative keepLast": {
			doc:     backupHead + "spec:\n  retentionPolicy: {name: r, keepLast: -1, prune: true}\n",
			wantMsg: "keepLast must not be negative: set the number of snapshots to keep, or leave it out",
		},
		"negative keepYearly": {
			doc:     backupHead + "spec:\n  retentionPolicy: {name: r, keepYearly: -2}\n",
			wantMsg: "keepYearly must not be negative",
		},
		"unknown concurrencyPolicy": {
			doc:     backupHead + "spec:\n  concurrencyPolicy: Sometimes\n  retentionPolicy: {name: r}\n",
			wantMsg: `spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"`,
		},
		"unknown driver": {
			doc:     backupHead + "spec:\n  driver: Tar\n  retentionPolicy: {name: r}\n",
			wantMsg: `spec.driver: Unsupported value: "Tar"`,
		},
		"timeOut that is not a duration": {
			doc:     backupHead + "spec:\n  timeOut: soon\n  retentionPolicy: {name: r}\n",
			wantMsg: "timeOut must be a positive Go duration such as 30m or 1h30m",
		},
		"zero timeOut on restore": {
			doc:     restoreHead + "spec:\n  timeOut: 0s\n",
			wantMsg: "timeOut must be a positive Go duration",
		},
		"hook with two actions": {
			doc: backupHead + "spec:\n  retentionPolicy: {name: r}\n  hooks:\n    preBackup:\n" +
				"      exec: {command: [sync]}\n      tcpSocket: {port: 80}\n",
			wantMsg: "a hook must set exactly one of exec, httpGet, httpPost or tcpSocket",
		},
		"backup session invoked by a Deployment": {
			doc:     "apiVersion: stash.appscode.com/v1beta1\nkind: BackupSession\nmetadata: {name: bs, namespace: demo}\nspec:\n  invoker: {kind: Deployment, name: x}\n",
			wantMsg: `spec.invoker.kind: Unsupported value: "Deployment": supported values: "BackupConfiguration", "BackupBatch"`,
		},
		"retention policy missing": {
			doc:     backupHead + "spec:\n  schedule: '@daily'\n",
			wantMsg: "spec.retentionPolicy: Required value",
		},
		"function without image": {
			doc:     "apiVersion: stash.appscode.com/v1beta1\nkind: Function\nmetadata: {name: f}\nspec:\n  args: [x]\n",
			wantMsg: "spec.image: Required value",
		},
		"appbinding with neither url nor service": {
			doc: "apiVersion: appcatalog.appscode.com/v1alpha1\nkind: AppBinding\nmetadata: {name: a, namespace: demo}\n" +
				"spec:\n  clientConfig:\n    insecureSkipTLSVerify: true\n",
			wantMsg: "clientConfig must set url or service",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := c.Create(context.Background(), unstructuredFromYAML(t, tc.doc))
			if err == nil {
				t.Fatalf("the apiserver accepted an invalid object; want an error containing %q", tc.wantMsg)
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error = %v\nwant Invalid containing %q", err, tc.wantMsg)
			}
		})
	}
}

func TestBackupSessionSpecImmutableAndStatusSubresource(t *testing.T) {
	c := newClient(t)
	ensureNamespace(t, c, "demo")
	ctx := context.Background()
	bs := &stashv1beta1.BackupSession{
		ObjectMeta: metav1.ObjectMeta{Name: "immutable-" + time.Now().Format("150405"), Namespace: "demo"},
		Spec:       stashv1beta1.BackupSessionSpec{Invoker: stashv1beta1.BackupInvokerRef{Kind: "BackupConfiguration", Name: "a"}},
	}
	if err := c.Create(ctx, bs); err != nil {
		t.Fatal(err)
	}

	// Status goes through the subresource and only through it.
	bs.Status.Phase = stashv1beta1.SessionRunning
	if err := c.Status().Update(ctx, bs); err != nil {
		t.Fatalf("status update: %v", err)
	}
	var got stashv1beta1.BackupSession
	if err := c.Get(ctx, client.ObjectKeyFromObject(bs), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != stashv1beta1.SessionRunning {
		t.Fatalf("phase after status update = %q, want Running", got.Status.Phase)
	}
	got.Status.Phase = stashv1beta1.SessionSucceeded
	got.Labels = map[string]string{"touched": "yes"}
	if err := c.Update(ctx, &got); err != nil {
		t.Fatalf("main-resource update: %v", err)
	}
	var after stashv1beta1.BackupSession
	if err := c.Get(ctx, client.ObjectKeyFromObject(bs), &after); err != nil {
		t.Fatal(err)
	}
	if after.Status.Phase != stashv1beta1.SessionRunning || after.Labels["touched"] != "yes" {
		t.Fatalf("a write to the main resource changed status (phase %q) or lost metadata (%v)", after.Status.Phase, after.Labels)
	}

	// An enum on status is enforced by the subresource too.
	after.Status.Phase = "Done"
	if err := c.Status().Update(ctx, &after); err == nil || !strings.Contains(err.Error(), `Unsupported value: "Done"`) {
		t.Fatalf("status phase Done: err = %v, want Unsupported value", err)
	}

	// The spec cannot change.
	var fresh stashv1beta1.BackupSession
	if err := c.Get(ctx, client.ObjectKeyFromObject(bs), &fresh); err != nil {
		t.Fatal(err)
	}
	fresh.Spec.Invoker.Name = "b"
	err := c.Update(ctx, &fresh)
	if err == nil || !strings.Contains(err.Error(), "spec of a BackupSession is immutable: create a new BackupSession instead of editing this one") {
		t.Fatalf("spec update: err = %v, want the immutability message", err)
	}
}
