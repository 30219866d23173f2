package restic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/internal/backend"
	"github.com/stash-operator/stash/internal/testenv"
)

const testPassword = "correct-horse-Battery-9471"

// argLog records every command line a Repo runs, to prove no secret is in one.
type argLog struct {
	mu   sync.Mutex
	argv [][]string
}

func (l *argLog) trace(a []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.argv = append(l.argv, a)
}

func (l *argLog) assertNone(t *testing.T, secrets ...string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.argv) == 0 {
		t.Fatal("no command line was traced")
	}
	for _, a := range l.argv {
		joined := strings.Join(a, " ")
		for _, s := range secrets {
			if s != "" && strings.Contains(joined, s) {
				t.Fatalf("command line contains a secret: %s", joined)
			}
		}
	}
}

// backendKind makes a fresh, empty repository location for a test.
type backendKind func(t *testing.T) (backend.Backend, map[string]string)

func localBackend(t *testing.T) (backend.Backend, map[string]string) {
	return backend.Backend{Provider: backend.ProviderLocal, Bucket: filepath.Join(t.TempDir(), "repo")}, nil
}

func s3Backend(t *testing.T) (backend.Backend, map[string]string) {
	s3 := testenv.StartS3(t, "stash")
	return backend.Backend{Provider: backend.ProviderS3, Endpoint: s3.URL(), Bucket: "stash", Prefix: "team/app"},
		map[string]string{"AWS_ACCESS_KEY_ID": s3.AccessKey, "AWS_SECRET_ACCESS_KEY": s3.SecretKey}
}

var backends = map[string]backendKind{"local": localBackend, "s3": s3Backend}

