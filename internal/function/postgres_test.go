package function

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	appcatalog "github.com/stash-operator/stash/api/appcatalog/v1alpha1"
	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/testenv"
)

// pgServer is a test PostgreSQL server with helpers to run SQL on it.
type pgServer struct{ testenv.Database }

func startPG(t *testing.T) pgServer {
	t.Helper()
	return pgServer{testenv.StartPostgres(t)}
}

func (p pgServer) psql(dbname string) *exec.Cmd {
	cmd := exec.Command("psql", "-h", p.Host, "-p", strconv.Itoa(p.Port), "-U", p.User, "-d", dbname,
		"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+p.Password)
	return cmd
}

// sql runs statements one by one (CREATE DATABASE cannot share a
// transaction) and returns what they printed.
func (p pgServer) sql(t *testing.T, dbname, statements string) string {
	t.Helper()
	cmd := p.psql(dbname)
	cmd.Stdin = strings.NewReader(statements)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql %s: %v: %s", dbname, err, out)
	}
	return strings.TrimSpace(string(out))
}

// seed makes two databases and a role that owns a table: 100k rows with
// NULLs, quotes, tabs, newlines and JSON, so that a checksum means something.
func (p pgServer) seed(t *testing.T) {
	t.Helper()
	p.sql(t, "postgres", `CREATE ROLE app_owner NOLOGIN;
CREATE DATABASE shop;
CREATE DATABASE audit;`)
	p.sql(t, "shop", `
CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(10,2), created timestamptz);
INSERT INTO orders SELECT g, 'customer-' || (g % 977), (g * 7 % 100000) / 100.0,
  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 60000) g;
ALTER TABLE orders OWNER TO app_owner;
CREATE TABLE items (id int PRIMARY KEY, order_id int REFERENCES orders(id), sku text, note text);
INSERT INTO items SELECT g, 1 + g % 60000, md5(g::text),
  CASE WHEN g % 5 = 0 THEN E'quote '' tab\t newline\n \\ end' END FROM generate_series(1, 20000) g;`)
	p.sql(t, "audit", `
CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb, at date);
INSERT INTO events SELECT g, jsonb_build_object('n', g, 's', repeat('x', g % 50)), date '2020-01-01' + g % 1000
  FROM generate_series(1, 20000) g;`)
}

// drop removes what seed made, as a disaster would.
func (p pgServer) drop(t *testing.T) {
	t.Helper()
	p.sql(t, "postgres", `DROP DATABASE shop;
DROP DATABASE audit;
DROP ROLE app_owner;`)
	if got := p.sql(t, "postgres", `SELECT count(*) FROM pg_roles WHERE rolname = 'app_owner'`); got != "0" {
		t.Fatalf("role still there: %s", got)
	}
}

// state is what must survive a backup and restore: the role, every
// table's owner, row count and md5 of all its rows in id order.
func (p pgServer) state(t *testing.T) map[string]string {
	t.Helper()
	return p.stateOf(t, "shop", "audit")
}

// stateOf is state for the given databases.
func (p pgServer) stateOf(t *testing.T, databases ...string) map[string]string {
	t.Helper()
	st := map[string]string{
		"role app_owner": p.sql(t, "postgres", `SELECT rolname || ' login=' || rolcanlogin FROM pg_roles WHERE rolname = 'app_owner'`),
	}
	for _, db := range databases {
		tables := p.sql(t, db, `SELECT string_agg(tablename || ' ' || tableowner, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'`)
		for _, to := range strings.Split(tables, ",") {
			table, owner, _ := strings.Cut(to, " ")
			st[db+"."+table] = "owner=" + owner + " " + p.sql(t, db,
				fmt.Sprintf(`SELECT 'rows=' || count(*) || ' md5=' || md5(coalesce(string_agg(t::text, E'\n' ORDER BY id), '')) FROM %s t`, table))
		}
	}
	return st
}

