//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitPodReady waits for a pod's Ready condition, logging its description on
// failure.
func waitPodReady(t *testing.T, ns, pod string) {
	t.Helper()
	if _, err := kubectl(t, "", "-n", ns, "wait", "--for=condition=Ready", "pod/"+pod, "--timeout=180s"); err != nil {
		out, _ := kubectl(t, "", "-n", ns, "describe", "pod", pod)
		logs, _ := kubectl(t, "", "-n", ns, "logs", pod, "--tail=30")
		t.Fatalf("pod %s not Ready: %v\n%s\n%s", pod, err, out, logs)
	}
}

// execIn runs a command in a pod's first container and returns its output.
func execIn(t *testing.T, ns, pod string, command ...string) string {
	t.Helper()
	return strings.TrimSpace(mustKubectl(t, "", append([]string{"-n", ns, "exec", pod, "--"}, command...)...))
}

// waitAnswers waits until query (a trivial one) succeeds: a server can be
// Ready a moment before it takes connections from every client.
func waitAnswers(t *testing.T, ns, pod string, query func() []string) {
	t.Helper()
	waitFor(t, 60*time.Second, pod+" to answer a query", func() (bool, error) {
		_, err := kubectl(t, "", append([]string{"-n", ns, "exec", pod, "--"}, query()...)...)
		return err == nil, nil
	})
}

// The PostgreSQL sample: a table whose every row goes into the checksum.
const (
	pgSampleData = `create table orders (id int primary key, customer text not null, amount numeric(10,2), created timestamptz);
insert into orders select i, 'customer-' || (i % 97), round((random() * 1000)::numeric, 2),
  timestamptz '2026-01-01' + i * interval '1 minute' from generate_series(1, 5000) i;
create table notes (id serial primary key, body text);
insert into notes (body) values ('quote '' and backslash \ and unicode é'), (null);`
	pgChecksum = `select (select count(*) from orders) || ' orders, md5 ' || (select md5(string_agg(o::text, E'\n' order by o.id)) from orders o)
  || '; notes md5 ' || (select md5(string_agg(coalesce(n.body, '<null>'), E'\n' order by n.id)) from notes n)`
)

