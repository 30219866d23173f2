package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stash-operator/stash/internal/manifest"
	"github.com/stash-operator/stash/internal/testenv"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// stashBinary is built once by TestMain: the CLI is tested as a user runs it.
var stashBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stash-cli-")
	if err != nil {
		panic(err)
	}
	stashBinary = filepath.Join(dir, "stash")
	build := exec.Command("go", "build", "-o", stashBinary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build stash: " + err.Error())
	}
	code := testenv.RunWithControlPlane(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

func runStash(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return testenv.Run(t, exec.Command(stashBinary, args...))
}

const golden = "../../internal/resolve/testdata/golden"

func TestResolveCLI(t *testing.T) {
	tests := map[string]struct {
		args       []string
		wantCode   int
		wantStdout string // golden file the stdout must equal, or empty for "no output"
		wantJobs   int    // how many Jobs stdout holds, if not 1
		wantStderr []string
	}{
		"backup session, same Job as the golden file": {
			args:       []string{"resolve", "-f", golden + "/worked-example-postgres/input.yaml", "-f", golden + "/shared/update-status.yaml", "--backup-session", "sample-postgres-backup-1581836400", "-n", "demo", "--image", "stash:v0.1.0"},
			wantStdout: golden + "/worked-example-postgres/job.yaml",
		},
		"restore session from a directory": {
			args:       []string{"resolve", "-f", golden + "/pvc-restore", "--restore-session", "data-restore", "-n", "demo", "--image", "stash:v0.1.0"},
			wantStdout: golden + "/pvc-restore/job.yaml",
		},
		"a DaemonSet: a Job per node": {
			args:     []string{"resolve", "-f", golden + "/workload-daemonset/input.yaml", "-f", golden + "/shared", "--backup-configuration", "dmn-backup", "-n", "demo"},
			wantJobs: 2,
		},
		"warnings on stderr, Job on stdout": {
			args:       []string{"resolve", "-f", golden + "/three-steps/input.yaml", "-f", golden + "/shared", "--backup-configuration", "app-with-a-rather-long-name-to-show-the-shortening-of-job-names", "-n", "demo"},
			wantStderr: []string{`warning: BackupConfiguration "demo/app-with-a-rather-long-name-to-show-the-shortening-of-job-names" spec.task.params: param "HOSTNAME" has the name of a built-in variable`},
		},
		"every resolution error on its own line, exit 1": {
			args:     []string{"resolve", "-f", "../../internal/resolve/testdata/errors/unresolved-two-steps.yaml", "--backup-configuration", "app"},
			wantCode: 1,
			wantStderr: []string{
				`task "two-problems" step 0 (function "needs-dir"): spec.args[1]: variable ${outputDir} has no value and no default`,
				`task "two-problems" step 1 (function "needs-bucket"): spec.args[0]: variable ${REPOSITORY_BUKET} has no value and no default (did you mean ${REPOSITORY_BUCKET}?)`,
			},
		},
		"without the catalog the catalog Task is missing": {
			args:       []string{"resolve", "--no-catalog", "-f", golden + "/pvc-backup/input.yaml", "--backup-configuration", "data-backup"},
			wantCode:   1,
			wantStderr: []string{`BackupConfiguration "default/data-backup": spec.task.name: Task "pvc-backup" not found`},
		},
		"foreign kinds are ignored with a warning": {
			args:       []string{"resolve", "-f", "testdata/with-configmap.yaml", "--backup-configuration", "data-backup"},
			wantStderr: []string{"warning: testdata/with-configmap.yaml: document 0: ignoring ConfigMap (not used by resolve)"},
		},
		"a schedule the operator rejects, exit 1": {
			args:       []string{"resolve", "-f", "testdata/every-hour.yaml", "--backup-configuration", "hourly"},
			wantCode:   1,
			wantStderr: []string{`BackupConfiguration "default/hourly": spec.schedule: "@every 1h"`},
		},
		"a driver that is not supported, exit 1": {
			args:       []string{"resolve", "-f", "../../internal/resolve/testdata/errors/volume-snapshotter.yaml", "--backup-configuration", "app", "-n", "demo"},
			wantCode:   1,
			wantStderr: []string{`spec.driver: driver VolumeSnapshotter (CSI VolumeSnapshots) is not supported yet`, `spec.target.snapshotClassName`},
		},
		"two selectors is a usage error": {
			args:       []string{"resolve", "-f", golden, "--backup-session", "a", "--restore-session", "b"},
			wantCode:   2,
			wantStderr: []string{"name exactly one of --backup-session, --restore-session or --backup-configuration"},
		},
		"unknown flag is a usage error": {
			args: []string{"resolve", "--frobnicate"}, wantCode: 2, wantStderr: []string{"unknown flag: --frobnicate"},
		},
		"missing file is a usage error": {
			args: []string{"resolve", "-f", "does-not-exist.yaml", "--backup-session", "a"}, wantCode: 2,
			wantStderr: []string{"-f does-not-exist.yaml: stat does-not-exist.yaml: no such file or directory"},
		},
		"unknown field is an input error naming file and document": {
			args: []string{"resolve", "-f", "testdata/typo.yaml", "--backup-configuration", "x"}, wantCode: 1,
			wantStderr: []string{`testdata/typo.yaml: document 1: BackupConfiguration: unknown field "spec.retentionPolcy"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := runStash(t, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tc.wantCode, stderr)
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tc.wantCode != 0 {
				if stdout != "" {
					t.Errorf("stdout must be empty on failure, got:\n%s", stdout)
				}
				return
			}
			if jobs := checkCreated(t, stdout); jobs != max(tc.wantJobs, 1) {
				t.Errorf("stdout holds %d Jobs, want %d:\n%s", jobs, max(tc.wantJobs, 1), stdout)
			}
			if tc.wantStdout != "" {
				want, err := os.ReadFile(tc.wantStdout)
				if err != nil {
					t.Fatal(err)
				}
				if stdout != string(want) {
					t.Errorf("stdout differs from %s:\n%s", tc.wantStdout, stdout)
				}
			}
		})
	}
}

// checkCreated checks that stdout holds the objects the operator would
// create, strictly: Jobs, each after its interim claim if any. It returns
// how many Jobs.
func checkCreated(t *testing.T, stdout string) (jobs int) {
	t.Helper()
	docs, err := manifest.Split(strings.NewReader(stdout))
	if err != nil || len(docs) == 0 {
		t.Fatalf("stdout is not YAML documents (%v):\n%s", err, stdout)
	}
	for i, doc := range docs {
		gvk, err := manifest.GVK(doc.JSON)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var obj any
		switch {
		case gvk.Kind == "Job" && gvk.Group == "batch":
			obj = &batchv1.Job{}
			jobs++
		case gvk.Kind == "PersistentVolumeClaim" && gvk.Group == "" && i+1 < len(docs):
			obj = &corev1.PersistentVolumeClaim{}
		default:
			t.Fatalf("document %d is a %s, want a Job or the claim before one:\n%s", i, gvk, stdout)
		}
		if err := yaml.UnmarshalStrict(doc.JSON, obj); err != nil {
			t.Fatalf("document %d (%s): %v", i, gvk.Kind, err)
		}
	}
	return jobs
}

func TestResolveCLISynthesizesSessionAndPrintsJSON(t *testing.T) {
	stdout, stderr, code := runStash(t, "resolve", "-f", golden+"/pvc-backup/input.yaml", "--backup-configuration", "data-backup", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var job batchv1.Job
	if err := json.Unmarshal([]byte(stdout), &job); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^stash-backup-data-backup-[0-9]{10}-0$`).MatchString(job.Name) {
		t.Fatalf("Job name %q is not stash-backup-<configuration>-<unix seconds>-0", job.Name)
	}
	if job.Namespace != "default" {
		t.Fatalf("namespace %q: objects without one must get -n (default)", job.Namespace)
	}
}

// The README's resolve example must keep working as written.
func TestReadmeResolveExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)cat > /tmp/backup.yaml <<'YAML'\n(.*?)\nYAML\n`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no /tmp/backup.yaml example")
	}
	file := filepath.Join(t.TempDir(), "backup.yaml")
	if err := os.WriteFile(file, m[1], 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runStash(t, "resolve", "-f", file, "-n", "demo", "--backup-configuration", "data-backup")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "- backup-pvc") || !strings.Contains(stdout, "--backup-paths=/source/data") {
		t.Fatalf("unexpected Job:\n%s", stdout)
	}
}
