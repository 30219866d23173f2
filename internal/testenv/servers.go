package testenv

import (
	"fmt"
	"os/exec"
	"strconv"
	"testing"
)

// S3 is a running S3-compatible server (versitygw) on 127.0.0.1.
type S3 struct {
	Endpoint  string // host:port, plain HTTP
	AccessKey string
	SecretKey string
	Dir       string // holds the server's data under s3-data/<bucket>
}

// URL is the endpoint as restic and the Repository spec want it.
func (s S3) URL() string { return "http://" + s.Endpoint }

// StartS3 starts a private S3 server with the given buckets, stopped when t ends.
func StartS3(t testing.TB, buckets ...string) S3 {
	t.Helper()
	bin := Binary(t, "versitygw")
	s := S3{AccessKey: "testkey", SecretKey: "testsecret123", Dir: serverDir(t, "s3")}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopServers(s.Dir) })
	vars, err := runScript("start-s3.sh",
		[]string{"VERSITYGW=" + bin, "AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey},
		append([]string{s.Dir, strconv.Itoa(port)}, buckets...)...)
	if err != nil {
		t.Fatal(err)
	}
	s.Endpoint = vars["S3_ENDPOINT"]
	return s
}

// Database is a running database server on 127.0.0.1.
type Database struct {
	Host     string
	Port     int
	User     string
	Password string
	Dir      string // data directory, logs and the Unix socket
}

// Addr is host:port.
func (d Database) Addr() string { return fmt.Sprintf("%s:%d", d.Host, d.Port) }

const testDBPassword = "stash-test-password"

// StartPostgres starts a private PostgreSQL 15 server, stopped when t ends.
func StartPostgres(t testing.TB) Database {
	t.Helper()
	return startServer(t, "/usr/lib/postgresql/15/bin/postgres", "PostgreSQL 15 server (/usr/lib/postgresql/15/bin)", "postgres", "start-postgres.sh", "postgres")
}

// StartMariaDB starts a private MariaDB 10.11 server, stopped when t ends.
func StartMariaDB(t testing.TB) Database {
	t.Helper()
	return startServer(t, "mariadbd", "MariaDB server (mariadbd)", "mariadb", "start-mariadb.sh", "root")
}

// StartRedis starts a private Redis server (Debian's: 7 on bookworm) whose
// default user has the password, stopped when t ends.
func StartRedis(t testing.TB) Database {
	t.Helper()
	return startServer(t, "redis-server", "Redis server (redis-server)", "redis", "start-redis.sh", "default")
}

// StartRedisTLS is StartRedis listening with TLS only, with certDir's
// server.crt, server.key and ca.crt.
func StartRedisTLS(t testing.TB, certDir string) Database {
	t.Helper()
	return startServer(t, "redis-server", "Redis server (redis-server)", "redis", "start-redis.sh", "default", "STASH_TEST_REDIS_TLS="+certDir)
}

// startServer starts the server of kind with its hack/ script (env added
// to its environment), if its program is installed.
func startServer(t testing.TB, program, what, kind, script, user string, env ...string) Database {
	t.Helper()
	skipInShortMode(t)
	if _, err := exec.LookPath(program); err != nil {
		Unavailable(t, what)
	}
	return startDatabase(t, kind, script, user, env...)
}

func startDatabase(t testing.TB, kind, script, user string, env ...string) Database {
	t.Helper()
	d := Database{Host: "127.0.0.1", User: user, Password: testDBPassword, Dir: serverDir(t, kind)}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	d.Port = port
	t.Cleanup(func() { stopServers(d.Dir) })
	if _, err := runScript(script, append([]string{"STASH_TEST_DB_PASSWORD=" + d.Password}, env...), d.Dir, strconv.Itoa(port)); err != nil {
		t.Fatal(err)
	}
	return d
}