func assertSameState(t *testing.T, want, got map[string]string) {
	t.Helper()
	if !maps.Equal(want, got) {
		for k := range maps.Keys(want) {
			if want[k] != got[k] {
				t.Errorf("%s: restored %q, want %q", k, got[k], want[k])
			}
		}
		for k := range maps.Keys(got) {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: restored but not backed up", k)
			}
		}
	}
}

// pgOptions configures the functions like the command with --host, --port,
// --user and PGPASSWORD in the environment.
func pgOptions(t *testing.T, db pgServer, setup Setup) DatabaseOptions {
	t.Setenv("PGPASSWORD", db.Password)
	return DatabaseOptions{Setup: setup, DBHost: db.Host, DBPort: db.Port, DBUser: db.User, WaitTimeout: 30}
}

func runBackupPG(t *testing.T, o DatabaseOptions) v1beta1.SnapshotStats {
	t.Helper()
	start := time.Now()
	s := backupOK(t, func(stdout *bytes.Buffer) error { return RunBackupPG(t.Context(), BackupPGOptions{o}, stdout) }, o.OutputDir, DumpFileName)
	t.Logf("backup-pg took %v: snapshot %s, %s", time.Since(start).Round(time.Millisecond), s.Name, s.TotalSize)
	return s
}

func runRestorePG(t *testing.T, o DatabaseOptions, snapshots ...string) v1beta1.HostRestoreStats {
	t.Helper()
	start := time.Now()
	h := restoreResult(t, func(stdout *bytes.Buffer) error {
		return RunRestorePG(t.Context(), RestorePGOptions{DatabaseRestoreOptions{DatabaseOptions: o, Snapshots: snapshots}}, stdout)
	}, o.OutputDir)
	t.Logf("restore-pg took %v: %s %s", time.Since(start).Round(time.Millisecond), h.Phase, h.Error)
	return h
}

// TestPGBackupRestore: two backup-pg runs to S3 with the data changed in
// between; then lose both databases and the role and restore the latest
// snapshot, lose them again and restore the first snapshot by its id, and
// get exactly that state back each time. One server and repository serve
// all phases: they build on each other and each backup costs seconds.
func TestPGBackupRestore(t *testing.T) {
	s3 := testenv.StartS3(t, "stash")
	db := startPG(t)
	db.seed(t)
	setup, log := dbSetup(t, s3, "demo/pg")
	o := pgOptions(t, db, setup)

	first := db.state(t)
	snap1 := runBackupPG(t, o)
	if !strings.HasSuffix(snap1.TotalSize, "MiB") {
		t.Fatalf("a 100k-row dump of %s is implausible", snap1.TotalSize)
	}
	backupJSON := outputFile(t, o.OutputDir)
	db.sql(t, "shop", `UPDATE orders SET amount = 0 WHERE id % 2 = 0;
ALTER TABLE orders OWNER TO postgres;
DELETE FROM items WHERE id > 10000;`)
	db.sql(t, "audit", `INSERT INTO events SELECT g, NULL, NULL FROM generate_series(20001, 25000) g;`)
	second := db.state(t)
	if maps.Equal(first, second) {
		t.Fatal("the change made no difference")
	}
	snap2 := runBackupPG(t, o)
	if snap1.Name == snap2.Name || len(repoSnapshots(t, setup)) != 2 {
		t.Fatalf("want two snapshots, got %s and %s", snap1.Name, snap2.Name)
	}

	t.Run("latest", func(t *testing.T) {
		db.drop(t)
		if h := runRestorePG(t, o); h.Phase != v1beta1.HostRestoreSucceeded || h.Hostname != "host-0" {
			t.Fatalf("restore = %+v", h)
		}
		assertSameState(t, second, db.state(t))
	})
	t.Run("first by id", func(t *testing.T) {
		db.drop(t)
		if h := runRestorePG(t, o, snap1.Name); h.Phase != v1beta1.HostRestoreSucceeded {
			t.Fatalf("restore of %s = %+v", snap1.Name, h)
		}
		assertSameState(t, first, db.state(t))
	})
	// The databases exist now: their tables are re-created in vain
	// (tolerated) but COPY hits the primary keys, which psql's exit status
	// would hide.
	t.Run("over live data", func(t *testing.T) {
		h := runRestorePG(t, o, "latest")
		if h.Phase != v1beta1.HostRestoreFailed || !strings.Contains(h.Error, "failed statement(s), so the databases are only partly restored") ||
			!strings.Contains(h.Error, "ERROR:  duplicate key value violates unique constraint") || !strings.Contains(h.Error, "psql:<stdin>:") {
			t.Fatalf("restore over live data = %+v", h)
		}
	})

	assertNoSecrets(t, []string{db.Password, dbRepoPassword, s3.SecretKey}, map[string]string{
		"the log": log.String(), "backup output.json": backupJSON, "restore output.json": outputFile(t, o.OutputDir),
	})
	if !strings.Contains(log.String(), "running: ") || !strings.Contains(log.String(), "pg_dumpall --host 127.0.0.1 --port "+strconv.Itoa(db.Port)+" --username postgres --no-password\n") {
		t.Fatalf("the log does not show the dump's command line:\n%s", log)
	}
}

