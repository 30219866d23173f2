package resolve_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stashv1alpha1 "github.com/stash-operator/stash/api/stash/v1alpha1"
	stashv1beta1 "github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/resolve"
)

// fixture is a one-step backup whose Function echoes the param "value".
func fixture(value string, args ...string) (resolve.Catalog, *stashv1beta1.BackupConfiguration, *stashv1beta1.BackupSession, *stashv1alpha1.Repository) {
	fn := &stashv1beta1.Function{ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec: stashv1beta1.FunctionSpec{Image: "busybox", Args: args}}
	task := &stashv1beta1.Task{ObjectMeta: metav1.ObjectMeta{Name: "echo"},
		Spec: stashv1beta1.TaskSpec{Steps: []stashv1beta1.FunctionRef{{Name: "echo"}}}}
	cat := resolve.Catalog{
		Tasks:     map[string]*stashv1beta1.Task{"echo": task},
		Functions: map[string]*stashv1beta1.Function{"echo": fn},
	}
	repo := &stashv1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: "demo"},
		Spec: stashv1alpha1.RepositorySpec{Backend: stashv1alpha1.Backend{S3: &stashv1alpha1.S3Spec{Bucket: "b"}, StorageSecretName: "s"}}}
	bc := &stashv1beta1.BackupConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "bc", Namespace: "demo"},
		Spec: stashv1beta1.BackupConfigurationSpec{
			BackupConfigurationTemplateSpec: stashv1beta1.BackupConfigurationTemplateSpec{
				Task: stashv1beta1.TaskRef{Name: "echo", Params: []stashv1beta1.Param{{Name: "value", Value: value}}}},
			Repository: stashv1beta1.BackupConfigurationSpec{}.Repository,
		}}
	bc.Spec.Repository.Name = "repo"
	bs := resolve.NewBackupSession(bc, "bc-1")
	return cat, bc, bs, repo
}

// A param value can never add arguments, fields or variables: it lands as
// exactly one unchanged argument.
func TestParamValuesCannotInject(t *testing.T) {
	tests := map[string]string{
		"double quote":        `say "hi"`,
		"backslash":           `C:\temp\x`,
		"newline":             "line1\nline2",
		"json breakout":       `", "--evil`,
		"yaml breakout":       "x\n- --evil",
		"placeholder in data": "${REPOSITORY_SECRET_NAME}",
		"dollar dollar":       "$$HOME $(PATH)",
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			cat, bc, bs, repo := fixture(value, "--before", "--value=${value}", "--after")
			res, err := resolve.Backup(cat, bc, bs, repo, resolve.SingleHost, resolve.Options{})
			if err != nil {
				t.Fatal(err)
			}
			args := res.Job.Spec.Template.Spec.Containers[0].Args
			want := []string{"--before", "--value=" + value, "--after"}
			if !slices.Equal(args, want) {
				t.Fatalf("args = %q, want %q", args, want)
			}
		})
	}
}

func TestResolveDoesNotModifyInputs(t *testing.T) {
	cat, bc, bs, repo := fixture("v", "--value=${value}", "--ns=${NAMESPACE}")
	before := cat.Functions["echo"].DeepCopy()
	if _, err := resolve.Backup(cat, bc, bs, repo, resolve.SingleHost, resolve.Options{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cat.Functions["echo"].Spec.Args, before.Spec.Args) {
		t.Fatalf("the Function was modified: %q", cat.Functions["echo"].Spec.Args)
	}
}

// docs/variables.md must document exactly the built-in variables the code
// provides: a table row "| `NAME` |" per variable.
func TestVariablesDocMatchesCode(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "variables.md"))
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented = append(documented, m[1])
	}
	code := slices.Clone(resolve.BuiltinNames)
	slices.Sort(code)
	slices.Sort(documented)
	if !slices.Equal(documented, code) {
		t.Fatalf("docs/variables.md documents %v\nthe code provides %v", documented, code)
	}
	if dup := slices.Compact(slices.Clone(documented)); len(dup) != len(documented) {
		t.Fatal("a variable is documented twice")
	}
}

func BenchmarkResolve(b *testing.B) {
	objs := loadObjects(b, filepath.Join("testdata", "golden", "worked-example-postgres", "input.yaml"))
	// The catalog's PostgreSQL 15 backup Task, on the worked example's objects.
	bc := objs.BackupConfigurations["demo/sample-postgres-backup"]
	bc.Spec.Task.Name = "postgres-backup-15"
	bs := objs.BackupSessions["demo/sample-postgres-backup-1581836400"]
	repo := objs.Repositories["demo/gcs-repo"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := resolve.Backup(objs.Catalog, bc, bs, repo, resolve.SingleHost, goldenOptions); err != nil {
			b.Fatal(err)
		}
	}
}