func psqlCommand(database, sql string) []string {
	return []string{"psql", "-U", "postgres", "-h", "/var/run/postgresql", "-d", database, "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql}
}

func psql(t *testing.T, ns, pod, database, sql string) string {
	t.Helper()
	return execIn(t, ns, pod, psqlCommand(database, sql)...)
}

// startPostgres applies a PostgreSQL server's manifests and waits until it
// answers.
func startPostgres(t *testing.T, ns, pod, manifests string) {
	t.Helper()
	apply(t, ns, manifests)
	waitPodReady(t, ns, pod)
	waitAnswers(t, ns, pod, func() []string { return psqlCommand("postgres", "select 1") })
}

// triggerAndWait backs up the BackupConfiguration bc now, as the README
// does (stash trigger --wait), and returns the BackupSession, which must
// have Succeeded.
func triggerAndWait(t *testing.T, ns, bc string) string {
	t.Helper()
	stdout, stderr, code := stashCLI(t, ns, "trigger", bc, "--wait", "--timeout", "5m")
	bs := created(t, "backupsession", stdout)
	if code != 0 {
		diagnose(t, ns, "backupsession", bs)
		t.Fatalf("stash trigger --wait: exit %d, want 0: %s", code, stderr)
	}
	st := waitSession(t, ns, "backupsession", bs, 5*time.Second)
	t.Logf("backup %s Succeeded in %s", bs, st.SessionDuration)
	return bs
}

// TestPostgreSQLQuickStart runs the README's quick start as written: the
// PostgreSQL server, repository, schedule, instant backup and restore are the
// README's YAML blocks (only the namespace and the repository directory
// differ). The restored data must be identical. Then, with the server gone,
// a backup must fail, saying why, and leave no snapshot.
func TestPostgreSQLQuickStart(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "pg")
	postgresYAML := readmeYAML(t, "postgres.yaml")
	startPostgres(t, ns, "source-postgres", postgresYAML)
	psql(t, ns, "source-postgres", "postgres", "create database shop")
	psql(t, ns, "source-postgres", "shop", pgSampleData)
	want := psql(t, ns, "source-postgres", "shop", pgChecksum)

	repoDir := hostDir(t, "repo")
	apply(t, ns, strings.ReplaceAll(readmeYAML(t, "repository.yaml"), "/var/lib/stash-demo-repo", repoDir))
	apply(t, ns, readmeYAML(t, "backup.yaml"))
	// The README's step 4: a backup now, followed to its end.
	triggerAndWait(t, ns, "source-postgres-backup")
	// At least: the schedule (every 5 minutes, as the README has it) may
	// have added one of its own meanwhile.
	waitFor(t, 60*time.Second, "Repository local-repo status.snapshotCount", func() (bool, error) {
		n, err := strconv.Atoi(jsonpath(t, ns, "repository", "local-repo", ".status.snapshotCount"))
		return err == nil && n >= 1, nil
	})

	// The README's step 4 lists the snapshots: the Snapshot objects the
	// operator syncs after each backup.
	waitFor(t, 90*time.Second, "stash snapshots local-repo to list the dump", func() (bool, error) {
		stdout, _, code := stashCLI(t, ns, "snapshots", "local-repo")
		return code == 0 && strings.Contains(stdout, "host-0") && strings.Contains(stdout, "/dumpfile.sql"), nil
	})

	startPostgres(t, ns, "restored-postgres", strings.ReplaceAll(postgresYAML, "source-postgres", "restored-postgres"))
	// The README's step 5: the restore from the configuration, followed.
	stdout, stderr, code := stashCLI(t, ns, "restore", "source-postgres-backup", "--snapshot", "latest",
		"--target", "appbinding/restored-postgres", "--wait", "--timeout", "5m")
	rs := created(t, "restoresession", stdout)
	if code != 0 {
		diagnose(t, ns, "restoresession", rs)
		t.Fatalf("stash restore --wait: exit %d, want 0: %s", code, stderr)
	}
	st := waitSession(t, ns, "restoresession", rs, 5*time.Second)
	t.Logf("restore Succeeded in %s", st.SessionDuration)
	if got := psql(t, ns, "restored-postgres", "shop", pgChecksum); got != want {
		t.Fatalf("restored data differs:\nsource   %s\nrestored %s", want, got)
	}
	t.Logf("restored data identical: %s", want)

	t.Run("database down", func(t *testing.T) {
		// No scheduled backups from here on, and give up on the connection
		// after 10 s instead of the default 300.
		if _, stderr, code := stashCLI(t, ns, "pause", "source-postgres-backup"); code != 0 {
			t.Fatalf("stash pause: exit %d: %s", code, stderr)
		}
		mustKubectl(t, "", "-n", ns, "patch", "backupconfiguration", "source-postgres-backup", "--type=merge",
			"-p", `{"spec":{"task":{"params":[{"name":"waitTimeout","value":"10"}]}}}`)
		waitFor(t, 5*time.Minute, "every BackupSession to finish", func() (bool, error) {
			var list struct {
				Items []struct {
					Status sessionStatus `json:"status"`
				} `json:"items"`
			}
			if err := json.Unmarshal([]byte(mustKubectl(t, "", "-n", ns, "get", "backupsessions", "-o", "json")), &list); err != nil {
				return false, err
			}
			for _, bs := range list.Items {
				if p := bs.Status.Phase; p != "Succeeded" && p != "Failed" && p != "Skipped" {
					return false, nil
				}
			}
			return true, nil
		})
		// A paused configuration is still backed up on demand.
		stdout, stderr, code := stashCLI(t, ns, "trigger", "source-postgres-backup", "--wait", "--timeout", "5m")
		if code != 0 {
			t.Fatalf("stash trigger --wait of the paused configuration: exit %d, want 0: %s", code, stderr)
		}
		if st := waitSession(t, ns, "backupsession", created(t, "backupsession", stdout), 5*time.Second); st.Phase != "Succeeded" {
			t.Fatalf("stash trigger --wait exited 0 for a session in phase %q", st.Phase)
		}

		before := resticSnapshots(t, repoDir, "change-me-restic") // README's repository.yaml
		mustKubectl(t, "", "-n", ns, "delete", "pod", "source-postgres", "--wait=true")
		stdout, stderr, code = stashCLI(t, ns, "trigger", "source-postgres-backup", "--wait", "--timeout", "5m")
		bs := created(t, "backupsession", stdout)
		st := waitFinished(t, ns, "backupsession", bs, 5*time.Minute)
		reason, message := st.condition()
		if st.Phase != "Failed" || reason != "HostFailed" || !strings.Contains(message, "did not accept a connection") {
			diagnose(t, ns, "backupsession", bs)
			t.Fatalf("BackupSession %s with the database down: phase %q, reason %q, message %q; want Failed, HostFailed, saying the database did not accept a connection",
				bs, st.Phase, reason, message)
		}
		t.Logf("Failed as it should: %s", message)
		if code != 1 || !strings.Contains(stderr, "(HostFailed)") || !strings.Contains(stderr, "did not accept a connection") {
			t.Errorf("stash trigger --wait of the failing backup: exit %d, want 1 with the reason and message:\n%s", code, stderr)
		}

		// What the user runs next: describe shows the steps and what to do,
		// logs the pods' logs.
		stdout, stderr, code = stashCLI(t, ns, "describe", "backupsession", bs)
		for _, want := range []string{"Phase:          Failed", "Reason:         HostFailed", "Steps:", "postgres-backup-15", "Next:", "stash trigger source-postgres-backup -n " + ns} {
			if code != 0 || !strings.Contains(stdout, want) {
				t.Errorf("stash describe backupsession %s: exit %d, want 0 and %q in:\n%s%s", bs, code, want, stdout, stderr)
			}
		}
		stdout, stderr, code = stashCLI(t, ns, "logs", bs)
		for _, want := range []string{"==> host-0 pod/stash-backup-" + bs, "did not accept a connection"} {
			if code != 0 || !strings.Contains(stdout, want) {
				t.Errorf("stash logs %s: exit %d, want 0 and %q in:\n%s%s", bs, code, want, stdout, stderr)
			}
		}
		if after := resticSnapshots(t, repoDir, "change-me-restic"); len(after) != len(before) {
			t.Fatalf("restic lists %d snapshots after the failed backup (%v), want the %d from before (%v)", len(after), after, len(before), before)
		}
	})
}

