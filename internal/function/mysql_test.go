package function

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/testenv"
)

// mariaServer is a test MariaDB server with helpers to run SQL on it.
type mariaServer struct{ testenv.Database }

func startMariaDB(t *testing.T) mariaServer {
	t.Helper()
	return mariaServer{testenv.StartMariaDB(t)}
}

// sql runs statements in one session and returns what they printed.
func (m mariaServer) sql(t *testing.T, statements string) string {
	t.Helper()
	cmd := exec.Command("mariadb", "--host="+m.Host, "--port="+strconv.Itoa(m.Port), "--user="+m.User, "--protocol=TCP",
		"--batch", "--skip-column-names")
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+m.Password)
	cmd.Stdin = strings.NewReader(statements)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// seed makes two databases with 100k rows (the Sequence engine's
// seq_1_to_N makes them in a moment), a view, a routine, an event and a
// user with grants on one database.
func (m mariaServer) seed(t *testing.T) {
	t.Helper()
	m.sql(t, `CREATE DATABASE shop;
CREATE DATABASE audit;
USE shop;
CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(10,2), created DATETIME, note TEXT) ENGINE=InnoDB;
INSERT INTO orders SELECT seq, CONCAT('customer-', seq % 977), (seq * 7 % 100000) / 100, '2024-01-01' + INTERVAL seq MINUTE,
  IF(seq % 5 = 0, 'quote '' tab\t newline\n \\ end', NULL) FROM seq_1_to_60000;
CREATE TABLE items (id INT PRIMARY KEY, order_id INT, sku CHAR(32), FOREIGN KEY (order_id) REFERENCES orders(id)) ENGINE=InnoDB;
INSERT INTO items SELECT seq, 1 + seq % 60000, MD5(seq) FROM seq_1_to_20000;
CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 900;
CREATE PROCEDURE order_count(OUT n INT) SELECT COUNT(*) INTO n FROM orders;
USE audit;
CREATE TABLE events (id BIGINT PRIMARY KEY, payload JSON, at DATE) ENGINE=InnoDB;
INSERT INTO events SELECT seq, JSON_OBJECT('n', seq, 's', REPEAT('x', seq % 50)), '2020-01-01' + INTERVAL (seq % 1000) DAY FROM seq_1_to_20000;
CREATE EVENT purge_old ON SCHEDULE EVERY 1 DAY DO DELETE FROM events WHERE at < '2000-01-01';
CREATE USER 'reporter'@'%' IDENTIFIED BY 'Reporter-PW-3';
GRANT SELECT ON shop.* TO 'reporter'@'%';`)
}

// drop removes what seed made, as a disaster would.
func (m mariaServer) drop(t *testing.T) {
	t.Helper()
	m.sql(t, `DROP DATABASE shop; DROP DATABASE audit; DROP USER 'reporter'@'%';`)
}

// state is what must survive a backup and restore: each table's row count
// and content checksum, the view, routine and event, and the user's rows
// in the grant tables (a restore writes the tables; the server reloads
// them on FLUSH PRIVILEGES).
func (m mariaServer) state(t *testing.T) map[string]string {
	t.Helper()
	st := map[string]string{
		"objects": m.sql(t, `SELECT CONCAT_WS(' ',
  (SELECT GROUP_CONCAT(CONCAT(TABLE_SCHEMA, '.', TABLE_NAME, ':', TABLE_TYPE) ORDER BY 1) FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ('shop', 'audit')),
  (SELECT GROUP_CONCAT(CONCAT(ROUTINE_SCHEMA, '.', ROUTINE_NAME) ORDER BY 1) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN ('shop', 'audit')),
  (SELECT GROUP_CONCAT(CONCAT(EVENT_SCHEMA, '.', EVENT_NAME) ORDER BY 1) FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN ('shop', 'audit')))`),
		"user": m.sql(t, `SELECT CONCAT_WS(' ', (SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'reporter'),
  (SELECT GROUP_CONCAT(CONCAT(Db, ':', Select_priv, Insert_priv)) FROM mysql.db WHERE User = 'reporter'))`),
	}
	for _, table := range []string{"shop.orders", "shop.items", "audit.events"} {
		st[table] = m.sql(t, "SELECT COUNT(*) FROM "+table+"; CHECKSUM TABLE "+table+" EXTENDED;")
	}
	return st
}

func mysqlOptions(t *testing.T, db mariaServer, setup Setup) DatabaseOptions {
	t.Setenv("MYSQL_PWD", db.Password)
	return DatabaseOptions{Setup: setup, DBHost: db.Host, DBPort: db.Port, DBUser: db.User, ExtraArgs: "--all-databases", WaitTimeout: 30}
}

func runBackupMySQL(t *testing.T, o DatabaseOptions) v1beta1.SnapshotStats {
	t.Helper()
	start := time.Now()
	s := backupOK(t, func(stdout *bytes.Buffer) error { return RunBackupMySQL(t.Context(), BackupMySQLOptions{o}, stdout) }, o.OutputDir, DumpFileName)
	t.Logf("backup-mysql took %v: snapshot %s, %s", time.Since(start).Round(time.Millisecond), s.Name, s.TotalSize)
	return s
}

func runRestoreMySQL(t *testing.T, o DatabaseOptions, snapshots ...string) v1beta1.HostRestoreStats {
	t.Helper()
	start := time.Now()
	o.ExtraArgs = "" // the catalog's restore default
	h := restoreResult(t, func(stdout *bytes.Buffer) error {
		return RunRestoreMySQL(t.Context(), RestoreMySQLOptions{DatabaseRestoreOptions{DatabaseOptions: o, Snapshots: snapshots}}, stdout)
	}, o.OutputDir)
	t.Logf("restore-mysql took %v: %s %s", time.Since(start).Round(time.Millisecond), h.Phase, h.Error)
	return h
}

