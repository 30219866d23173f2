package redisdump

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stash-operator/stash/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(m.Run()) }

func connect(t *testing.T, db testenv.Database, user, password string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: db.Addr(), Username: user, Password: password, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

func admin(t *testing.T, db testenv.Database) *redis.Client {
	return connect(t, db, db.User, db.Password)
}

// fill writes a sample of every data type into databases 0 and 3: binary
// keys and values, expiring keys, a value of 1 MiB, and enough keys that
// SCAN and the batches take several rounds.
func fill(t *testing.T, c *redis.Client) {
	t.Helper()
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	for _, dbn := range []int{0, 3} {
		conn := c.Conn()
		must(t, conn.Select(ctx, dbn).Err())
		p := conn.Pipeline()
		p.Set(ctx, "string", "plain", 0)
		p.Set(ctx, "binary\x00key\xff", []byte{0, 1, 2, 0xff, 0xfe, '\r', '\n'}, 0)
		p.Set(ctx, "big", big, 0)
		p.RPush(ctx, "list", "a", "b", "c", "a")
		p.SAdd(ctx, "set", "x", "y", "z")
		p.ZAdd(ctx, "zset", redis.Z{Score: 1.5, Member: "one"}, redis.Z{Score: -2, Member: "two"})
		p.HSet(ctx, "hash", "field", "value", "other", "\x00\x01")
		p.XAdd(ctx, &redis.XAddArgs{Stream: "stream", ID: "1-1", Values: []string{"k", "v"}})
		p.PFAdd(ctx, "hll", "a", "b", "c")
		p.SetBit(ctx, "bits", 1000, 1)
		p.Set(ctx, "expires-in-an-hour", "soon", time.Hour)
		p.Set(ctx, "expires-in-a-day", "later", 24*time.Hour)
		p.HSet(ctx, "hash-with-ttl", "f", "v")
		p.Expire(ctx, "hash-with-ttl", 10*time.Minute)
		for i := range 2500 {
			p.Set(ctx, fmt.Sprintf("key:%d:%d", dbn, i), strconv.Itoa(i*i), 0)
		}
		_, err := p.Exec(ctx)
		must(t, err)
		conn.Close()
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// keyState is all a key is: its type, its value (of any type, binary
// safe, in an order that does not depend on the encoding) and its expiry as
// an absolute time.
type keyState struct {
	typ, value string
	expireAt   int64 // PEXPIRETIME: -1 for none
}

// valueOf reads key's value by its type.
func valueOf(t *testing.T, ctx context.Context, c *redis.Conn, typ, key string) string {
	t.Helper()
	var v any
	var err error
	switch typ {
	case "string":
		v, err = c.Get(ctx, key).Result()
	case "list":
		v, err = c.LRange(ctx, key, 0, -1).Result()
	case "set":
		var m []string
		m, err = c.SMembers(ctx, key).Result()
		slices.Sort(m)
		v = m
	case "zset":
		v, err = c.ZRangeWithScores(ctx, key, 0, -1).Result()
	case "hash":
		var m map[string]string
		m, err = c.HGetAll(ctx, key).Result()
		v = fmt.Sprint(slices.Sorted(maps.Keys(m)), m)
	case "stream":
		v, err = c.XRange(ctx, key, "-", "+").Result()
	default:
		t.Fatalf("key %q has type %s, which the test does not read", key, typ)
	}
	must(t, err)
	return fmt.Sprintf("%q", v)
}

// snapshot reads every key of every database of the server.
func snapshot(t *testing.T, c *redis.Client) map[string]keyState {
	t.Helper()
	ctx := context.Background()
	counts, err := keyCounts(ctx, c)
	must(t, err)
	all := map[string]keyState{}
	for dbn := range counts {
		conn := c.Conn()
		must(t, conn.Select(ctx, dbn).Err())
		var cursor uint64
		for {
			keys, next, err := conn.Scan(ctx, cursor, "", 1000).Result()
			must(t, err)
			for _, k := range keys {
				typ, err := conn.Type(ctx, k).Result()
				must(t, err)
				at, err := conn.Do(ctx, "PEXPIRETIME", k).Int64()
				must(t, err)
				all[fmt.Sprintf("db%d/%q", dbn, k)] = keyState{typ, valueOf(t, ctx, conn, typ, k), at}
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		conn.Close()
	}
	return all
}

// compare checks that got holds every key of want as it was, the expiry
// within slack milliseconds.
func compare(t *testing.T, want, got map[string]keyState) { compareWithin(t, want, got, 0) }

func compareWithin(t *testing.T, want, got map[string]keyState, slack int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d keys restored, want %d", len(got), len(want))
	}
	types := map[string]int{}
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("key %s (%s) was not restored", k, w.typ)
		case g.typ != w.typ || g.value != w.value:
			t.Errorf("key %s: restored as %s with another value, want %s", k, g.typ, w.typ)
		case g.expireAt < w.expireAt-slack || g.expireAt > w.expireAt+slack:
			t.Errorf("key %s: expires at %d, want %d", k, g.expireAt, w.expireAt)
		}
		types[w.typ]++
	}
	t.Logf("compared %d keys: types %v", len(want), types)
}

func runMain(t *testing.T, db testenv.Database, user, password, mode string, stdin []byte) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv(PasswordEnv, password)
	var out, errb bytes.Buffer
	code = Main(context.Background(), []string{"--host", db.Host, "--port", strconv.Itoa(db.Port), "--user", user, mode}, bytes.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// TestDumpAndLoad dumps a server holding every data type into a stream and
// loads it into an empty server, and with redis-cli --pipe into another:
// every key must come back with its type, value and expiry.
func TestDumpAndLoad(t *testing.T) {
	source, target, piped := testenv.StartRedis(t), testenv.StartRedis(t), testenv.StartRedis(t)
	fill(t, admin(t, source))
	want := snapshot(t, admin(t, source))

	dump, stderr, code := runMain(t, source, source.User, source.Password, "dump", nil)
	if code != 0 {
		t.Fatalf("dump: exit %d: %s", code, stderr)
	}
	t.Logf("dump: %s (%d bytes)", strings.TrimSpace(stderr), len(dump))
	if !strings.Contains(stderr, fmt.Sprintf("dumped %d keys of databases [0 3]", len(want))) {
		t.Errorf("dump's report %q, want %d keys of databases [0 3]", stderr, len(want))
	}
	_, stderr, code = runMain(t, target, target.User, target.Password, "load", []byte(dump))
	if code != 0 {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	compare(t, want, snapshot(t, admin(t, target)))

	t.Run("redis-cli --pipe", func(t *testing.T) {
		if _, err := exec.LookPath("redis-cli"); err != nil {
			testenv.Unavailable(t, "redis-cli")
		}
		cmd := exec.Command("redis-cli", "-h", piped.Host, "-p", strconv.Itoa(piped.Port), "--pipe")
		cmd.Env = append(os.Environ(), PasswordEnv+"="+piped.Password)
		cmd.Stdin = strings.NewReader(dump)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "errors: 0") {
			t.Fatalf("redis-cli --pipe: %v\n%s", err, out)
		}
		compare(t, want, snapshot(t, admin(t, piped)))
	})
}

// TestACLUsers backs up and restores as ACL users allowed only the
// commands the dump and the load run, as a least-privileged AppBinding
// Secret would name, and shows what a user without them is told.
func TestACLUsers(t *testing.T) {
	source, target := testenv.StartRedis(t), testenv.StartRedis(t)
	ctx := context.Background()
	fill(t, admin(t, source))
	want := snapshot(t, admin(t, source))
	must(t, admin(t, source).Do(ctx, "ACL", "SETUSER", "backup", "on", ">backup-pw", "~*", "+ping", "+info", "+select", "+scan", "+dump", "+pexpiretime").Err())
	must(t, admin(t, source).Do(ctx, "ACL", "SETUSER", "reader", "on", ">reader-pw", "~*", "+ping", "+info", "+select", "+scan", "+pexpiretime").Err())
	must(t, admin(t, target).Do(ctx, "ACL", "SETUSER", "restore", "on", ">restore-pw", "~*", "+ping", "+info", "+select", "+restore").Err())

	dump, stderr, code := runMain(t, source, "backup", "backup-pw", "dump", nil)
	if code != 0 {
		t.Fatalf("dump as ACL user backup: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runMain(t, target, "restore", "restore-pw", "load", []byte(dump)); code != 0 {
		t.Fatalf("load as ACL user restore: exit %d: %s", code, stderr)
	}
	compare(t, want, snapshot(t, admin(t, target)))

	tests := map[string]struct {
		user, password, mode string
		want                 []string
	}{
		"wrong password": {"backup", "not-the-password", "ping", []string{"WRONGPASS", "check the user and password of the AppBinding's Secret"}},
		"no DUMP":        {"reader", "reader-pw", "dump", []string{"NOPERM", "DUMP"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, stderr, code := runMain(t, source, tc.user, tc.password, tc.mode, nil)
			if code != 1 {
				t.Fatalf("exit %d, want 1: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stderr, tc.password) {
				t.Errorf("stderr shows the password: %s", stderr)
			}
		})
	}
}

// TestLoadRefuses: a load that could mix data sets or run what a dump
// never holds is refused, and one cut short says it is incomplete.
func TestLoadRefuses(t *testing.T) {
	source := testenv.StartRedis(t)
	ctx := context.Background()
	must(t, admin(t, source).Set(ctx, "a", "1", 0).Err())
	must(t, admin(t, source).Set(ctx, "b", "2", 0).Err())
	dump, stderr, code := runMain(t, source, source.User, source.Password, "dump", nil)
	if code != 0 {
		t.Fatalf("dump: exit %d: %s", code, stderr)
	}
	tampered := strings.Replace(dump, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n", "*1\r\n$8\r\nFLUSHALL\r\n", 1)
	if tampered == dump {
		t.Fatal("the dump has no SELECT 0 to replace")
	}
	tests := map[string]struct {
		input    string
		occupied bool
		wantErr  string
		wantKeys int // in the target afterwards
	}{
		"a server that holds keys": {input: dump, occupied: true, wantErr: "the server holds keys (database 0: 1): restore into an empty server", wantKeys: 1},
		"not a dump":               {input: "SET a 1\r\n", wantErr: "not a Redis dump of stash's"},
		"a dump cut short":         {input: dump[:len(dump)-40], wantErr: "without its trailer: it is incomplete"},
		"a command no dump holds":  {input: tampered, wantErr: "holds a FLUSHALL command"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			target := testenv.StartRedis(t)
			c := admin(t, target)
			if tc.occupied {
				must(t, c.Set(ctx, "already-here", "x", 0).Err())
			}
			_, err := Load(ctx, c, strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Load: err = %v, want %q", err, tc.wantErr)
			}
			if tc.occupied && !errors.Is(err, ErrNotEmpty) {
				t.Errorf("err %v does not wrap ErrNotEmpty", err)
			}
			counts, err := keyCounts(ctx, c)
			must(t, err)
			if got := counts[0]; got != tc.wantKeys && !strings.Contains(name, "cut short") {
				t.Errorf("the target holds %d keys, want %d", got, tc.wantKeys)
			}
		})
	}
}

// TestDumpWithoutExpireTime dumps as for a server before Redis 7, which has
// no PEXPIRETIME: the expiries, from PTTL and the server's clock, may be a
// millisecond or two off, never more.
func TestDumpWithoutExpireTime(t *testing.T) {
	source, target := testenv.StartRedis(t), testenv.StartRedis(t)
	ctx := context.Background()
	fill(t, admin(t, source))
	want := snapshot(t, admin(t, source))
	var buf bytes.Buffer
	if _, err := dump(ctx, admin(t, source), &buf, true); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, admin(t, target), &buf); err != nil {
		t.Fatal(err)
	}
	compareWithin(t, want, snapshot(t, admin(t, target)), 2)
}

// writeCerts writes a CA and a server certificate for 127.0.0.1 signed by
// it into dir, as start-redis.sh's TLS mode reads them.
func writeCerts(t *testing.T, dir string) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(t, err)
		return k
	}
	caKey, serverKey := key(), key()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stash test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	must(t, err)
	server := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	serverDER, err := x509.CreateCertificate(rand.Reader, server, ca, &serverKey.PublicKey, caKey)
	must(t, err)
	serverKeyDER, err := x509.MarshalECPrivateKey(serverKey)
	must(t, err)
	for name, block := range map[string]*pem.Block{
		"ca.crt": {Type: "CERTIFICATE", Bytes: caDER}, "server.crt": {Type: "CERTIFICATE", Bytes: serverDER},
		"server.key": {Type: "EC PRIVATE KEY", Bytes: serverKeyDER},
	} {
		// World-readable: the server may run as another user.
		must(t, os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o644))
	}
}

// TestTLS dumps a server that listens with TLS only, trusting its CA with
// --cacert, and loads the dump into a plain server; without the CA, or
// without --tls, the dump fails.
func TestTLS(t *testing.T) {
	certs := t.TempDir()
	must(t, os.Chmod(certs, 0o755))
	writeCerts(t, certs)
	source, target := testenv.StartRedisTLS(t, certs), testenv.StartRedis(t)
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(certs, "ca.crt"))
	must(t, err)
	pool.AppendCertsFromPEM(caPEM)
	c := redis.NewClient(&redis.Options{Addr: source.Addr(), Password: source.Password, Protocol: 2, DisableIdentity: true,
		TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	t.Cleanup(func() { c.Close() })
	must(t, c.Set(context.Background(), "over-tls", "yes", 0).Err())

	t.Setenv(PasswordEnv, source.Password)
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), append([]string{"--host", source.Host, "--port", strconv.Itoa(source.Port)}, args...), nil, &out, &errb)
		return out.String(), errb.String(), code
	}
	dump, stderr, code := run("dump", "--tls", "--cacert", filepath.Join(certs, "ca.crt"))
	if code != 0 {
		t.Fatalf("dump over TLS: exit %d: %s", code, stderr)
	}
	if _, err := Load(context.Background(), admin(t, target), strings.NewReader(dump)); err != nil {
		t.Fatal(err)
	}
	if got := admin(t, target).Get(context.Background(), "over-tls").Val(); got != "yes" {
		t.Fatalf("restored over-tls = %q, want yes", got)
	}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"the system's CAs": {[]string{"ping", "--tls"}, "certificate signed by unknown authority"},
		"no TLS":           {[]string{"ping"}, "if the server listens with TLS only, set --tls"},
	} {
		t.Run(name, func(t *testing.T) {
			_, stderr, code := run(tc.args...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 1 saying %q: %s", code, tc.want, stderr)
			}
		})
	}
}