// lockTable holds an exclusive lock on table until the test ends, so that
// pg_dump of its database fails with a lock timeout.
func (p pgServer) lockTable(t *testing.T, dbname, table string) {
	t.Helper()
	const app = "stash-test-locker"
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "psql", "-h", p.Host, "-p", strconv.Itoa(p.Port), "-U", p.User, "-d", dbname, "-X", "-q",
		"-c", "BEGIN; LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600);")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+p.Password, "PGAPPNAME="+app)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The server would let the session sleep on without its client.
		p.sql(t, "postgres", `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '`+app+`'`)
		cancel()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		if p.sql(t, dbname, `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE c.relname = '`+table+`' AND l.mode = 'AccessExclusiveLock' AND l.granted`) == "1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the lock was not taken")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPGBackupFailures: a dump that fails, at its start or midway, or a
// database that cannot be reached, is a Failed host with the reason, and
// leaves no snapshot.
func TestPGBackupFailures(t *testing.T) {
	s3 := testenv.StartS3(t, "stash")
	db := startPG(t)
	db.seed(t)
	freePort, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	const wrongPassword = "Wrong-PG-Password-8812"
	tests := map[string]struct {
		prepare func(t *testing.T, o *DatabaseOptions)
		wantErr []string
	}{
		"unknown pg-args flag": {
			prepare: func(t *testing.T, o *DatabaseOptions) { o.ExtraArgs = "--no-such-flag" },
			wantErr: []string{"pg_dumpall failed with exit code 1", "unrecognized option", "no snapshot was kept"},
		},
		// pg_dumpall dumps the roles, then audit and postgres, then shop:
		// restic has read most of the dump when pg_dump of shop fails.
		"dump fails midway": {
			prepare: func(t *testing.T, o *DatabaseOptions) {
				db.lockTable(t, "shop", "orders")
				o.ExtraArgs = "--lock-wait-timeout=1s"
			},
			wantErr: []string{"pg_dumpall failed with exit code 1", "canceling statement due to statement timeout", "LOCK TABLE public.orders",
				`pg_dump failed on database "shop"`, "no snapshot was kept"},
		},
		"unbalanced quote in pg-args": {
			prepare: func(t *testing.T, o *DatabaseOptions) { o.ExtraArgs = `--exclude-database='x` },
			wantErr: []string{"--pg-args has an unterminated quote"},
		},
		"database not reachable": {
			prepare: func(t *testing.T, o *DatabaseOptions) { o.DBPort, o.WaitTimeout = freePort, 2 },
			wantErr: []string{fmt.Sprintf("PostgreSQL at 127.0.0.1:%d did not accept a connection as user postgres within --wait-timeout=2s", freePort),
				"last attempt: psql failed with exit code 2", "Connection refused"},
		},
		"wrong password": {
			prepare: func(t *testing.T, o *DatabaseOptions) { t.Setenv("PGPASSWORD", wrongPassword); o.WaitTimeout = 1 },
			wantErr: []string{"did not accept a connection", `last attempt: psql failed with exit code 2: psql: error: connection to server at "127.0.0.1"`,
				`password authentication failed for user "postgres"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			setup, log := dbSetup(t, s3, "failures/"+strings.ReplaceAll(name, " ", "-"))
			o := pgOptions(t, db, setup)
			tc.prepare(t, &o)
			var stdout bytes.Buffer
			start := time.Now()
			if err := RunBackupPG(t.Context(), BackupPGOptions{o}, &stdout); err != nil {
				t.Fatalf("RunBackupPG returned %v; a logical failure must only be recorded", err)
			}
			t.Logf("failed in %v", time.Since(start).Round(time.Millisecond))
			out, err := ReadBackupOutput(o.OutputDir)
			if err != nil {
				t.Fatal(err)
			}
			h := out.HostBackupStats[0]
			if h.Phase != v1beta1.HostBackupFailed || len(h.Snapshots) != 0 || out.Repository != nil {
				t.Fatalf("output = %+v", out)
			}
			t.Logf("error: %s", h.Error)
			for _, w := range tc.wantErr {
				if !strings.Contains(h.Error, w) {
					t.Errorf("error %q does not contain %q", h.Error, w)
				}
			}
			if strings.Contains(log.String(), "initialised a new repository") {
				if snaps := repoSnapshots(t, setup); len(snaps) != 0 {
					t.Fatalf("the failed dump left snapshots: %+v", snaps)
				}
			}
			assertNoSecrets(t, []string{db.Password, wrongPassword, dbRepoPassword}, map[string]string{
				"the log": log.String(), "stdout": stdout.String(), "output.json": outputFile(t, o.OutputDir),
			})
		})
	}
}

// TestPGRestoresResticCLIBackup: a repository written the way Stash's
// postgres addon wrote it (pg_dumpall piped into restic's CLI) restores.
func TestPGRestoresResticCLIBackup(t *testing.T) {
	s3 := testenv.StartS3(t, "stash")
	db := startPG(t)
	db.seed(t)
	want := db.state(t)
	setup, _ := dbSetup(t, s3, "stash-made")

	pipeline := `set -euo pipefail
"$RESTIC" init
pg_dumpall -h "$DB_HOST" -p "$DB_PORT" -U postgres | "$RESTIC" backup --stdin --stdin-filename dumpfile.sql --host host-0`
	cmd := exec.Command("bash", "-c", pipeline)
	cmd.Env = append(os.Environ(),
		"RESTIC="+setup.ResticBinary, "RESTIC_REPOSITORY=s3:"+s3.URL()+"/stash/stash-made", "RESTIC_PASSWORD="+dbRepoPassword,
		"AWS_ACCESS_KEY_ID="+s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3.SecretKey, "RESTIC_CACHE_DIR="+t.TempDir(),
		"PGPASSWORD="+db.Password, "DB_HOST="+db.Host, "DB_PORT="+strconv.Itoa(db.Port))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("restic CLI backup: %v\n%s", err, out)
	}
	db.drop(t)

	// Restored by another host, from host-0's snapshots.
	o := pgOptions(t, db, setup)
	o.Hostname = "restore-0"
	h := restoreResult(t, func(stdout *bytes.Buffer) error {
		return RunRestorePG(t.Context(), RestorePGOptions{DatabaseRestoreOptions{DatabaseOptions: o, SourceHostname: "host-0"}}, stdout)
	}, o.OutputDir)
	if h.Phase != v1beta1.HostRestoreSucceeded || h.Hostname != "restore-0" {
		t.Fatalf("restore = %+v", h)
	}
	assertSameState(t, want, db.state(t))
}

// TestPGAppBinding: backup-pg and restore-pg find the database and its
// credentials through an AppBinding and its Secret on a real API server,
// as a user allowed to get only those.
func TestPGAppBinding(t *testing.T) {
	testenv.Binary(t, "restic") // skips in -short mode
	// controller-runtime prints a stack trace when its logger is first
	// used more than 30s after start without one; the commands get there
	// within a second, a long test run does not.
	ctrllog.SetLogger(ctrllog.Log.WithSink(ctrllog.NullLogSink{}))
	cp, err := testenv.StartControlPlane()
	if err != nil {
		testenv.Unavailable(t, "the envtest control plane ("+err.Error()+")")
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	s3 := testenv.StartS3(t, "stash")
	db := startPG(t)
	db.seed(t)
	want := db.state(t)

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, rbacv1.AddToScheme, appcatalog.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	admin, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgresql://%s:%d/postgres", db.Host, db.Port)
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "demo"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "sample-pg-auth"},
			Data: map[string][]byte{"user": []byte(db.User), "POSTGRES_PASSWORD": []byte(db.Password)}},
		&appcatalog.AppBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "sample-pg"},
			Spec: appcatalog.AppBindingSpec{
				Type:         "kubedb.com/postgres",
				ClientConfig: appcatalog.ClientConfig{URL: &url},
				Secret:       &corev1.LocalObjectReference{Name: "sample-pg-auth"},
				SecretTransforms: []appcatalog.SecretTransform{
					{RenameKey: &appcatalog.RenameKeyTransform{From: "user", To: "POSTGRES_USER"}},
				},
			}},
		// What the Job's ServiceAccount gets (DESIGN §8): read its
		// AppBinding and Secrets, nothing else.
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "stash-job"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{appcatalog.GroupVersion.Group}, Resources: []string{"appbindings"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "stash-job"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "stash-job"},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "stash-job"}}},
	} {
		if err := admin.Create(t.Context(), obj); err != nil {
			t.Fatalf("create %T: %v", obj, err)
		}
	}
	user, err := cp.Env.AddUser(envtest.User{Name: "stash-job"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfigPath := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}

	setup, log := dbSetup(t, s3, "demo/sample-pg")
	// The password must come from the Secret, not from here.
	t.Setenv("PGPASSWORD", "not-the-password")
	o := DatabaseOptions{Setup: setup, Namespace: "demo", AppBinding: "sample-pg", Kubeconfig: kubeconfigPath, WaitTimeout: 30}
	runBackupPG(t, o)
	db.drop(t)
	if h := runRestorePG(t, o); h.Phase != v1beta1.HostRestoreSucceeded {
		t.Fatalf("restore = %+v", h)
	}
	assertSameState(t, want, db.state(t))
	assertNoSecrets(t, []string{db.Password, dbRepoPassword}, map[string]string{"the log": log.String(), "output.json": outputFile(t, o.OutputDir)})

	tests := map[string]struct {
		namespace, appBinding, kubeconfig string
		wantErr                           string
	}{
		"missing AppBinding": {namespace: "demo", appBinding: "nope", kubeconfig: kubeconfigPath,
			wantErr: "AppBinding demo/nope not found: check --appbinding (the target's name) and --namespace"},
		"other namespace": {namespace: "other", appBinding: "sample-pg", kubeconfig: kubeconfigPath,
			wantErr: "not allowed to read AppBinding other/sample-pg: the Job's ServiceAccount needs get on it"},
		"no kubeconfig outside a cluster": {namespace: "demo", appBinding: "sample-pg",
			wantErr: "no in-cluster Kubernetes configuration to read the AppBinding with"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.kubeconfig == "" {
				// As outside a pod, wherever the test runs.
				t.Setenv("KUBECONFIG", "")
				t.Setenv("KUBERNETES_SERVICE_HOST", "")
			}
			o := o
			o.Namespace, o.AppBinding, o.Kubeconfig = tc.namespace, tc.appBinding, tc.kubeconfig
			o.OutputDir = filepath.Join(t.TempDir(), "out")
			out := BackupPG(t.Context(), BackupPGOptions{o})
			if h := out.HostBackupStats[0]; h.Phase != v1beta1.HostBackupFailed || !strings.Contains(h.Error, tc.wantErr) {
				t.Fatalf("host = %+v, want error %q", h, tc.wantErr)
			}
		})
	}
}