// TestMySQLBackupRestore: two backup-mysql runs to S3 with the data
// changed in between; then lose both databases and the user and restore
// the latest snapshot, then restore the first snapshot by its id over the
// live data (the dump drops and re-creates every table), and get exactly
// that state back each time.
func TestMySQLBackupRestore(t *testing.T) {
	s3 := testenv.StartS3(t, "stash")
	db := startMariaDB(t)
	db.seed(t)
	setup, log := dbSetup(t, s3, "demo/mysql")
	o := mysqlOptions(t, db, setup)

	first := db.state(t)
	snap1 := runBackupMySQL(t, o)
	if !strings.HasSuffix(snap1.TotalSize, "MiB") {
		t.Fatalf("a 100k-row dump of %s is implausible", snap1.TotalSize)
	}
	backupJSON := outputFile(t, o.OutputDir)
	db.sql(t, `UPDATE shop.orders SET amount = 0 WHERE id % 2 = 0;
DELETE FROM shop.items WHERE id > 10000;
DROP PROCEDURE shop.order_count;
USE audit;
INSERT INTO events SELECT seq, NULL, NULL FROM seq_20001_to_25000;`)
	second := db.state(t)
	if maps.Equal(first, second) {
		t.Fatal("the change made no difference")
	}
	snap2 := runBackupMySQL(t, o)
	if snap1.Name == snap2.Name || len(repoSnapshots(t, setup)) != 2 {
		t.Fatalf("want two snapshots, got %s and %s", snap1.Name, snap2.Name)
	}

	t.Run("latest", func(t *testing.T) {
		db.drop(t)
		if got := db.sql(t, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('shop', 'audit')`); got != "0" {
			t.Fatalf("databases still there: %s", got)
		}
		if h := runRestoreMySQL(t, o); h.Phase != v1beta1.HostRestoreSucceeded || h.Hostname != "host-0" {
			t.Fatalf("restore = %+v", h)
		}
		assertSameState(t, second, db.state(t))
	})
	t.Run("first by id over live data", func(t *testing.T) {
		if h := runRestoreMySQL(t, o, snap1.Name); h.Phase != v1beta1.HostRestoreSucceeded {
			t.Fatalf("restore of %s = %+v", snap1.Name, h)
		}
		assertSameState(t, first, db.state(t))
	})

	assertNoSecrets(t, []string{db.Password, dbRepoPassword, s3.SecretKey}, map[string]string{
		"the log": log.String(), "backup output.json": backupJSON, "restore output.json": outputFile(t, o.OutputDir),
	})
	if !strings.Contains(log.String(), "mariadb-dump --host=127.0.0.1 --port="+strconv.Itoa(db.Port)+" --user=root --protocol=TCP --single-transaction --routines --events --all-databases\n") {
		t.Fatalf("the log does not show the dump's command line:\n%s", log)
	}
}

// TestMySQLFailures: a dump that fails, at its start or midway, leaves no
// snapshot; a restore whose client or dump stream fails is reported.
func TestMySQLFailures(t *testing.T) {
	s3 := testenv.StartS3(t, "stash")
	db := startMariaDB(t)
	db.seed(t)

	backups := map[string]struct {
		mysqlArgs string
		wantErr   []string
	}{
		"unknown mysql-args flag": {
			mysqlArgs: "--no-such-flag",
			wantErr:   []string{"mariadb-dump failed with exit code 2", "unknown option '--no-such-flag'", "no snapshot was kept"},
		},
		// audit is dumped and streamed before the second database fails.
		"dump fails midway": {
			mysqlArgs: "--databases audit no_such_db",
			wantErr:   []string{"mariadb-dump failed with exit code 2", `Unknown database 'no_such_db'`, "no snapshot was kept"},
		},
	}
	for name, tc := range backups {
		t.Run(name, func(t *testing.T) {
			setup, log := dbSetup(t, s3, "failures/"+strings.ReplaceAll(name, " ", "-"))
			o := mysqlOptions(t, db, setup)
			o.ExtraArgs = tc.mysqlArgs
			checkFailedBackup(t, BackupMySQL(t.Context(), BackupMySQLOptions{o}), setup, log, tc.wantErr, []string{db.Password})
		})
	}

	setup, _ := dbSetup(t, s3, "restore-failures")
	o := mysqlOptions(t, db, setup)
	snap := runBackupMySQL(t, o)
	restores := map[string]struct {
		snapshot, mysqlArgs string
		wantErr             []string
	}{
		"unknown snapshot": {snapshot: "deadbeef",
			wantErr: []string{"restore snapshot deadbeef: read dumpfile.sql from the repository: ", `no matching ID found for prefix "deadbeef"`}},
		// The client fails first; restic's broken pipe is not the story.
		"client fails": {snapshot: snap.Name, mysqlArgs: "--database=no_such_db",
			wantErr: []string{"restore snapshot " + snap.Name + ": mariadb failed with exit code 1", "Unknown database 'no_such_db'"}},
	}
	for name, tc := range restores {
		t.Run(name, func(t *testing.T) {
			o := o
			o.OutputDir = t.TempDir()
			o.ExtraArgs = tc.mysqlArgs
			out := RestoreMySQL(t.Context(), RestoreMySQLOptions{DatabaseRestoreOptions{DatabaseOptions: o, Snapshots: []string{tc.snapshot}}})
			h := out.HostRestoreStats[0]
			if h.Phase != v1beta1.HostRestoreFailed {
				t.Fatalf("output = %+v", out)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(h.Error, w) {
					t.Errorf("error %q does not contain %q", h.Error, w)
				}
			}
		})
	}
}