// mariadb is a MariaDB server of the given version (an image of
// hack/build-images.sh) with its Service, credentials Secret and AppBinding
// (type mysql) with both a service and a url, as KubeDB writes them; the url
// names a host that does not exist, so only a Job that uses the service, as
// v0.9's addons did, reaches the server.
func mariadb(name, version string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: %[1]s-auth
  annotations: {stash.appscode.com/appbindings: %[1]s}
stringData: {username: root, password: e2e-mariadb-password}
---
apiVersion: v1
kind: Pod
metadata:
  name: %[1]s
  labels: {app: %[1]s}
spec:
  containers:
  - name: mariadb
    image: localhost/mariadb:%[2]s
    imagePullPolicy: IfNotPresent
    env:
    - name: MARIADB_ROOT_PASSWORD
      valueFrom: {secretKeyRef: {name: %[1]s-auth, key: password}}
    ports: [{containerPort: 3306, name: mysql}]
    readinessProbe:
      exec: {command: [sh, -c, 'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -h127.0.0.1 -e "select 1"']}
      periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata: {name: %[1]s}
spec:
  selector: {app: %[1]s}
  ports: [{name: mysql, port: 3306, targetPort: mysql}]
---
apiVersion: appcatalog.appscode.com/v1alpha1
kind: AppBinding
metadata: {name: %[1]s}
spec:
  type: mysql
  version: "%[2]s"
  clientConfig:
    service: {name: %[1]s, port: 3306, scheme: mysql}
    url: tcp(%[1]s-not-used:3306)/
  secret: {name: %[1]s-auth}
`, name, version)
}

const (
	mariadbSampleData = `create database shop;
create table shop.orders (id int primary key, customer varchar(64) not null, amount decimal(10,2), note text);
use shop; -- the sequence engine's seq_1_to_N needs a current database
insert into shop.orders select seq, concat('customer-', seq % 97), round(rand(seq) * 1000, 2),
  if(seq % 10 = 0, null, concat('quote '' backslash \\ unicode é ', seq)) from seq_1_to_5000;
create database audit;
create table audit.log (id int auto_increment primary key, at datetime, what varchar(100));
insert into audit.log (at, what) values ('2026-01-01 10:00:00', 'created'), ('2026-01-02 11:30:00', 'updated');`
	mariadbChecksum = `set session group_concat_max_len = 1 << 26;
select concat((select count(*) from shop.orders), ' orders, md5 ',
  (select md5(group_concat(concat_ws('|', id, customer, amount, coalesce(note, '<null>')) order by id separator '\n')) from shop.orders),
  '; audit md5 ', (select md5(group_concat(concat_ws('|', id, at, what) order by id separator '\n')) from audit.log));`
)

func mariadbCommand(sql string) []string {
	return []string{"sh", "-c", `MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -h127.0.0.1 -N -B -e "$1"`, "sh", sql}
}

func mariadbQuery(t *testing.T, ns, pod, sql string) string {
	t.Helper()
	return execIn(t, ns, pod, mariadbCommand(sql)...)
}

// startMariaDB applies a MariaDB server's manifests and waits until it
// answers with the version asked for.
func startMariaDB(t *testing.T, ns, pod, version string) {
	t.Helper()
	apply(t, ns, mariadb(pod, version))
	waitPodReady(t, ns, pod)
	waitAnswers(t, ns, pod, func() []string { return mariadbCommand("select 1") })
	if got := mariadbQuery(t, ns, pod, "select version()"); !strings.HasPrefix(got, version+".") {
		t.Fatalf("%s runs MariaDB %s, want %s", pod, got, version)
	}
}

// mariadbRoundTrip backs up a MariaDB server of version from with the Task
// backupTask and restores the snapshot into a second, empty server of
// version to with restoreTask: both databases must come back identical.
func mariadbRoundTrip(t *testing.T, from, backupTask, to, restoreTask string) {
	ns := setUp(t, "mariadb")
	startMariaDB(t, ns, "source-mariadb", from)
	mariadbQuery(t, ns, "source-mariadb", mariadbSampleData)
	want := mariadbQuery(t, ns, "source-mariadb", mariadbChecksum)
	roundTrip(t, ns, "source-mariadb", backupTask, "restored-mariadb", restoreTask,
		func() { startMariaDB(t, ns, "restored-mariadb", to) })
	if got := mariadbQuery(t, ns, "restored-mariadb", mariadbChecksum); got != want {
		t.Fatalf("restored data differs:\nsource   %s\nrestored %s", want, got)
	}
	t.Logf("MariaDB %s restored into %s identical: %s", from, to, want)
}

// roundTrip backs up the database of the AppBinding source with the Task
// backupTask into a new local repository, then starts the empty server
// restored (startRestored) and restores the snapshot into it with
// restoreTask. It returns when the restore Succeeded.
func roundTrip(t *testing.T, ns, source, backupTask, restored, restoreTask string, startRestored func()) {
	t.Helper()
	localRepository(t, ns, "local-repo")
	apply(t, ns, `apiVersion: stash.appscode.com/v1beta1
kind: BackupConfiguration
metadata: {name: db-backup}
spec:
  schedule: "0 0 1 1 *"
  task: {name: `+backupTask+`}
  repository: {name: local-repo}
  target:
    ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: `+source+`}
  retentionPolicy: {name: keep-last-5, keepLast: 5, prune: true}
