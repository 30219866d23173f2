package restic

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stash-operator/stash/internal/backend"
)

// writeSecret mounts a fake storage Secret: one file per key, as the
// kubelet does.
func writeSecret(t *testing.T, kv map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for k, v := range kv {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSecretEnv(t *testing.T) {
	all := map[string]string{
		"RESTIC_PASSWORD":                 "pw\n", // kept verbatim, as Stash does
		"AWS_ACCESS_KEY_ID":               "AKIA\n",
		"AWS_SECRET_ACCESS_KEY":           "aws-secret",
		"GOOGLE_PROJECT_ID":               "proj",
		"GOOGLE_SERVICE_ACCOUNT_JSON_KEY": `{"type":"service_account"}`,
		"AZURE_ACCOUNT_NAME":              "acct",
		"AZURE_ACCOUNT_KEY":               "az-key",
		"B2_ACCOUNT_ID":                   "b2id",
		"B2_ACCOUNT_KEY":                  "b2-key",
		"REST_SERVER_USERNAME":            "ruser",
		"REST_SERVER_PASSWORD":            "rpass",
		"ST_AUTH":                         "https://auth",
		"ST_USER":                         "stuser",
		"ST_KEY":                          "st-key",
		"OS_AUTH_URL":                     "https://keystone",
		"OS_PASSWORD":                     "os-pass",
		"OS_AUTH_TOKEN":                   "os-token",
	}
	tests := map[string]struct {
		provider string
		region   string
		cacert   bool
		wantEnv  map[string]string // besides RESTIC_PASSWORD
		secrets  []string          // values that must be scrubbed
	}{
		"local": {provider: "local", wantEnv: map[string]string{}},
		"s3": {provider: "s3", region: "eu-west-1", cacert: true, wantEnv: map[string]string{
			"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "aws-secret", "AWS_DEFAULT_REGION": "eu-west-1",
		}, secrets: []string{"AKIA", "aws-secret"}},
		"gcs": {provider: "gcs", wantEnv: map[string]string{
			"GOOGLE_PROJECT_ID": "proj", "GOOGLE_APPLICATION_CREDENTIALS": "<dir>/GOOGLE_SERVICE_ACCOUNT_JSON_KEY",
		}},
		"azure": {provider: "azure", wantEnv: map[string]string{"AZURE_ACCOUNT_NAME": "acct", "AZURE_ACCOUNT_KEY": "az-key"}, secrets: []string{"az-key"}},
		"b2":    {provider: "b2", wantEnv: map[string]string{"B2_ACCOUNT_ID": "b2id", "B2_ACCOUNT_KEY": "b2-key"}, secrets: []string{"b2-key"}},
		"swift": {provider: "swift", wantEnv: map[string]string{
			"ST_AUTH": "https://auth", "ST_USER": "stuser", "ST_KEY": "st-key", "OS_AUTH_URL": "https://keystone",
			"OS_PASSWORD": "os-pass", "OS_AUTH_TOKEN": "os-token",
		}, secrets: []string{"st-key", "os-pass", "os-token"}},
		"rest": {provider: "rest", wantEnv: map[string]string{"RESTIC_REST_USERNAME": "ruser", "RESTIC_REST_PASSWORD": "rpass"}, secrets: []string{"rpass"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			kv := map[string]string{}
			for k, v := range all {
				kv[k] = v
			}
			if tc.cacert {
				kv["CA_CERT_DATA"] = "-----BEGIN CERTIFICATE-----"
			}
			dir := writeSecret(t, kv)
			se, err := readSecretEnv(backend.Backend{Provider: tc.provider, Region: tc.region, SecretDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"RESTIC_PASSWORD": "pw\n"}
			for k, v := range tc.wantEnv {
				want[k] = strings.ReplaceAll(v, "<dir>", dir)
			}
			if !reflect.DeepEqual(se.env, want) {
				t.Fatalf("env = %q\nwant  %q", se.env, want)
			}
			var wantArgs []string
			if tc.cacert {
				wantArgs = []string{"--cacert", filepath.Join(dir, "CA_CERT_DATA")}
			}
			if !slices.Equal(se.args, wantArgs) {
				t.Fatalf("args = %q, want %q", se.args, wantArgs)
			}
			for _, s := range append([]string{"pw\n", "pw"}, tc.secrets...) {
				if !slices.Contains(se.secret, s) {
					t.Errorf("secret value %q is not scrubbed", s)
				}
			}
		})
	}
}

func TestSecretEnvMissingPassword(t *testing.T) {
	dir := writeSecret(t, map[string]string{"AWS_ACCESS_KEY_ID": "x"})
	_, err := readSecretEnv(backend.Backend{Provider: "s3", SecretDir: dir})
	if err == nil || !strings.Contains(err.Error(), "RESTIC_PASSWORD") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error = %v, want it to name RESTIC_PASSWORD and %s", err, dir)
	}
}

// TestNoSecretInArgsOrInheritedEnv: secrets go to the environment only, and
// the parent's own credentials never leak into restic's environment.
func TestNoSecretInArgsOrInheritedEnv(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "parent-aws-secret")
	t.Setenv("RESTIC_PASSWORD", "parent-restic-password")
	t.Setenv("RESTIC_REPOSITORY", "/parent/repo")
	const pw, key = "child-password-Zx81", "child-aws-secret-Qw92"
	dir := writeSecret(t, map[string]string{
		"RESTIC_PASSWORD": pw, "AWS_ACCESS_KEY_ID": "child-id", "AWS_SECRET_ACCESS_KEY": key, "CA_CERT_DATA": "pem",
	})
	r, err := New(Options{Binary: "true", Backend: backend.Backend{Provider: "s3", Bucket: "b", Endpoint: "http://127.0.0.1:1", SecretDir: dir, MaxConnections: 4}, ScratchDir: t.TempDir(), RetryLock: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Join(r.commandLine("backup", "--host", "h", "/data"), " ")
	for _, s := range []string{pw, key, "child-id"} {
		if strings.Contains(argv, s) {
			t.Fatalf("command line contains a secret: %s", argv)
		}
	}
	if !strings.Contains(argv, "--option s3.connections=4") || !strings.Contains(argv, "--retry-lock 1m30s") || !strings.Contains(argv, "--cacert "+filepath.Join(dir, "CA_CERT_DATA")) {
		t.Fatalf("command line misses options: %s", argv)
	}
	env := strings.Join(r.env, "\n")
	for _, s := range []string{"parent-aws-secret", "parent-restic-password", "/parent/repo"} {
		if strings.Contains(env, s) {
			t.Fatalf("restic's environment inherits %q from the parent", s)
		}
	}
	for _, s := range []string{"RESTIC_PASSWORD=" + pw, "AWS_SECRET_ACCESS_KEY=" + key, "TMPDIR="} {
		if !strings.Contains(env, s) {
			t.Fatalf("restic's environment lacks %q", strings.SplitN(s, "=", 2)[0])
		}
	}
}

func TestNiceWrapper(t *testing.T) {
	tests := map[string]struct {
		env     map[string]string
		want    []string
		wantErr bool
	}{
		"none":             {env: nil, want: nil},
		"nice only":        {env: map[string]string{"NICE_ADJUSTMENT": "5"}, want: []string{"nice", "-n", "5"}},
		"ionice class":     {env: map[string]string{"IONICE_CLASS": "2"}, want: []string{"ionice", "-c", "2"}},
		"ionice and data":  {env: map[string]string{"IONICE_CLASS": "2", "IONICE_CLASS_DATA": "7"}, want: []string{"ionice", "-c", "2", "-n", "7"}},
		"data alone":       {env: map[string]string{"IONICE_CLASS_DATA": "7"}, want: nil},
		"all":              {env: map[string]string{"IONICE_CLASS": "3", "IONICE_CLASS_DATA": "0", "NICE_ADJUSTMENT": "-2"}, want: []string{"ionice", "-c", "3", "-n", "0", "nice", "-n", "-2"}},
		"not a number":     {env: map[string]string{"NICE_ADJUSTMENT": "5; rm -rf /"}, wantErr: true},
		"class not number": {env: map[string]string{"IONICE_CLASS": "idle"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := niceWrapper(func(k string) string { return tc.env[k] })
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("wrapper = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFormatProcessingTime(t *testing.T) {
	tests := map[string]struct {
		d    time.Duration
		want string
	}{
		"zero":      {0, "0h0m0s"},
		"seconds":   {40 * time.Second, "0h0m40s"},
		"rounds":    {1500 * time.Millisecond, "0h0m2s"},
		"minutes":   {62*time.Second + 300*time.Millisecond, "0h1m2s"},
		"hours":     {3*time.Hour + 4*time.Minute + 5*time.Second, "3h4m5s"},
		"negative":  {-time.Second, "0h0m0s"},
		"many days": {50 * time.Hour, "50h0m0s"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := FormatProcessingTime(tc.d); got != tc.want {
				t.Fatalf("FormatProcessingTime(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := map[string]struct {
		code   int
		stderr string
		want   error
	}{
		"exit 10":             {10, "Fatal: repository does not exist: unable to open config file", ErrRepositoryNotFound},
		"exit 12":             {12, "Fatal: wrong password or no key found", ErrWrongPassword},
		"exit 11":             {11, "unable to create lock in backend", ErrLocked},
		"exit 3":              {3, "", ErrIncomplete},
		"refused":             {1, "dial tcp 127.0.0.1:1: connect: connection refused", ErrUnreachable},
		"dns":                 {1, "lookup nowhere.invalid: no such host", ErrUnreachable},
		"s3 denied":           {1, "Fatal: unable to open config file: Stat: Access Denied.", ErrAccessDenied},
		"s3 bad key":          {1, "The AWS Access Key Id you provided does not exist in our records. (InvalidAccessKeyId)", ErrAccessDenied},
		"old restic password": {1, "Fatal: wrong password or no key found", ErrWrongPassword},
		"no latest":           {1, "Fatal: failed to find snapshot: snapshot filter (Paths:[/x] Tags:[] Hosts:[h]): no snapshot found", ErrSnapshotNotFound},
		"no such id":          {1, `Fatal: failed to find snapshot: no matching ID found for prefix "deadbeef"`, ErrSnapshotNotFound},
		"unclassified":        {1, "Fatal: something else", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := classify(tc.code, tc.stderr); !errors.Is(got, tc.want) && got != tc.want {
				t.Fatalf("classify(%d, %q) = %v, want %v", tc.code, tc.stderr, got, tc.want)
			}
		})
	}
}

// TestCommandErrorScrubs: whatever restic prints, an error never carries a
// credential, even one that contains another credential.
func TestCommandErrorScrubs(t *testing.T) {
	r := &Repo{repo: "s3:http://x/b", secrets: []string{"s3cr3t-long-value", "s3cr3t"}}
	stderr := `{"message_type":"exit_error","code":1,"message":"Fatal: bad key s3cr3t-long-value"}` + "\nplain line with s3cr3t"
	err := r.cmdError(t.Context(), "backup", 1, stderr, errors.New("exit status 1"))
	msg := err.Error()
	if strings.Contains(msg, "s3cr3t") {
		t.Fatalf("error leaks a secret: %s", msg)
	}
	if !strings.Contains(msg, "Fatal: bad key <redacted>") {
		t.Fatalf("error lost restic's message: %s", msg)
	}
}