// newTestRepo builds a Repo on b whose Secret holds password and creds.
func newTestRepo(t *testing.T, b backend.Backend, password string, creds map[string]string, log *argLog) *Repo {
	t.Helper()
	kv := map[string]string{backend.KeyResticPassword: password}
	for k, v := range creds {
		kv[k] = v
	}
	b.SecretDir = writeSecret(t, kv)
	opts := Options{Binary: testenv.Binary(t, "restic"), Backend: b, ScratchDir: t.TempDir(), EnableCache: true}
	if log != nil {
		opts.Trace = log.trace
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOperations(t *testing.T) {
	for name, mk := range backends {
		t.Run(name, func(t *testing.T) {
			b, creds := mk(t)
			log := &argLog{}
			r := newTestRepo(t, b, testPassword, creds, log)
			ctx := ctxFor(t, 3*time.Minute)

			if err := r.Open(ctx); !errors.Is(err, ErrRepositoryNotFound) {
				t.Fatalf("Open before init = %v, want ErrRepositoryNotFound", err)
			}
			created, err := r.OpenOrInit(ctx)
			if err != nil || !created {
				t.Fatalf("OpenOrInit = %v, %v; want created", created, err)
			}
			if created, err := r.OpenOrInit(ctx); err != nil || created {
				t.Fatalf("second OpenOrInit = %v, %v; want opened", created, err)
			}

			src := filepath.Join(t.TempDir(), "data")
			files := map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo", "sub/deeper/c.bin": strings.Repeat("c", 100000)}
			writeFiles(t, src, files)
			first, err := r.Backup(ctx, []string{src}, "host-a", []string{"nightly"})
			if err != nil {
				t.Fatalf("Backup: %v", err)
			}
			if first.SnapshotID == "" || len(first.ShortID()) != 8 || first.TotalFilesProcessed != 3 || first.FilesNew != 3 {
				t.Fatalf("summary = %+v", first)
			}
			if first.TotalBytesProcessed != 5+5+100000 {
				t.Fatalf("total bytes = %d", first.TotalBytesProcessed)
			}

			snaps, err := r.Snapshots(ctx, SnapshotFilter{Host: "host-a", Tags: []string{"nightly"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(snaps) != 1 || snaps[0].ID != first.SnapshotID || !slices.Equal(snaps[0].Paths, []string{src}) || snaps[0].Hostname != "host-a" {
				t.Fatalf("snapshots = %+v", snaps)
			}
			if other, err := r.Snapshots(ctx, SnapshotFilter{Host: "host-b"}); err != nil || len(other) != 0 {
				t.Fatalf("snapshots of another host = %v, %v", other, err)
			}

			// A second backup, after a change, is the one "latest" restores.
			writeFiles(t, src, map[string]string{"a.txt": "alpha v2"})
			second, err := r.Backup(ctx, []string{src}, "host-a", nil)
			if err != nil {
				t.Fatal(err)
			}
			if second.FilesChanged != 1 || second.FilesUnmodified != 2 {
				t.Fatalf("second summary = %+v", second)
			}
			target := t.TempDir()
			if err := r.Restore(ctx, Latest, target, "host-a", []string{src}); err != nil {
				t.Fatalf("Restore latest: %v", err)
			}
			files["a.txt"] = "alpha v2"
			assertFiles(t, filepath.Join(target, src), files)
			// An explicit id with a path restores only that path.
			target2 := t.TempDir()
			if err := r.Restore(ctx, first.SnapshotID, target2, "", []string{filepath.Join(src, "sub")}); err != nil {
				t.Fatalf("Restore by id: %v", err)
			}
			assertFiles(t, filepath.Join(target2, src), map[string]string{"sub/b.txt": "bravo", "sub/deeper/c.bin": files["sub/deeper/c.bin"]})
			if _, err := os.Stat(filepath.Join(target2, src, "a.txt")); !os.IsNotExist(err) {
				t.Fatalf("a.txt restored although not included: %v", err)
			}

			dump := bytes.Repeat([]byte("INSERT INTO t VALUES (1);\n"), 50000)
			st, err := r.BackupStdin(ctx, bytes.NewReader(dump), "dumpfile.sql", "db-0")
			if err != nil {
				t.Fatalf("BackupStdin: %v", err)
			}
			if st.TotalBytesProcessed != uint64(len(dump)) {
				t.Fatalf("stdin summary = %+v", st)
			}
			for _, snap := range []string{Latest, st.SnapshotID} {
				var got bytes.Buffer
				if err := r.Dump(ctx, snap, "db-0", "dumpfile.sql", &got); err != nil {
					t.Fatalf("Dump %s: %v", snap, err)
				}
				if !bytes.Equal(got.Bytes(), dump) {
					t.Fatalf("Dump %s returned %d bytes, want the %d backed up", snap, got.Len(), len(dump))
				}
			}

			if res, err := r.Forget(ctx, "host-a", v1alpha1.RetentionPolicy{Prune: true}); err != nil || !res.Skipped {
				t.Fatalf("Forget without keep rule = %+v, %v; want skipped", res, err)
			}
			res, err := r.Forget(ctx, "host-a", v1alpha1.RetentionPolicy{KeepLast: 1, Prune: true})
			if err != nil {
				t.Fatalf("Forget: %v", err)
			}
			if res.Kept != 1 || res.Removed != 1 {
				t.Fatalf("Forget = %+v, want 1 kept 1 removed", res)
			}
			all, err := r.Snapshots(ctx, SnapshotFilter{})
			if err != nil || len(all) != 2 {
				t.Fatalf("after forget: %d snapshots, %v; want host-a's latest and db-0's", len(all), err)
			}

			ok, err := r.Check(ctx, "50%")
			if err != nil || !ok {
				t.Fatalf("Check = %v, %v", ok, err)
			}
			size, err := r.Stats(ctx)
			if err != nil || size < uint64(len("alpha v2")) {
				t.Fatalf("Stats = %d, %v", size, err)
			}
			if err := r.ForgetIDs(ctx, st.SnapshotID); err != nil {
				t.Fatal(err)
			}
			if left, _ := r.Snapshots(ctx, SnapshotFilter{Host: "db-0"}); len(left) != 0 {
				t.Fatalf("ForgetIDs left %v", left)
			}
			log.assertNone(t, testPassword, creds["AWS_SECRET_ACCESS_KEY"])
		})
	}
}

func assertFiles(t *testing.T, root string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		got[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("restored %d files, want %d: %v", len(got), len(want), keys(got))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("restored %s has %d bytes %.20q, want %.20q", k, len(got[k]), got[k], v)
		}
	}
}

func keys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	slices.Sort(k)
	return k
}

func TestOpenErrors(t *testing.T) {
	s3 := testenv.StartS3(t, "stash", "empty")
	s3Creds := map[string]string{"AWS_ACCESS_KEY_ID": s3.AccessKey, "AWS_SECRET_ACCESS_KEY": s3.SecretKey}
	closed, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	localRepo := filepath.Join(t.TempDir(), "repo")
	s3Repo := backend.Backend{Provider: backend.ProviderS3, Endpoint: s3.URL(), Bucket: "stash", Prefix: "p"}
	for _, b := range []backend.Backend{{Provider: backend.ProviderLocal, Bucket: localRepo}, s3Repo} {
		creds := map[string]string(nil)
		if b.Provider == backend.ProviderS3 {
			creds = s3Creds
		}
		if _, err := newTestRepo(t, b, testPassword, creds, nil).OpenOrInit(ctxFor(t, time.Minute)); err != nil {
			t.Fatal(err)
		}
	}

	const wrong = "wrong-Password-55521"
	tests := map[string]struct {
		b        backend.Backend
		password string
		creds    map[string]string
		timeout  time.Duration
		want     error
		wantMsg  string
	}{
		"local wrong password": {b: backend.Backend{Provider: backend.ProviderLocal, Bucket: localRepo}, password: wrong, want: ErrWrongPassword,
			wantMsg: "repository password is wrong for " + localRepo + ": check RESTIC_PASSWORD in the storage Secret"},
		"s3 wrong password": {b: s3Repo, password: wrong, creds: s3Creds, want: ErrWrongPassword,
			wantMsg: "repository password is wrong for s3:" + s3.URL() + "/stash/p: check RESTIC_PASSWORD in the storage Secret"},
		"local no repository": {b: backend.Backend{Provider: backend.ProviderLocal, Bucket: filepath.Join(t.TempDir(), "none")}, want: ErrRepositoryNotFound,
			wantMsg: "no restic repository at"},
		"s3 empty bucket": {b: backend.Backend{Provider: backend.ProviderS3, Endpoint: s3.URL(), Bucket: "empty"}, creds: s3Creds, want: ErrRepositoryNotFound,
			wantMsg: "no restic repository at s3:" + s3.URL() + "/empty"},
		"s3 missing bucket": {b: backend.Backend{Provider: backend.ProviderS3, Endpoint: s3.URL(), Bucket: "no-such-bucket"}, creds: s3Creds, want: ErrRepositoryNotFound,
			wantMsg: "no restic repository at"},
		"s3 wrong access key": {b: s3Repo, creds: map[string]string{"AWS_ACCESS_KEY_ID": "nobody", "AWS_SECRET_ACCESS_KEY": "bad-Secret-Key-31337"}, want: ErrAccessDenied,
			wantMsg: "refused the credentials"},
		"s3 unreachable": {b: backend.Backend{Provider: backend.ProviderS3, Endpoint: "http://127.0.0.1:" + strconv.Itoa(closed), Bucket: "stash"}, creds: s3Creds,
			want: ErrUnreachable, wantMsg: "cannot reach the backend of s3:http://127.0.0.1:" + strconv.Itoa(closed) + "/stash"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pw := tc.password
			if pw == "" {
				pw = testPassword
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = time.Minute
			}
			log := &argLog{}
			r := newTestRepo(t, tc.b, pw, tc.creds, log)
			start := time.Now()
			err := r.Open(ctxFor(t, timeout))
			took := time.Since(start)
			t.Logf("Open took %v: %v", took.Round(time.Millisecond), err)
			// restic alone would retry for 15 minutes.
			if took > 20*time.Second {
				t.Errorf("Open took %v; it must give up within 20s", took)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
			var ce *CommandError
			if !errors.As(err, &ce) {
				t.Fatalf("Open error is %T, want *CommandError", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("message %q does not contain %q", err.Error(), tc.wantMsg)
			}
			for _, s := range []string{pw, tc.creds["AWS_SECRET_ACCESS_KEY"]} {
				if s != "" && strings.Contains(err.Error()+ce.Stderr, s) {
					t.Fatalf("error leaks a secret: %v", err)
				}
			}
			log.assertNone(t, pw, tc.creds["AWS_SECRET_ACCESS_KEY"])
			// OpenOrInit must not create a repository over a wrong password
			// or an unreachable backend.
			if tc.want != ErrRepositoryNotFound && tc.want != ErrUnreachable {
				if _, err := r.OpenOrInit(ctxFor(t, timeout)); !errors.Is(err, tc.want) {
					t.Fatalf("OpenOrInit = %v, want %v", err, tc.want)
				}
			}
		})
	}
}

// TestOpenOrInitMissingBucket records what restic does with a bucket that
// does not exist: Open reports ErrRepositoryNotFound, and init creates the
// bucket along with the repository.
func TestOpenOrInitMissingBucket(t *testing.T) {
	s3 := testenv.StartS3(t, "stash")
	b := backend.Backend{Provider: backend.ProviderS3, Endpoint: s3.URL(), Bucket: "created-by-init", Prefix: "p"}
	r := newTestRepo(t, b, testPassword, map[string]string{"AWS_ACCESS_KEY_ID": s3.AccessKey, "AWS_SECRET_ACCESS_KEY": s3.SecretKey}, nil)
	ctx := ctxFor(t, time.Minute)
	if err := r.Open(ctx); !errors.Is(err, ErrRepositoryNotFound) {
		t.Fatalf("Open = %v, want ErrRepositoryNotFound", err)
	}
	created, err := r.OpenOrInit(ctx)
	if err != nil || !created {
		t.Fatalf("OpenOrInit = %v, %v", created, err)
	}
	if err := r.Open(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionScopedByHost: a keepLast for host A never removes host B's
// snapshots in the same repository.
func TestRetentionScopedByHost(t *testing.T) {
	b, creds := localBackend(t)
	r := newTestRepo(t, b, testPassword, creds, nil)
	ctx := ctxFor(t, 3*time.Minute)
	if _, err := r.OpenOrInit(ctx); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	backup := func(host string, n int) {
		for i := range n {
			writeFiles(t, src, map[string]string{"f": fmt.Sprintf("%s %d", host, i)})
			if _, err := r.Backup(ctx, []string{src}, host, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	backup("host-a", 3)
	backup("host-b", 2)
	res, err := r.Forget(ctx, "host-a", v1alpha1.RetentionPolicy{KeepLast: 1, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept != 1 || res.Removed != 2 {
		t.Fatalf("Forget = %+v, want 1 kept, 2 removed", res)
	}
	for host, want := range map[string]int{"host-a": 1, "host-b": 2} {
		snaps, err := r.Snapshots(ctx, SnapshotFilter{Host: host})
		if err != nil || len(snaps) != want {
			t.Fatalf("%s has %d snapshots (%v), want %d", host, len(snaps), err, want)
		}
	}
	// The newest of host-a is the one kept.
	target := t.TempDir()
	if err := r.Restore(ctx, Latest, target, "host-a", nil); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, filepath.Join(target, src), map[string]string{"f": "host-a 2"})

	// Dry run reports what it would remove and removes nothing.
	res, err = r.Forget(ctx, "host-b", v1alpha1.RetentionPolicy{KeepLast: 1, DryRun: true})
	if err != nil || res.Removed != 1 {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
	if snaps, _ := r.Snapshots(ctx, SnapshotFilter{Host: "host-b"}); len(snaps) != 2 {
		t.Fatalf("dry run removed snapshots: %d left", len(snaps))
	}
}

// failingReader returns some data, then fails like a dump that dies midway.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("pg_dump: connection lost")
	}
	n := min(len(p), f.n)
	for i := range n {
		p[i] = 'x'
	}
	f.n -= n
	return n, nil
}

// TestBackupStdinReaderFails: a source that fails midway yields an error and
// no snapshot at all, never a partial one reported as good.
func TestBackupStdinReaderFails(t *testing.T) {
	b, creds := localBackend(t)
	r := newTestRepo(t, b, testPassword, creds, nil)
	ctx := ctxFor(t, 2*time.Minute)
	if _, err := r.OpenOrInit(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := r.BackupStdin(ctx, &failingReader{n: 5 << 20}, "dumpfile.sql", "db-0")
	var re *ReadError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("BackupStdin = %v, want a *ReadError", err)
	}
	snaps, err := r.Snapshots(ctx, SnapshotFilter{})
	if err != nil || len(snaps) != 0 {
		t.Fatalf("%d snapshots after a failed stdin backup (%v), want none", len(snaps), err)
	}
	// The interrupted restic removed its lock: the next backup works.
	if _, err := r.BackupStdin(ctx, io.LimitReader(&failingReader{n: 100}, 100), "dumpfile.sql", "db-0"); err != nil {
		t.Fatalf("backup after the failed one: %v", err)
	}
}

// TestNiceWrapperRuns runs restic under ionice and nice, as a Function with
// runtime settings does.
func TestNiceWrapperRuns(t *testing.T) {
	t.Setenv("NICE_ADJUSTMENT", "5")
	t.Setenv("IONICE_CLASS", "2")
	t.Setenv("IONICE_CLASS_DATA", "4")
	b, creds := localBackend(t)
	log := &argLog{}
	r := newTestRepo(t, b, testPassword, creds, log)
	if _, err := r.OpenOrInit(ctxFor(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := log.argv[0][:7]; !slices.Equal(got, []string{"ionice", "-c", "2", "-n", "4", "nice", "-n"}) {
		t.Fatalf("command line starts %q", got)
	}
}

// TestCheckFindsCorruption: a damaged pack makes Check report integrity
// false without an error, which is what output.json's integrity means.
func TestCheckFindsCorruption(t *testing.T) {
	b, creds := localBackend(t)
	r := newTestRepo(t, b, testPassword, creds, nil)
	ctx := ctxFor(t, 2*time.Minute)
	if _, err := r.OpenOrInit(ctx); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"f": strings.Repeat("data", 10000)})
	if _, err := r.Backup(ctx, []string{src}, "h", nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Check(ctx, ""); err != nil || !ok {
		t.Fatalf("Check of a sound repository = %v, %v", ok, err)
	}
	var packs []string
	_ = filepath.WalkDir(filepath.Join(b.Bucket, "data"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			packs = append(packs, p)
		}
		return err
	})
	if len(packs) == 0 {
		t.Fatal("no pack files found")
	}
	for _, p := range packs {
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0xff
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ok, err := r.Check(ctx, "100%")
	if err != nil || ok {
		t.Fatalf("Check of a corrupted repository = %v, %v; want false, nil", ok, err)
	}
}

func TestRetryWatcher(t *testing.T) {
	const (
		refused  = `Stat(<config/>) returned error, retrying after 1.2s: Stat: dial tcp 127.0.0.1:1: connect: connection refused`
		noBucket = `Stat(<config/>) returned error, retrying after 1.2s: Stat: The specified bucket does not exist.`
		ok       = `Stat(<config/>) operation successful after 2 retries`
	)
	tests := map[string]struct {
		lines    []string
		wait     time.Duration
		want     error
		wantLine string
	}{
		"permanent error stops at once": {lines: []string{noBucket}, want: ErrRepositoryNotFound, wantLine: noBucket},
		"unreachable waits for grace":   {lines: []string{refused}, wait: 150 * time.Millisecond, want: ErrUnreachable, wantLine: refused},
		"unreachable within grace":      {lines: []string{refused}, want: nil},
		"recovery resets the grace":     {lines: []string{refused, ok}, wait: 150 * time.Millisecond, want: nil},
		"other lines are ignored":       {lines: []string{"Fatal: connection refused"}, wait: 150 * time.Millisecond, want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			interrupted := make(chan struct{}, 1)
			w := newRetryWatcher(50*time.Millisecond, func() { interrupted <- struct{}{} })
			for _, l := range tc.lines {
				w.line(l)
			}
			time.Sleep(tc.wait)
			line, kind := w.result()
			w.stop()
			if kind != tc.want || (tc.want != nil && line != tc.wantLine) {
				t.Fatalf("result = %v, %q; want %v", kind, line, tc.want)
			}
			if got := len(interrupted) == 1; got != (tc.want != nil) {
				t.Fatalf("interrupted = %v", got)
			}
			if tc.want != nil && retryMessage(line) == line {
				t.Fatalf("retryMessage did not strip the prefix of %q", line)
			}
		})
	}
}

// slowReader gives a little data every few milliseconds until its context
// ends, like the dump of a large database.
type slowReader struct{ ctx context.Context }

func (s slowReader) Read(p []byte) (int, error) {
	select {
	case <-s.ctx.Done():
		return 0, s.ctx.Err()
	case <-time.After(10 * time.Millisecond):
		return copy(p, strings.Repeat("x", 1024)), nil
	}
}

// A restic killed by SIGKILL (the OOM killer, a kill -9) cannot remove its
// lock; the driver removes it at once, so that the next backup's retention
// is not held off for half an hour.
func TestKilledResticLeavesNoLock(t *testing.T) {
	b, creds := localBackend(t)
	r := newTestRepo(t, b, testPassword, creds, nil)
	ctx := ctxFor(t, 2*time.Minute)
	if _, err := r.OpenOrInit(ctx); err != nil {
		t.Fatal(err)
	}
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	done := make(chan error, 1)
	go func() {
		_, err := r.BackupStdin(ctx, slowReader{feedCtx}, "dumpfile.sql", "db-0")
		done <- err
	}()
	pid := waitForProcess(t, "backup", b.Bucket)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		locks, err := r.Locks(ctx)
		if err == nil && len(locks) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running backup holds %d locks (%v), want 1", len(locks), err)
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("a killed backup returned no error")
	}
	if locks, err := r.Locks(ctx); err != nil || len(locks) != 0 {
		t.Fatalf("locks after the kill: %+v (%v), want none", locks, err)
	}
}

// waitForProcess finds the restic process running sub on the repository
// at repo.
func waitForProcess(t *testing.T, sub, repo string) int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, f := range dirs {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			args := strings.Split(string(b), "\x00")
			if len(args) > 1 && filepath.Base(args[0]) == "restic" && slices.Contains(args, sub) && slices.Contains(args, repo) {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
				return pid
			}
		}
	}
	t.Fatalf("no restic %s on %s runs", sub, repo)
	return 0
}