`)
	bs := triggerBackup(t, ns, "db-backup")
	st := waitSession(t, ns, "backupsession", bs, 5*time.Minute)
	t.Logf("backup %s of %s with %s Succeeded in %s", bs, source, backupTask, st.SessionDuration)
	waitSnapshotCount(t, ns, "local-repo", 1)

	startRestored()
	apply(t, ns, `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: db-restore}
spec:
  task: {name: `+restoreTask+`}
  repository: {name: local-repo}
  target:
    ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: `+restored+`}
  rules:
  - snapshots: [latest]
`)
	st = waitSession(t, ns, "restoresession", "db-restore", 5*time.Minute)
	t.Logf("restore into %s with %s Succeeded in %s", restored, restoreTask, st.SessionDuration)
}

// postgresServer is the README's postgres.yaml (Secret, Pod, Service,
// AppBinding) for a server of another major version (an image of
// hack/build-images.sh) under another name.
func postgresServer(t *testing.T, name, version string) string {
	t.Helper()
	y := readmeYAML(t, "postgres.yaml")
	for old, repl := range map[string]string{
		"localhost/postgres:15":       "localhost/postgres:" + version,
		"/usr/lib/postgresql/15/bin/": "/usr/lib/postgresql/" + version + "/bin/",
		`version: "15"`:               `version: "` + version + `"`,
		"source-postgres":             name,
	} {
		if !strings.Contains(y, old) {
			t.Fatalf("the README's postgres.yaml has no %q to replace: update postgresServer", old)
		}
		y = strings.ReplaceAll(y, old, repl)
	}
	return y
}

// startPostgresVersion starts postgresServer and checks that it runs the
// major version asked for.
func startPostgresVersion(t *testing.T, ns, pod, version string) {
	t.Helper()
	startPostgres(t, ns, pod, postgresServer(t, pod, version))
	if got := psql(t, ns, pod, "postgres", "select current_setting('server_version_num')::int / 10000"); got != version {
		t.Fatalf("%s runs PostgreSQL %s, want %s", pod, got, version)
	}
}

// TestDatabaseRoundTrips backs up each server version of the catalog's
// engines and restores it into an empty server, which must then hold the
// same data: under the Task names Stash v0.9's addons installed (a v0.9
// BackupConfiguration unchanged, against today's servers), under ours, and
// into a newer major version (the upgrade path).
func TestDatabaseRoundTrips(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		roundTrip                         func(t *testing.T, from, backupTask, to, restoreTask string)
		from, backupTask, to, restoreTask string
	}{
		"MariaDB 10.11 with v0.9's mysql-backup-8.0.14": {mariadbRoundTrip, "10.11", "mysql-backup-8.0.14", "10.11", "mysql-restore-10.11"},
		"MariaDB 11.8": {mariadbRoundTrip, "11.8", "mysql-backup-11.8", "11.8", "mysql-restore-11.8"},
		// Not into a newer major: an --all-databases dump holds the
		// mysql system database, which only its own version loads.
		"MariaDB 10.5": {mariadbRoundTrip, "10.5", "mysql-backup-10.5", "10.5", "mysql-restore-10.5"},
		"PostgreSQL 17 with v0.9's postgres-backup-11.1": {postgresRoundTrip, "17", "postgres-backup-11.1", "17", "postgres-restore-11.1"},
		"PostgreSQL 15 into 17":                          {postgresRoundTrip, "15", "postgres-backup-15", "17", "postgres-restore-17"},
		"PostgreSQL 13 into 15":                          {postgresRoundTrip, "13", "postgres-backup-13", "15", "postgres-restore-15"},
		"Redis 8":                                        {redisRoundTrip, "8", "redis-backup-8", "8", "redis-restore-8"},
		// Redis 6 has no PEXPIRETIME: the expiries are read as PTTL.
		"Redis 6 into 7": {redisRoundTrip, "6", "redis-backup-6", "7", "redis-restore-7"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tc.roundTrip(t, tc.from, tc.backupTask, tc.to, tc.restoreTask)
		})
	}
}

// postgresRoundTrip backs up a PostgreSQL server of major version from with
// backupTask and restores the snapshot with restoreTask into an empty server
// of major version to: the sample data and a role must come back.
func postgresRoundTrip(t *testing.T, from, backupTask, to, restoreTask string) {
	ns := setUp(t, "pg")
	startPostgresVersion(t, ns, "source-postgres", from)
	psql(t, ns, "source-postgres", "postgres", "create database shop")
	psql(t, ns, "source-postgres", "shop", pgSampleData)
	psql(t, ns, "source-postgres", "shop", "create role reporting login password 'e2e-reporting'; grant select on orders to reporting")
	want := psql(t, ns, "source-postgres", "shop", pgChecksum)
	roundTrip(t, ns, "source-postgres", backupTask, "restored-postgres", restoreTask,
		func() { startPostgresVersion(t, ns, "restored-postgres", to) })
	if got := psql(t, ns, "restored-postgres", "shop", pgChecksum); got != want {
		t.Fatalf("restored data differs:\nsource   %s\nrestored %s", want, got)
	}
	if got := psql(t, ns, "restored-postgres", "shop", "select has_table_privilege('reporting', 'orders', 'select')"); got != "t" {
		t.Fatalf("restored role reporting may select orders: %q, want t", got)
	}
	t.Logf("PostgreSQL %s restored into %s identical, with its role: %s", from, to, want)
}
