package function

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	"github.com/spf13/pflag"

	appcatalog "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	"github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/api/stash/v1beta1"
	catalogfiles "github.com/stash-operator/stash/config/catalog"
	"github.com/stash-operator/stash/internal/process"
	"github.com/stash-operator/stash/internal/resolve/subst"
	"github.com/stash-operator/stash/internal/restic"
	"github.com/stash-operator/stash/internal/testenv"
)

func TestSplitArgs(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    []string
		wantErr string
	}{
		"empty":                {in: "", want: nil},
		"blanks":               {in: " \t\n ", want: nil},
		"catalog default":      {in: "--all-databases", want: []string{"--all-databases"}},
		"whitespace separated": {in: "  --clean\t--if-exists \n -v ", want: []string{"--clean", "--if-exists", "-v"}},
		"single quotes":        {in: `--exclude-database='my db'`, want: []string{"--exclude-database=my db"}},
		"double quotes":        {in: `--exclude-database="a \"b\" c\\d"`, want: []string{`--exclude-database=a "b" c\d`}},
		"backslash in double":  {in: `"a\nb"`, want: []string{`a\nb`}},
		"escaped space":        {in: `a\ b c`, want: []string{"a b", "c"}},
		"empty quoted word":    {in: `--x '' y`, want: []string{"--x", "", "y"}},
		// No shell runs: what a shell would expand stays as written.
		"no expansion":     {in: `$HOME * ; $(id) | x`, want: []string{"$HOME", "*", ";", "$(id)", "|", "x"}},
		"unterminated":     {in: `--x 'abc`, wantErr: "unterminated quote"},
		"unterminated dbl": {in: `"abc`, wantErr: "unterminated quote"},
		"lone backslash":   {in: `abc\`, wantErr: "lone backslash"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := splitArgs(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("splitArgs(%q) = %q, %v; want error %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("splitArgs(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestClientConfigAddress(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := map[string]struct {
		cc       appcatalog.ClientConfig
		wantHost string
		wantPort int
		wantErr  string
	}{
		"service with port":     {cc: appcatalog.ClientConfig{Service: &appcatalog.ServiceReference{Name: "pg", Port: 5433}}, wantHost: "pg", wantPort: 5433},
		"service default port":  {cc: appcatalog.ClientConfig{Service: &appcatalog.ServiceReference{Name: "pg"}}, wantHost: "pg", wantPort: 5432},
		"service wins over url": {cc: appcatalog.ClientConfig{URL: str("postgresql://other:1"), Service: &appcatalog.ServiceReference{Name: "pg"}}, wantHost: "pg", wantPort: 5432},
		"service without name":  {cc: appcatalog.ClientConfig{Service: &appcatalog.ServiceReference{Port: 1}}, wantErr: "service has no name"},
		"url":                   {cc: appcatalog.ClientConfig{URL: str("postgresql://127.0.0.1:6543/postgres?sslmode=disable")}, wantHost: "127.0.0.1", wantPort: 6543},
		"url default port":      {cc: appcatalog.ClientConfig{URL: str("postgres://db.example")}, wantHost: "db.example", wantPort: 5432},
		"url host:port":         {cc: appcatalog.ClientConfig{URL: str("db:7000")}, wantHost: "db", wantPort: 7000},
		"url ipv6":              {cc: appcatalog.ClientConfig{URL: str("postgresql://[::1]:5444")}, wantHost: "::1", wantPort: 5444},
		"url with userinfo":     {cc: appcatalog.ClientConfig{URL: str("postgresql://u:hunter2@db:5000")}, wantHost: "db", wantPort: 5000},
		"mysql driver dsn":      {cc: appcatalog.ClientConfig{URL: str("root:pw@tcp(mysql.demo:3307)/")}, wantHost: "mysql.demo", wantPort: 3307},
		"mysql dsn no port":     {cc: appcatalog.ClientConfig{URL: str("tcp(mysql)/")}, wantHost: "mysql", wantPort: 5432},
		"neither":               {cc: appcatalog.ClientConfig{}, wantErr: "neither service nor url"},
		"bad port":              {cc: appcatalog.ClientConfig{URL: str("postgresql://u:hunter2@db:99999")}, wantErr: "not a TCP port"},
		"no host":               {cc: appcatalog.ClientConfig{URL: str("postgresql://u:hunter2@:5432")}, wantErr: "names no host"},
		"unparsable":            {cc: appcatalog.ClientConfig{URL: str("postgresql://u:hunter2@db:5432/%zz")}, wantErr: "is not a URL"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			host, port, err := clientConfigAddress(tc.cc, 5432)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q %d %v, want error %q", host, port, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error repeats the URL's password: %v", err)
				}
				return
			}
			if err != nil || host != tc.wantHost || port != tc.wantPort {
				t.Fatalf("got %q %d %v, want %q %d", host, port, err, tc.wantHost, tc.wantPort)
			}
		})
	}
}

func TestTransformSecret(t *testing.T) {
	extra := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "extra"}, Data: map[string][]byte{"password": []byte("from-extra"), "x": []byte("1")}}
	cl := fake.NewClientBuilder().WithObjects(extra).Build()
	in := map[string][]byte{"user": []byte("app"), "pass": []byte("pw"), "junk": []byte("j")}
	tests := map[string]struct {
		transforms []appcatalog.SecretTransform
		want       map[string]string
		wantErr    string
	}{
		"none": {want: map[string]string{"user": "app", "pass": "pw", "junk": "j"}},
		"rename, add and remove in order": {
			transforms: []appcatalog.SecretTransform{
				{RenameKey: &appcatalog.RenameKeyTransform{From: "user", To: "POSTGRES_USER"}},
				{RenameKey: &appcatalog.RenameKeyTransform{From: "missing", To: "ignored"}},
				{AddKey: &appcatalog.AddKeyTransform{Key: "POSTGRES_PASSWORD", Value: []byte("added")}},
				{RemoveKey: &appcatalog.RemoveKeyTransform{Key: "junk"}},
			},
			want: map[string]string{"POSTGRES_USER": "app", "pass": "pw", "POSTGRES_PASSWORD": "added"},
		},
		"rename overwrites": {
			transforms: []appcatalog.SecretTransform{{RenameKey: &appcatalog.RenameKeyTransform{From: "pass", To: "user"}}},
			want:       map[string]string{"user": "pw", "junk": "j"},
		},
		"addKeysFrom": {
			transforms: []appcatalog.SecretTransform{{AddKeysFrom: &appcatalog.AddKeysFromTransform{SecretRef: &corev1.LocalObjectReference{Name: "extra"}}}},
			want:       map[string]string{"user": "app", "pass": "pw", "junk": "j", "password": "from-extra", "x": "1"},
		},
		"addKeysFrom missing secret": {
			transforms: []appcatalog.SecretTransform{{AddKeysFrom: &appcatalog.AddKeysFromTransform{SecretRef: &corev1.LocalObjectReference{Name: "nope"}}}},
			wantErr:    "[0].addKeysFrom: Secret demo/nope not found",
		},
		"rename without target": {
			transforms: []appcatalog.SecretTransform{{}, {RenameKey: &appcatalog.RenameKeyTransform{From: "user"}}},
			wantErr:    "[1].renameKey needs both from and to",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := transformSecret(t.Context(), cl, "demo", in, tc.transforms)
			if !wantError(t, err, tc.wantErr) {
				return
			}
			gotS := map[string]string{}
			for k, v := range got {
				gotS[k] = string(v)
			}
			if !reflect.DeepEqual(gotS, tc.want) {
				t.Fatalf("got %v, want %v", gotS, tc.want)
			}
		})
	}
	if string(in["user"]) != "app" || len(in) != 3 {
		t.Fatalf("the Secret's own data was modified: %v", in)
	}
}

// TestAppBindingConnection reads connections through a fake client; the
// real API server path is in TestPGAppBinding.
func TestAppBindingConnection(t *testing.T) {
	url := "postgresql://10.0.0.1:5433"
	objs := []runtime.Object{
		&appcatalog.AppBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "pg"},
			Spec: appcatalog.AppBindingSpec{ClientConfig: appcatalog.ClientConfig{URL: &url}, Secret: &corev1.LocalObjectReference{Name: "pg-auth"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "pg-auth"},
			Data: map[string][]byte{"POSTGRES_USER": []byte("postgres"), "POSTGRES_PASSWORD": []byte("Secret-PW-1")}},
		&appcatalog.AppBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "mysql"},
			Spec: appcatalog.AppBindingSpec{ClientConfig: appcatalog.ClientConfig{Service: &appcatalog.ServiceReference{Name: "mysql"}}, Secret: &corev1.LocalObjectReference{Name: "generic"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "generic"},
			Data: map[string][]byte{"username": []byte("admin"), "password": []byte("")}},
		&appcatalog.AppBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "no-secret"},
			Spec: appcatalog.AppBindingSpec{ClientConfig: appcatalog.ClientConfig{URL: &url}}},
		&appcatalog.AppBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "dangling"},
			Spec: appcatalog.AppBindingSpec{ClientConfig: appcatalog.ClientConfig{URL: &url}, Secret: &corev1.LocalObjectReference{Name: "gone"}}},
		&appcatalog.AppBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "wrong-keys"},
			Spec: appcatalog.AppBindingSpec{ClientConfig: appcatalog.ClientConfig{URL: &url}, Secret: &corev1.LocalObjectReference{Name: "pg-auth"}}},
	}
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	_ = appcatalog.AddToScheme(scheme)
	cl := fake.NewClientBuilder().WithScheme(scheme).WithRuntimeObjects(objs...).Build()
	tests := map[string]struct {
		name    string
		engine  *engine
		want    connection
		wantErr string
	}{
		"postgres keys and url":   {name: "pg", engine: &postgres, want: connection{Host: "10.0.0.1", Port: 5433, User: "postgres", Password: "Secret-PW-1"}},
		"generic keys, service":   {name: "mysql", engine: &mysql, want: connection{Host: "mysql", Port: 3306, User: "admin", Password: ""}},
		"missing appbinding":      {name: "nope", engine: &postgres, wantErr: "AppBinding demo/nope not found: check --appbinding (the target's name) and --namespace"},
		"no secret":               {name: "no-secret", engine: &postgres, wantErr: "AppBinding demo/no-secret has no spec.secret"},
		"missing secret":          {name: "dangling", engine: &postgres, wantErr: "Secret demo/gone not found: it is named by AppBinding demo/dangling spec.secret"},
		"secret lacks mysql keys": {name: "wrong-keys", engine: &mysql, wantErr: "has none of the keys MYSQL_ROOT_USERNAME, username"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := appBindingConnection(t.Context(), cl, "demo", tc.name, tc.engine)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestSecretNeverFormats: a connection printed by mistake shows no password.
func TestSecretNeverFormats(t *testing.T) {
	c := connection{Host: "h", Port: 1, User: "u", Password: "Top-Secret-42"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(c.Password)} {
		if strings.Contains(s, "Top-Secret-42") {
			t.Fatalf("password formatted: %s", s)
		}
	}
	env := childEnv(&postgres, c)
	if !contains(env, "PGPASSWORD=Top-Secret-42") {
		t.Fatal("the child gets no PGPASSWORD")
	}
	for _, a := range postgres.connArgs(c) {
		if strings.Contains(a, "Top-Secret-42") {
			t.Fatal("the password is an argument")
		}
	}
	t.Setenv("MYSQL_PWD", "stale")
	t.Setenv("PGPASSWORD", "stale")
	t.Setenv("PGSSLMODE", "verify-full")
	env = childEnv(&postgres, connection{})
	for _, kv := range env {
		if strings.HasPrefix(kv, "MYSQL_PWD=") || strings.HasPrefix(kv, "PGPASSWORD=") {
			t.Fatalf("child env keeps %s", kv)
		}
	}
	if !contains(env, "PGSSLMODE=verify-full") {
		t.Fatal("the client's own settings (PGSSLMODE) do not reach it")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestPsqlErrors(t *testing.T) {
	tests := map[string]struct {
		stderr  string
		wantErr string // empty: the restore succeeds
	}{
		"clean":         {stderr: ""},
		"notices only":  {stderr: "psql:<stdin>:1: NOTICE:  database \"x\" does not exist, skipping\n"},
		"existing role": {stderr: "psql:<stdin>:14: ERROR:  role \"postgres\" already exists\n"},
		"existing db and table": {stderr: "psql:<stdin>:30: ERROR:  database \"shop\" already exists\n" +
			"psql:<stdin>:40: ERROR:  relation \"orders\" already exists\n"},
		"dump of pg_dumpall 17 into a server before 17": {stderr: "psql:<stdin>:54: ERROR:  unrecognized configuration parameter \"transaction_timeout\"\n"},
		"another unknown setting": {
			stderr:  "psql:<stdin>:54: ERROR:  unrecognized configuration parameter \"no_such_setting\"\n",
			wantErr: `unrecognized configuration parameter "no_such_setting"`,
		},
		"duplicate key": {
			stderr: "psql:<stdin>:14: ERROR:  role \"postgres\" already exists\n" +
				"psql:<stdin>:50: ERROR:  duplicate key value violates unique constraint \"orders_pkey\"\n" +
				"DETAIL:  Key (id)=(1) already exists.\nCONTEXT:  COPY orders, line 1\n",
			wantErr: `psql reported 1 failed statement(s), so the databases are only partly restored: psql:<stdin>:50: ERROR:  duplicate key value violates unique constraint "orders_pkey"`,
		},
		"failed connect": {
			stderr:  "psql:<stdin>:60: \\connect: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"gone\" does not exist\n",
			wantErr: `FATAL:  database "gone" does not exist`,
		},
		"many": {
			stderr:  strings.Repeat("psql:<stdin>:9: ERROR:  permission denied for table t\n", 5),
			wantErr: "reported 5 failed statement(s)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := &psqlErrors{}
			s := process.NewTail(process.StderrTailLines, p.line)
			_, _ = s.Write([]byte(tc.stderr))
			s.Flush()
			err := p.err("psql")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	p := &psqlErrors{}
	for range 5 {
		p.line("psql:<stdin>:9: ERROR:  boom")
	}
	if err := p.err("psql"); !strings.HasSuffix(err.Error(), "; and 2 more") {
		t.Fatalf("err = %v, want the count of the errors not shown", err)
	}
}

// TestCatalogArgsParse substitutes the catalog's database Functions the way
// the resolver would for a Job (variables not set take their defaults) and
// parses the result with the command's flags.
func TestCatalogArgsParse(t *testing.T) {
	vars := map[string]string{
		"REPOSITORY_PROVIDER": "s3", "REPOSITORY_BUCKET": "b", "REPOSITORY_ENDPOINT": "http://minio:9000",
		"REPOSITORY_PREFIX": "demo/db", "HOSTNAME": "", "outputDir": "/tmp/output", "NAMESPACE": "demo",
		"TARGET_NAME": "sample-db", "RESTORE_SNAPSHOTS": "", "SOURCE_HOSTNAME": "", "RETENTION_KEEP_LAST": "5",
	}
	type parsed struct {
		db         DatabaseOptions
		snapshots  []string
		sourceHost string
		database   string
	}
	tests := map[string]struct {
		parse func(fs *pflag.FlagSet, args []string) (parsed, error)
		want  parsed
	}{
		"function-postgres-backup.yaml": {
			parse: func(fs *pflag.FlagSet, args []string) (parsed, error) {
				var o BackupPGOptions
				o.AddFlags(fs)
				err := fs.Parse(args)
				return parsed{db: o.DatabaseOptions}, err
			},
			// databases empty: every database (pg_dumpall)
			want: parsed{db: DatabaseOptions{Namespace: "demo", AppBinding: "sample-db", ExtraArgs: "", WaitTimeout: 300, Databases: []string{}}},
		},
		"function-postgres-restore.yaml": {
			parse: func(fs *pflag.FlagSet, args []string) (parsed, error) {
				var o RestorePGOptions
				o.AddFlags(fs)
				err := fs.Parse(args)
				return parsed{db: o.DatabaseOptions, snapshots: o.Snapshots, sourceHost: o.SourceHostname, database: o.Database}, err
			},
			want: parsed{db: DatabaseOptions{Namespace: "demo", AppBinding: "sample-db", WaitTimeout: 300}, snapshots: []string{}},
		},
		"function-mysql-backup.yaml": {
			parse: func(fs *pflag.FlagSet, args []string) (parsed, error) {
				var o BackupMySQLOptions
				o.AddFlags(fs)
				err := fs.Parse(args)
				return parsed{db: o.DatabaseOptions}, err
			},
			want: parsed{db: DatabaseOptions{Namespace: "demo", AppBinding: "sample-db", ExtraArgs: "--all-databases", WaitTimeout: 300}},
		},
		"function-mysql-restore.yaml": {
			parse: func(fs *pflag.FlagSet, args []string) (parsed, error) {
				var o RestoreMySQLOptions
				o.AddFlags(fs)
				err := fs.Parse(args)
				return parsed{db: o.DatabaseOptions, snapshots: o.Snapshots, sourceHost: o.SourceHostname}, err
			},
			want: parsed{db: DatabaseOptions{Namespace: "demo", AppBinding: "sample-db", WaitTimeout: 300}, snapshots: []string{}},
		},
		"function-redis-backup.yaml": {
			parse: func(fs *pflag.FlagSet, args []string) (parsed, error) {
				var o BackupRedisOptions
				o.AddFlags(fs)
				err := fs.Parse(args)
				return parsed{db: o.DatabaseOptions}, err
			},
			want: parsed{db: DatabaseOptions{Namespace: "demo", AppBinding: "sample-db", WaitTimeout: 300}},
		},
		"function-redis-restore.yaml": {
			parse: func(fs *pflag.FlagSet, args []string) (parsed, error) {
				var o RestoreRedisOptions
				o.AddFlags(fs)
				err := fs.Parse(args)
				return parsed{db: o.DatabaseOptions, snapshots: o.Snapshots, sourceHost: o.SourceHostname}, err
			},
			want: parsed{db: DatabaseOptions{Namespace: "demo", AppBinding: "sample-db", WaitTimeout: 300}, snapshots: []string{}},
		},
	}
	for file, tc := range tests {
		t.Run(file, func(t *testing.T) {
			data, err := fs.ReadFile(catalogfiles.FS, file)
			if err != nil {
				t.Fatal(err)
			}
			var fn v1beta1.Function
			if err := yaml.UnmarshalStrict(data, &fn); err != nil {
				t.Fatal(err)
			}
			var args []string
			for _, a := range fn.Spec.Args[1:] { // [0] is the sub-command
				v, err := subst.Eval(a, func(name string) (string, bool) { v, ok := vars[name]; return v, ok })
				if err != nil {
					t.Fatalf("%s: %v", a, err)
				}
				args = append(args, v)
			}
			got, err := tc.parse(pflag.NewFlagSet(file, pflag.ContinueOnError), args)
			if err != nil {
				t.Fatalf("the command rejects the catalog's arguments %q: %v", args, err)
			}
			// Only the database flags are compared; Setup has its own test.
			if got.db.Provider != "s3" || got.db.Path != "demo/db" || got.db.OutputDir != "/tmp/output" {
				t.Fatalf("common flags not parsed: %+v", got.db.Setup)
			}
			got.db.Setup = Setup{}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parsed %+v\nwant   %+v", got, tc.want)
			}
		})
	}
}

// Helpers for the database tests against real servers.

const dbRepoPassword = "db-repo-Password-5517"

// dbSetup points Setup at path in a bucket of s3. Everything the run logs
// goes to the returned buffer, so that tests can check it for secrets.
func dbSetup(t *testing.T, s3 testenv.S3, path string) (Setup, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{"RESTIC_PASSWORD": dbRepoPassword, "AWS_ACCESS_KEY_ID": s3.AccessKey, "AWS_SECRET_ACCESS_KEY": s3.SecretKey} {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	return Setup{
		Provider:     "s3",
		Endpoint:     s3.URL(),
		Bucket:       "stash",
		Path:         path,
		SecretDir:    dir,
		ScratchDir:   t.TempDir(),
		EnableCache:  true,
		Hostname:     "host-0",
		OutputDir:    filepath.Join(t.TempDir(), "output"),
		ResticBinary: testenv.Binary(t, "restic"),
		Retention:    v1alpha1.RetentionPolicy{KeepLast: 5},
		Log:          &log,
		// What the catalog Functions default to: Stash v0.9's sequence.
		CheckRepository: true, MeasureRepository: true,
	}, &log
}

// repoSnapshots lists the repository's snapshots of every host.
func repoSnapshots(t *testing.T, s Setup) []restic.Snapshot {
	t.Helper()
	snaps, err := listSnapshots(t, s)
	if err != nil {
		t.Fatal(err)
	}
	return snaps
}

func listSnapshots(t *testing.T, s Setup) ([]restic.Snapshot, error) {
	t.Helper()
	s.Log = nil
	repo, err := s.NewRepo()
	if err != nil {
		t.Fatal(err)
	}
	return repo.Snapshots(t.Context(), restic.SnapshotFilter{})
}

// assertNoSecrets fails t if any text holds one of the secrets.
func assertNoSecrets(t *testing.T, secrets []string, texts map[string]string) {
	t.Helper()
	for where, text := range texts {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("a secret leaked into %s", where)
			}
		}
	}
}

// outputFile is output.json as written, for secret checks.
func outputFile(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, OutputFileName))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// wantError checks err against want (empty: no error) and reports whether
// the test goes on: only when no error was wanted, and none came.
func wantError(t *testing.T, err error, want string) bool {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want %q", err, want)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// checkFailedBackup checks the output of a backup that must fail: its host
// Failed saying each of wantErr, no snapshot in the repository, and none of
// secrets in the log or the error.
func checkFailedBackup(t *testing.T, out BackupOutput, setup Setup, log *bytes.Buffer, wantErr, secrets []string) {
	t.Helper()
	h := out.HostBackupStats[0]
	if h.Phase != v1beta1.HostBackupFailed || len(h.Snapshots) != 0 || out.Repository != nil {
		t.Fatalf("output = %+v", out)
	}
	for _, w := range wantErr {
		if !strings.Contains(h.Error, w) {
			t.Errorf("error %q does not contain %q", h.Error, w)
		}
	}
	// A dump that fails before its first byte reaches a new repository
	// leaves no repository at all: restic creates it with the backup.
	if snaps, err := listSnapshots(t, setup); err != nil && !errors.Is(err, restic.ErrRepositoryNotFound) {
		t.Fatal(err)
	} else if len(snaps) != 0 {
		t.Fatalf("the failed dump left snapshots: %+v", snaps)
	}
	assertNoSecrets(t, append([]string{dbRepoPassword}, secrets...), map[string]string{"the log": log.String(), "error": h.Error})
}

// backupOK runs a backup with run and returns its single snapshot's stats.
func backupOK(t *testing.T, run func(stdout *bytes.Buffer) error, outputDir, dumpFile string) v1beta1.SnapshotStats {
	t.Helper()
	var stdout bytes.Buffer
	if err := run(&stdout); err != nil {
		t.Fatalf("backup returned %v", err)
	}
	out, err := ReadBackupOutput(outputDir)
	if err != nil {
		t.Fatal(err)
	}
	if out.Failed() || len(out.HostBackupStats) != 1 || len(out.HostBackupStats[0].Snapshots) != 1 {
		t.Fatalf("backup failed: %+v\n%s", out.HostBackupStats, stdout.String())
	}
	if r := out.Repository; r == nil || r.Integrity == nil || !*r.Integrity || r.SnapshotCount == 0 {
		t.Fatalf("repository stats = %+v", out.Repository)
	}
	s := out.HostBackupStats[0].Snapshots[0]
	if s.Path != dumpFile || len(s.Name) != 8 || *s.FileStats.TotalFiles != 1 {
		t.Fatalf("snapshot stats = %+v", s)
	}
	return s
}

// restoreResult runs a restore with run and returns its host entry.
func restoreResult(t *testing.T, run func(stdout *bytes.Buffer) error, outputDir string) v1beta1.HostRestoreStats {
	t.Helper()
	var stdout bytes.Buffer
	if err := run(&stdout); err != nil {
		t.Fatalf("restore returned %v; a logical failure must only be recorded", err)
	}
	out, err := ReadRestoreOutput(outputDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.HostRestoreStats) != 1 {
		t.Fatalf("restore output = %+v", out)
	}
	return out.HostRestoreStats[0]
}

// TestDumpToRepoChecksExitStatus pins the core promise with stand-in dump
// programs: a snapshot is kept only when the dump exited 0, whenever it
// fails, even after its last byte (when restic has all the data).
func TestDumpToRepoChecksExitStatus(t *testing.T) {
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "RESTIC_PASSWORD"), []byte(dbRepoPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	o := DatabaseOptions{Setup: Setup{Provider: "local", Bucket: filepath.Join(t.TempDir(), "repo"), SecretDir: secrets,
		ScratchDir: t.TempDir(), ResticBinary: testenv.Binary(t, "restic")}}
	repo, err := o.NewRepo()
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	sh := func(script string) dumpPart {
		return dumpPart{program: &process.Program{Path: "/bin/sh", Args: []string{"-c", script}, Env: os.Environ()}}
	}
	tests := map[string]struct {
		parts   []dumpPart
		wantErr string // empty: a snapshot holding "data" is kept
	}{
		"success": {parts: []dumpPart{sh(`printf data`)}},
		"fails at once": {parts: []dumpPart{sh(`echo "bad option" >&2; exit 2`)},
			wantErr: "sh failed with exit code 2: bad option; no snapshot was kept"},
		"fails midway": {parts: []dumpPart{sh(`head -c 3000000 /dev/zero; echo "lost connection" >&2; exit 7`)},
			wantErr: "sh failed with exit code 7: lost connection; no snapshot was kept"},
		// The output is complete before the exit status is known: restic
		// must not take the end of the output for a good dump.
		"fails after its output": {parts: []dumpPart{sh(`printf data; exec >&-; sleep 1; echo "late failure" >&2; exit 3`)},
			wantErr: "sh failed with exit code 3: late failure; no snapshot was kept"},
		"killed": {parts: []dumpPart{sh(`printf data; kill -9 $$`)},
			wantErr: "sh was stopped (signal: killed); no snapshot was kept"},
		"programs and text, one after another": {parts: []dumpPart{sh(`printf d`), {text: "a"}, sh(`printf t`), sh(`printf a`)}},
		"the second program fails": {parts: []dumpPart{sh(`printf data`), {text: "\n"}, sh(`head -c 3000000 /dev/zero; echo "gone" >&2; exit 4`), sh(`printf never`)},
			wantErr: "sh failed with exit code 4: gone; no snapshot was kept"},
		"a program that cannot start": {parts: []dumpPart{sh(`printf data`), {program: &process.Program{Path: "/no/such/program"}}},
			wantErr: "start program: fork/exec /no/such/program: no such file or directory; no snapshot was kept"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			host := strings.ReplaceAll(name, " ", "-")
			host = strings.ReplaceAll(host, ",", "")
			sum, err := o.dumpToRepo(t.Context(), repo, tc.parts, DumpFileName, host)
			snaps, lerr := repo.Snapshots(t.Context(), restic.SnapshotFilter{Host: host})
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || sum != nil {
					t.Fatalf("dumpToRepo = %v, %v; want error %q", sum, err, tc.wantErr)
				}
				if len(snaps) != 0 {
					t.Fatalf("a failed dump left snapshots %+v", snaps)
				}
				return
			}
			if err != nil || len(snaps) != 1 || snaps[0].ID != sum.SnapshotID {
				t.Fatalf("dumpToRepo = %+v, %v; snapshots %+v", sum, err, snaps)
			}
			var got bytes.Buffer
			if err := repo.Dump(t.Context(), sum.SnapshotID, "", DumpFileName, &got); err != nil || got.String() != "data" {
				t.Fatalf("dump = %q, %v", got.String(), err)
			}
		})
	}

	// Restore side: both the client's and restic's failures are reported.
	sum, err := o.dumpToRepo(t.Context(), repo, []dumpPart{{program: &process.Program{Path: "/bin/sh", Args: []string{"-c", "head -c 3000000 /dev/zero"}, Env: os.Environ()}}}, DumpFileName, "big")
	if err != nil {
		t.Fatal(err)
	}
	restores := map[string]struct {
		script, snapshot string
		wantErr          string // empty: success
	}{
		"client reads all":       {script: `cat > /dev/null`, snapshot: sum.SnapshotID},
		"client fails":           {script: `cat > /dev/null; echo "syntax error" >&2; exit 4`, snapshot: sum.SnapshotID, wantErr: "sh failed with exit code 4: syntax error"},
		"client fails at once":   {script: `echo "access denied" >&2; exit 1`, snapshot: sum.SnapshotID, wantErr: "sh failed with exit code 1: access denied"},
		"client stops reading":   {script: `head -c 10 > /dev/null`, snapshot: sum.SnapshotID, wantErr: "read dumpfile.sql from the repository: "},
		"snapshot without dump":  {script: `cat > /dev/null`, snapshot: "deadbeef", wantErr: "read dumpfile.sql from the repository: "},
		"latest of unknown host": {script: `cat > /dev/null`, snapshot: restic.Latest, wantErr: "read dumpfile.sql from the repository: "},
	}
	for name, tc := range restores {
		t.Run("restore "+name, func(t *testing.T) {
			cl := process.Program{Path: "/bin/sh", Args: []string{"-c", tc.script}, Env: os.Environ()}
			err := o.dumpToClient(t.Context(), &mysql, repo, cl, tc.snapshot, "no-such-host", nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("dumpToClient = %v, want %q...", err, tc.wantErr)
			}
		})
	}
}

// TestPinAddress: a name of one address is pinned for the clients that
// take one (PGHOSTADDR); an address, a name of several and an engine
// without such a variable are left alone.
func TestPinAddress(t *testing.T) {
	tests := map[string]struct {
		e        *engine
		host     string
		wantAddr string
	}{
		"an address":                     {e: &postgres, host: "127.0.0.1"},
		"a name that does not resolve":   {e: &postgres, host: "no-such-host.invalid"},
		"an engine without the variable": {e: &mysql, host: "localhost"},
	}
	// localhost: one address or two (::1), by the machine's /etc/hosts.
	if addrs, err := net.LookupHost("localhost"); err == nil && len(addrs) == 1 {
		tests["a name of one address"] = struct {
			e        *engine
			host     string
			wantAddr string
		}{e: &postgres, host: "localhost", wantAddr: addrs[0]}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var log bytes.Buffer
			o := DatabaseOptions{Setup: Setup{Log: &log}}
			c := o.pinAddress(t.Context(), tc.e, connection{Host: tc.host, Password: "pw"})
			if c.Addr != tc.wantAddr {
				t.Fatalf("Addr = %q, want %q", c.Addr, tc.wantAddr)
			}
			env := strings.Join(childEnv(tc.e, c), "\n")
			if has := strings.Contains(env, "PGHOSTADDR="+tc.wantAddr+"\n") || strings.HasSuffix(env, "PGHOSTADDR="+tc.wantAddr); has != (tc.wantAddr != "") {
				t.Errorf("the client's environment has PGHOSTADDR=%q: %v", tc.wantAddr, has)
			}
		})
	}
}
