package function

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/testenv"
)

func TestFilterPGDatabase(t *testing.T) {
	// A pg_dumpall script, cut down: its start, two databases, its end.
	const (
		start = `--
-- PostgreSQL database cluster dump
--

SET default_transaction_read_only = off;
SET client_encoding = 'UTF8';

--
-- Roles
--

CREATE ROLE app_owner;
ALTER ROLE app_owner WITH NOSUPERUSER NOLOGIN PASSWORD 'SCRAM-SHA-256$4096:x';
GRANT app_owner TO postgres;

`
		shop = `--
-- Database "shop" dump
--

CREATE DATABASE shop;
\connect shop
COPY public.notes (body) FROM stdin;
-- Database "audit" dump
\.
INSERT INTO t VALUES (1);

`
		audit = `--
-- Database "audit" dump
--

CREATE DATABASE audit;
\connect audit
CREATE TABLE events (id int);

`
		end = `--
-- PostgreSQL database cluster dump complete
--
`
		dump = start + shop + audit + end
		// What every database's restore keeps of the dump's start.
		kept = "SET default_transaction_read_only = off;\nSET client_encoding = 'UTF8';\nCREATE ROLE app_owner;\n"
	)
	tests := map[string]struct {
		database, want, wantErr string
	}{
		// The comment line that starts the next section comes along.
		"the first database, with data that looks like a header": {database: "shop", want: kept + shop + "--\n"},
		"the last database, to the end of the dump":              {database: "audit", want: kept + audit + end},
		"a database the dump does not hold":                      {database: "nope", wantErr: `the dump holds no database "nope" (it holds shop, audit): check --database`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if !wantError(t, filterPGDatabase(tc.database, strings.NewReader(dump), &out), tc.wantErr) {
				return
			}
			if out.String() != tc.want {
				t.Errorf("filtered:\n%s\nwant:\n%s", out.String(), tc.want)
			}
		})
	}
}

// TestPGDatabases: backup-pg --databases dumps the named databases and the
// roles, which restore into an empty server; restore-pg --database takes
// one database out of a whole-server dump, creating the roles it needs
// and changing none that exist.
func TestPGDatabases(t *testing.T) {
	s3 := testenv.StartS3(t, "stash")
	source := startPG(t)
	source.seed(t)
	source.sql(t, "postgres", "CREATE DATABASE scratch")
	wantShop := source.stateOf(t, "shop")
	restoreInto := func(t *testing.T, db pgServer, setup Setup, database string) v1beta1.HostRestoreStats {
		t.Helper()
		o := pgOptions(t, db, setup)
		o.OutputDir = t.TempDir()
		return restoreResult(t, func(stdout *bytes.Buffer) error {
			return RunRestorePG(t.Context(), RestorePGOptions{DatabaseRestoreOptions{DatabaseOptions: o, Database: database}}, stdout)
		}, o.OutputDir)
	}
	databases := func(db pgServer) string {
		return db.sql(t, "postgres", "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE NOT datistemplate")
	}

	t.Run("backup of named databases", func(t *testing.T) {
		setup, log := dbSetup(t, s3, "pg-databases/named")
		o := pgOptions(t, source, setup)
		o.Databases = []string{"shop"}
		runBackupPG(t, o)
		for _, w := range []string{"pg_dumpall --host 127.0.0.1", "--globals-only\n", "pg_dump --host 127.0.0.1", "--create --dbname=shop\n"} {
			if !strings.Contains(log.String(), w) {
				t.Errorf("the log does not show %q:\n%s", w, log)
			}
		}
		target := startPG(t)
		if h := restoreInto(t, target, setup, ""); h.Phase != v1beta1.HostRestoreSucceeded {
			t.Fatalf("restore = %+v", h)
		}
		if got := databases(target); got != "postgres,shop" {
			t.Errorf("the restored server has databases %s, want postgres,shop", got)
		}
		assertSameState(t, wantShop, target.stateOf(t, "shop"))
	})

	setup, _ := dbSetup(t, s3, "pg-databases/whole")
	runBackupPG(t, pgOptions(t, source, setup))
	t.Run("one database out of a whole-server dump", func(t *testing.T) {
		target := startPG(t)
		// A role that exists is left as it is: the dump's ALTER ROLE
		// (NOLOGIN) is not run.
		target.sql(t, "postgres", "CREATE ROLE app_owner LOGIN PASSWORD 'kept'")
		if h := restoreInto(t, target, setup, "shop"); h.Phase != v1beta1.HostRestoreSucceeded {
			t.Fatalf("restore = %+v", h)
		}
		if got := databases(target); got != "postgres,shop" {
			t.Errorf("the restored server has databases %s, want postgres,shop", got)
		}
		got := target.stateOf(t, "shop")
		if got["role app_owner"] != "app_owner login=true" {
			t.Errorf("the existing role app_owner became %q: a one-database restore must not change roles", got["role app_owner"])
		}
		got["role app_owner"] = wantShop["role app_owner"]
		assertSameState(t, wantShop, got)
	})
	t.Run("a database the dump does not hold", func(t *testing.T) {
		target := startPG(t)
		h := restoreInto(t, target, setup, "nope")
		if h.Phase != v1beta1.HostRestoreFailed || !strings.Contains(h.Error, `the dump holds no database "nope" (it holds template1, audit, postgres, scratch, shop)`) {
			t.Fatalf("restore = %+v", h)
		}
		if got := databases(target); got != "postgres" {
			t.Errorf("the failed restore left databases %s", got)
		}
	})
	t.Run("a named database that does not exist", func(t *testing.T) {
		setup, log := dbSetup(t, s3, "pg-databases/missing")
		o := pgOptions(t, source, setup)
		o.Databases = []string{"shop", "nope"}
		checkFailedBackup(t, BackupPG(t.Context(), BackupPGOptions{o}), setup, log,
			[]string{"pg_dump failed with exit code 1", `database "nope" does not exist`, "no snapshot was kept"}, []string{source.Password})
	})
}
