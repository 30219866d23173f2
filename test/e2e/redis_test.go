//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// redisCommand runs redis-cli in the server's pod as the default user.
func redisCommand(script string) []string {
	return []string{"sh", "-c", `export REDISCLI_AUTH="$REDIS_PASSWORD"; ` + script}
}

// The Redis sample: a key of each type the test reads back, an expiring
// one, and 300 more through redis-cli --pipe.
const (
	redisSampleData = `redis-cli set greeting hello >/dev/null
redis-cli rpush queue a b c >/dev/null
redis-cli hset user:1 name ada plan pro >/dev/null
redis-cli sadd tags x y z >/dev/null
redis-cli zadd scores 1.5 one -2 two >/dev/null
redis-cli set session token EX 3600 >/dev/null
redis-cli -n 2 set other-database yes >/dev/null
i=0; while [ $i -lt 300 ]; do echo "SET order:$i customer-$((i % 7))"; i=$((i + 1)); done | redis-cli --pipe >/dev/null`
	// Every key of databases 0 and 2 with its type, value and whether
	// it expires, hashed.
	redisChecksum = `for db in 0 2; do
  for k in $(redis-cli -n $db --scan | sort); do
    t=$(redis-cli -n $db type "$k")
    case $t in
      string) v=$(redis-cli -n $db get "$k") ;;
      list) v=$(redis-cli -n $db lrange "$k" 0 -1) ;;
      set) v=$(redis-cli -n $db smembers "$k" | sort) ;;
      hash) v=$(redis-cli -n $db hgetall "$k") ;;
      zset) v=$(redis-cli -n $db zrange "$k" 0 -1 withscores) ;;
    esac
    ttl=$(redis-cli -n $db ttl "$k"); [ "$ttl" -gt 3000 ] && ttl=about-an-hour
    echo "$db $k $t $v $ttl"
  done
done | md5sum; redis-cli dbsize`
)

// TestRedisQuickStart runs the README's Redis section as written (only the
// namespace and the repository directory differ): a Redis 7 server backed
// up with redis-backup-7 and restored into an empty second server, which
// must then hold every key with its type, value and expiry. A second
// restore into the now full server must fail, saying why.
func TestRedisQuickStart(t *testing.T) {
	t.Parallel()
	ns := setUp(t, "redis")
	repoDir := hostDir(t, "repo")
	apply(t, ns, readmeYAML(t, "repository.yaml")) // the quick start's repository Secret
	redisYAML := readmeYAML(t, "redis.yaml")
	apply(t, ns, redisYAML)
	waitPodReady(t, ns, "cache")
	execIn(t, ns, "cache", redisCommand(redisSampleData)...)
	want := execIn(t, ns, "cache", redisCommand(redisChecksum)...)
	if !strings.HasSuffix(want, "\n306") {
		t.Fatalf("the sample holds %q keys in database 0, want 306", want)
	}

	apply(t, ns, strings.ReplaceAll(readmeYAML(t, "redis-backup.yaml"), "/var/lib/stash-demo-redis-repo", repoDir))
	triggerAndWait(t, ns, "cache-backup")
	waitSnapshotCount(t, ns, "redis-repo", 1)

	apply(t, ns, strings.ReplaceAll(redisYAML, "cache", "cache-copy"))
	waitPodReady(t, ns, "cache-copy")
	apply(t, ns, readmeYAML(t, "redis-restore.yaml"))
	st := waitSession(t, ns, "restoresession", "cache-copy-restore", 5*time.Minute)
	t.Logf("restore Succeeded in %s", st.SessionDuration)
	if got := execIn(t, ns, "cache-copy", redisCommand(redisChecksum)...); got != want {
		t.Fatalf("restored keys differ:\nsource   %s\nrestored %s", want, got)
	}
	if got := execIn(t, ns, "cache-copy", redisCommand("redis-cli get greeting")...); got != "hello" {
		t.Fatalf("the README's check: get greeting = %q, want hello", got)
	}
	t.Logf("restored keys identical: %s", strings.ReplaceAll(want, "\n", ", keys: "))

	apply(t, ns, strings.ReplaceAll(readmeYAML(t, "redis-restore.yaml"), "name: cache-copy-restore", "name: restore-again"))
	st = waitFinished(t, ns, "restoresession", "restore-again", 5*time.Minute)
	if reason, message := st.condition(); st.Phase != "Failed" || !strings.Contains(message, "the server holds keys (database 0: 306, database 2: 1)") {
		diagnose(t, ns, "restoresession", "restore-again")
		t.Fatalf("a restore into the full server: phase %q, reason %q, message %q; want Failed, saying it holds keys", st.Phase, reason, message)
	}
}

// redisServer is the README's redis.yaml (Secret, Pod, Service, AppBinding)
// for a server of another major version (an image of hack/build-images.sh)
// under another name.
func redisServer(t *testing.T, name, version string) string {
	t.Helper()
	y := readmeYAML(t, "redis.yaml")
	for _, old := range []string{"localhost/redis:7", `version: "7"`, "cache"} {
		if !strings.Contains(y, old) {
			t.Fatalf("the README's redis.yaml has no %q to replace: update redisServer", old)
		}
	}
	return strings.NewReplacer("localhost/redis:7", "localhost/redis:"+version, `version: "7"`, `version: "`+version+`"`, "cache", name).Replace(y)
}

// startRedis starts redisServer and checks that it runs the major version
// asked for.
func startRedis(t *testing.T, ns, pod, version string) {
	t.Helper()
	apply(t, ns, redisServer(t, pod, version))
	waitPodReady(t, ns, pod)
	if got := execIn(t, ns, pod, redisCommand("redis-cli info server | grep '^redis_version:'")...); !strings.HasPrefix(got, "redis_version:"+version+".") {
		t.Fatalf("%s runs %q, want Redis %s", pod, got, version)
	}
}

// redisRoundTrip backs up a Redis server of version from with backupTask
// and restores the snapshot with restoreTask into an empty server of
// version to: every key must come back with its type, value and expiry.
func redisRoundTrip(t *testing.T, from, backupTask, to, restoreTask string) {
	ns := setUp(t, "redis")
	startRedis(t, ns, "source-redis", from)
	execIn(t, ns, "source-redis", redisCommand(redisSampleData)...)
	want := execIn(t, ns, "source-redis", redisCommand(redisChecksum)...)
	roundTrip(t, ns, "source-redis", backupTask, "restored-redis", restoreTask,
		func() { startRedis(t, ns, "restored-redis", to) })
	if got := execIn(t, ns, "restored-redis", redisCommand(redisChecksum)...); got != want {
		t.Fatalf("restored keys differ:\nsource   %s\nrestored %s", want, got)
	}
	t.Logf("Redis %s restored into %s identical: %s", from, to, strings.ReplaceAll(want, "\n", ", keys: "))
}
