package docexamples_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	sigsjson "sigs.k8s.io/json"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/defaultcatalog"
	"github.com/stash-operator/stash/internal/docexamples"
	"github.com/stash-operator/stash/internal/manifest"
)

// decodeStrict decodes one document of any kind the README uses: ours, or a
// built-in Kubernetes kind. A misspelt field is an error either way.
func decodeStrict(js []byte) (runtime.Object, error) {
	obj, err := manifest.Decode(js)
	if !errors.Is(err, manifest.ErrUnknownKind) {
		return obj, err
	}
	gvk, err := manifest.GVK(js)
	if err != nil {
		return nil, err
	}
	obj, err = clientgoscheme.Scheme.New(gvk)
	if err != nil {
		return nil, err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(js, obj)
	if err != nil {
		return nil, err
	}
	return obj, errors.Join(strictErrs...)
}

func readmeBlocks(t *testing.T) []docexamples.Block {
	t.Helper()
	md, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := docexamples.Blocks(md)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	return blocks
}

// Every YAML example of the README must be what the API accepts, field for
// field; the end-to-end test applies the quick start's blocks to a cluster.
func TestReadmeYAMLDecodesStrictly(t *testing.T) {
	var yamlBlocks int
	for _, b := range readmeBlocks(t) {
		if b.Lang != "yaml" {
			continue
		}
		yamlBlocks++
		docs, err := manifest.Split(strings.NewReader(b.Text))
		if err != nil {
			t.Errorf("README.md line %d (%s): %v", b.Line, b.Name, err)
			continue
		}
		if len(docs) == 0 {
			t.Errorf("README.md line %d (%s): no document", b.Line, b.Name)
		}
		for _, d := range docs {
			if _, err := decodeStrict(d.JSON); err != nil {
				t.Errorf("README.md line %d (%s) document %d: %v", b.Line, b.Name, d.Index, err)
			}
		}
	}
	if yamlBlocks == 0 {
		t.Fatal("README.md has no yaml blocks")
	}
}

// The quick start's files are the ones hack/demo.sh and test/e2e read.
func TestReadmeQuickStartFiles(t *testing.T) {
	blocks := readmeBlocks(t)
	for _, name := range []string{"postgres.yaml", "repository.yaml", "backup.yaml", "backupsession.yaml", "restore.yaml"} {
		if _, err := docexamples.Named(blocks, name); err != nil {
			t.Errorf("README.md: %v (hack/demo.sh and test/e2e need it)", err)
		}
	}
}

// The README shows a catalog Task; it must be the one the operator installs.
func TestReadmeCatalogTaskIsTheCatalogs(t *testing.T) {
	b, err := docexamples.Named(readmeBlocks(t), "task-postgres-backup-15.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := manifest.Split(strings.NewReader(b.Text))
	if err != nil || len(docs) != 1 {
		t.Fatalf("README.md line %d: want one document: %v", b.Line, err)
	}
	obj, err := manifest.Decode(docs[0].JSON)
	if err != nil {
		t.Fatal(err)
	}
	shown, ok := obj.(*v1beta1.Task)
	if !ok {
		t.Fatalf("README.md line %d: a %T, want a Task", b.Line, obj)
	}
	_, tasks, err := defaultcatalog.Load("stash:test")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if task.Name == shown.Name {
			if !reflect.DeepEqual(task.Spec, shown.Spec) {
				t.Fatalf("README.md line %d: Task %s differs from config/catalog:\nREADME  %+v\ncatalog %+v", b.Line, shown.Name, shown.Spec, task.Spec)
			}
			return
		}
	}
	t.Fatalf("README.md line %d: the catalog has no Task %q", b.Line, shown.Name)
}
