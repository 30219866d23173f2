package function

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/redisdump"
	"github.com/stash-operator/stash/internal/testenv"
)

func redisClient(t *testing.T, db testenv.Database, dbn int) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: db.Addr(), Username: db.User, Password: db.Password, DB: dbn, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// seedRedis writes keys of several types into databases 0 and 2, some
// expiring, one binary.
func seedRedis(t *testing.T, db testenv.Database) {
	t.Helper()
	ctx := context.Background()
	for _, dbn := range []int{0, 2} {
		p := redisClient(t, db, dbn).Pipeline()
		for i := range 1200 {
			p.Set(ctx, fmt.Sprintf("order:%d", i), fmt.Sprintf("customer-%d", i%97), 0)
		}
		p.Set(ctx, "session", "\x00\xffbinary", time.Hour)
		p.RPush(ctx, "queue", "a", "b", "c")
		p.HSet(ctx, "user:1", "name", "ada", "plan", "pro")
		p.ZAdd(ctx, "scores", goredis.Z{Score: 3, Member: "x"})
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// redisState is what must come back: per database, every key's value (as
// the test reads the types it wrote) and expiry, to the second.
func redisState(t *testing.T, db testenv.Database) map[string]string {
	t.Helper()
	ctx := context.Background()
	st := map[string]string{}
	for _, dbn := range []int{0, 1, 2} {
		c := redisClient(t, db, dbn)
		keys, err := c.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			typ := c.Type(ctx, k).Val()
			var v any
			switch typ {
			case "string":
				v = c.Get(ctx, k).Val()
			case "list":
				v = c.LRange(ctx, k, 0, -1).Val()
			case "hash":
				v = c.HGetAll(ctx, k).Val()
			case "zset":
				v = c.ZRangeWithScores(ctx, k, 0, -1).Val()
			}
			st[fmt.Sprintf("db%d/%s", dbn, k)] = fmt.Sprintf("%s %q expires %d", typ, fmt.Sprint(v), c.ExpireTime(ctx, k).Val()/time.Second)
		}
	}
	return st
}

func redisOptions(t *testing.T, db testenv.Database, setup Setup) DatabaseOptions {
	t.Setenv(redisdump.PasswordEnv, db.Password)
	return DatabaseOptions{Setup: setup, DBHost: db.Host, DBPort: db.Port, DBUser: db.User, WaitTimeout: 30}
}

func runRestoreRedis(t *testing.T, o DatabaseOptions) v1beta1.HostRestoreStats {
	t.Helper()
	return restoreResult(t, func(stdout *bytes.Buffer) error {
		return RunRestoreRedis(t.Context(), RestoreRedisOptions{DatabaseRestoreOptions{DatabaseOptions: o}}, stdout)
	}, o.OutputDir)
}

// TestRedisBackupRestore: backup-redis into S3, then restore-redis into an
// empty server, which gets every key back with its value and expiry; a
// second restore into the now full server is refused, touching nothing.
func TestRedisBackupRestore(t *testing.T) {
	s3 := testenv.StartS3(t, "stash")
	source, target := testenv.StartRedis(t), testenv.StartRedis(t)
	seedRedis(t, source)
	want := redisState(t, source)
	setup, log := dbSetup(t, s3, "demo/redis")
	o := redisOptions(t, source, setup)

	start := time.Now()
	snap := backupOK(t, func(stdout *bytes.Buffer) error { return RunBackupRedis(t.Context(), BackupRedisOptions{o}, stdout) }, o.OutputDir, RedisDumpFileName)
	t.Logf("backup-redis took %v: snapshot %s, %s", time.Since(start).Round(time.Millisecond), snap.Name, snap.TotalSize)
	backupJSON := outputFile(t, o.OutputDir)

	ro := redisOptions(t, target, setup)
	ro.OutputDir = t.TempDir()
	if h := runRestoreRedis(t, ro); h.Phase != v1beta1.HostRestoreSucceeded {
		t.Fatalf("restore = %+v", h)
	}
	got := redisState(t, target)
	if len(got) != len(want) {
		t.Errorf("%d keys restored, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("key %s: restored %s, want %s", k, got[k], w)
		}
	}

	h := runRestoreRedis(t, ro)
	if h.Phase != v1beta1.HostRestoreFailed || !strings.Contains(h.Error, "the server holds keys (database 0: 1204, database 2: 1204): restore into an empty server") {
		t.Fatalf("a restore into the full server: %+v; want Failed, saying it holds keys", h)
	}
	assertNoSecrets(t, []string{source.Password, dbRepoPassword, s3.SecretKey}, map[string]string{
		"the log": log.String(), "backup output.json": backupJSON, "restore error": h.Error,
	})
	if !strings.Contains(log.String(), " redis --host=127.0.0.1 --port=") || !strings.Contains(log.String(), " --user=default dump\n") {
		t.Errorf("the log does not show the dump's command line:\n%s", log)
	}
}

// TestRedisFailures: a dump that fails midway (an ACL user who may not
// DUMP some keys) leaves no snapshot and says why in Redis's words; a
// wrong password is a clear failure once the wait gives up.
func TestRedisFailures(t *testing.T) {
	s3 := testenv.StartS3(t, "stash")
	db := testenv.StartRedis(t)
	seedRedis(t, db)
	ctx := context.Background()
	if err := redisClient(t, db, 0).Do(ctx, "ACL", "SETUSER", "orders-only", "on", ">orders-pw", "~order:*",
		"+ping", "+info", "+select", "+scan", "+dump", "+pexpiretime").Err(); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		user, password string
		wantErr        []string
	}{
		"dump fails midway": {user: "orders-only", password: "orders-pw",
			wantErr: []string{"failed with exit code 1: redis at 127.0.0.1:", "NOPERM", "no snapshot was kept"}},
		"wrong password": {user: "default", password: "not-the-password",
			wantErr: []string{"did not accept a connection as user default", "WRONGPASS"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			setup, log := dbSetup(t, s3, "failures/redis-"+strings.ReplaceAll(name, " ", "-"))
			o := redisOptions(t, db, setup)
			o.DBUser = tc.user
			o.WaitTimeout = 2
			t.Setenv(redisdump.PasswordEnv, tc.password)
			checkFailedBackup(t, backupDatabase(t.Context(), &redis, o), setup, log, tc.wantErr, []string{tc.password, db.Password})
		})
	}
}
