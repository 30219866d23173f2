package resolve_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/stash-operator/stash/internal/defaultcatalog"
	"github.com/stash-operator/stash/internal/manifest"
	"github.com/stash-operator/stash/internal/resolve"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden from the current output")

// goldenNow is the time of synthesized sessions, so that names are stable.
var goldenNow = time.Unix(1700000000, 0)

// goldenOptions are what the operator would pass, fixed for stable output.
var goldenOptions = resolve.Options{Image: "stash:v0.1.0"}

// loadObjects reads the catalog, testdata/golden/shared and the files given,
// in that order (later objects override earlier ones of the same name).
func loadObjects(t testing.TB, files ...string) *resolve.Objects {
	t.Helper()
	objs := resolve.NewObjects()
	fns, tasks, err := defaultcatalog.Load(goldenOptions.Image)
	if err != nil {
		t.Fatalf("load catalog: %v", err)
	}
	for _, f := range fns {
		objs.Add(f, "demo")
	}
	for _, task := range tasks {
		objs.Add(task, "demo")
	}
	shared, err := filepath.Glob(filepath.Join("testdata", "golden", "shared", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range append(shared, files...) {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := manifest.Split(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, doc := range docs {
			obj, err := manifest.Decode(doc.JSON)
			if errors.Is(err, manifest.ErrUnknownKind) {
				obj, err = manifest.DecodeBuiltin(doc.JSON) // a workload, its pods
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			objs.Add(obj, "demo")
		}
	}
	return objs
}

// resolveCase resolves the one session of a case, a Job per host: a
// BackupSession, else a RestoreSession, else a session synthesized for the
// BackupConfiguration.
func resolveCase(t testing.TB, objs *resolve.Objects) ([]*resolve.Result, error) {
	t.Helper()
	for _, bs := range objs.BackupSessions {
		return objs.ResolveBackupSession(bs.Namespace, bs.Name, goldenOptions)
	}
	for _, rs := range objs.RestoreSessions {
		return objs.ResolveRestoreSession(rs.Namespace, rs.Name, goldenOptions)
	}
	for _, bc := range objs.BackupConfigurations {
		return objs.ResolveBackupConfiguration(bc.Namespace, bc.Name, goldenNow, goldenOptions)
	}
	t.Fatal("the case has no session or configuration to resolve")
	return nil, nil
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*", "input.yaml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, input := range dirs {
		dir := filepath.Dir(input)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			results, err := resolveCase(t, loadObjects(t, input))
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			var jobs [][]byte
			var warnings []string
			for _, res := range results {
				for _, obj := range res.Objects() {
					got, err := yaml.Marshal(obj)
					if err != nil {
						t.Fatal(err)
					}
					jobs = append(jobs, got)
				}
				warnings = append(warnings, res.Warnings...)
			}
			compareGolden(t, filepath.Join(dir, "job.yaml"), bytes.Join(jobs, []byte("---\n")))
			compareGolden(t, filepath.Join(dir, "warnings.txt"), []byte(strings.Join(slices.Compact(warnings), "\n")))
		})
	}
}

// compareGolden compares got with the file, or rewrites it under -update. An
// empty result means the file must not exist.
func compareGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			_ = os.Remove(file)
			return
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		want, err = nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); run go test ./internal/resolve -update if the change is intended:\n%s", file, diff)
	}
}
