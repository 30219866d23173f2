package function

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/stash-operator/stash/api/stash/v1alpha1"
	"github.com/stash-operator/stash/api/stash/v1beta1"
	"github.com/stash-operator/stash/internal/restic"
	"github.com/stash-operator/stash/internal/testenv"
)

const testPassword = "pvc-test-Password-7730"

// s3Setup points Setup at a fresh versitygw bucket with a mounted Secret.
func s3Setup(t *testing.T, password string) Setup {
	t.Helper()
	s3 := testenv.StartS3(t, "stash")
	return Setup{
		Provider:     "s3",
		Endpoint:     s3.URL(),
		Bucket:       "stash",
		Path:         "ns/pvc",
		SecretDir:    secretDir(t, map[string]string{"RESTIC_PASSWORD": password, "AWS_ACCESS_KEY_ID": s3.AccessKey, "AWS_SECRET_ACCESS_KEY": s3.SecretKey}),
		ScratchDir:   t.TempDir(),
		EnableCache:  true,
		Hostname:     "host-0",
		OutputDir:    filepath.Join(t.TempDir(), "output"),
		ResticBinary: testenv.Binary(t, "restic"),
		// What the catalog Functions default to: Stash v0.9's sequence.
		CheckRepository: true, MeasureRepository: true,
	}
}

func localSetup(t *testing.T, password string) Setup {
	t.Helper()
	return Setup{
		Provider:     "local",
		Bucket:       filepath.Join(t.TempDir(), "repo"),
		SecretDir:    secretDir(t, map[string]string{"RESTIC_PASSWORD": password}),
		ScratchDir:   t.TempDir(),
		Hostname:     "host-0",
		OutputDir:    filepath.Join(t.TempDir(), "output"),
		ResticBinary: testenv.Binary(t, "restic"),
		// What the catalog Functions default to: Stash v0.9's sequence.
		CheckRepository: true, MeasureRepository: true,
	}
}

func secretDir(t *testing.T, kv map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for k, v := range kv {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// entry is what must survive a backup and restore for one path of a tree.
type entry struct {
	Mode   fs.FileMode // type bits and permissions
	SHA256 string      // regular files
	Link   string      // symlinks
}

// snapshotTree records every entry under root, keyed by relative path.
func snapshotTree(t *testing.T, root string) map[string]entry {
	t.Helper()
	tree := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entry{Mode: info.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			e.Link, err = os.Readlink(p)
		case info.Mode().IsRegular():
			e.SHA256, err = fileSHA256(p)
		}
		tree[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func assertSameTree(t *testing.T, want, got map[string]entry) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("%s: not restored", p)
			continue
		}
		if g != w {
			t.Errorf("%s: restored %+v, want %+v", p, g, w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: restored but was not backed up", p)
		}
	}
}

// writeRandom writes size bytes from a seeded PRNG: incompressible, the same
// on every run, and fast enough for hundreds of megabytes.
func writeRandom(t *testing.T, p string, size int64, seed uint64) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	var s [32]byte
	s[0] = byte(seed)
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.CopyN(w, rand.NewChaCha8(s), size); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// buildTree makes a PVC-like tree: nested dirs with various modes, empty
// dirs, symlinks (relative, absolute dangling, to a dir) and a big file.
func buildTree(t *testing.T, root string, big int64) {
	t.Helper()
	dirs := map[string]fs.FileMode{
		".": 0o755, "a": 0o755, "a/b": 0o700, "a/b/c": 0o750, "empty": 0o755, "empty2": 0o711, "empty2/nested-empty": 0o777,
	}
	for d, m := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		defer func() {
			// Modes last, so that restrictive ones do not stop us writing.
			if err := os.Chmod(filepath.Join(root, d), m); err != nil {
				t.Fatal(err)
			}
		}()
	}
	files := []struct {
		name    string
		mode    fs.FileMode
		content string
	}{
		{"README", 0o644, "hello\n"},
		{"secret.key", 0o600, "not really secret"},
		{"run.sh", 0o755, "#!/bin/sh\necho hi\n"},
		{"readonly.txt", 0o444, "ro"},
		{"group.txt", 0o640, "group"},
		{"setgid-tool", fs.ModeSetgid | 0o755, "sg"},
		{"zero-length", 0o644, ""},
		{"a/b/c/deep.txt", 0o600, "deep"},
		{"a/spaces and ünïcode.txt", 0o644, "utf-8 name"},
	}
	for _, f := range files {
		p := filepath.Join(root, f.name)
		if err := os.WriteFile(p, []byte(f.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"link-rel": "a/b/c/deep.txt", "link-abs-dangling": "/nonexistent/target", "link-dir": "a", "a/b/up": "../../README",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if big > 0 {
		writeRandom(t, filepath.Join(root, "a", "big.bin"), big, 1)
	}
}

// TestPVCBackupRestoreRoundTrip backs up two paths of a tree with backup-pvc
// to S3 and restores them with restore-pvc, then compares every entry.
func TestPVCBackupRestoreRoundTrip(t *testing.T) {
	setup := s3Setup(t, testPassword)
	setup.Retention = v1alpha1.RetentionPolicy{KeepLast: 5, Prune: true}
	base := t.TempDir()
	data, conf := filepath.Join(base, "data"), filepath.Join(base, "conf")
	buildTree(t, data, 200<<20)
	buildTree(t, conf, 0)
	wantData, wantConf := snapshotTree(t, data), snapshotTree(t, conf)
	// Guard the comparison itself: the tree has what the test claims.
	if len(wantData) != 21 || wantData["a/big.bin"].SHA256 == "" || wantData["empty2/nested-empty"].Mode != fs.ModeDir|0o777 ||
		wantData["link-abs-dangling"].Link != "/nonexistent/target" || wantData["setgid-tool"].Mode != fs.ModeSetgid|0o755 {
		t.Fatalf("test tree is not as built: %d entries %+v", len(wantData), wantData)
	}

	var stdout strings.Builder
	start := time.Now()
	if err := RunBackupPVC(t.Context(), BackupPVCOptions{Setup: setup, BackupPaths: []string{data, conf}}, &stdout); err != nil {
		t.Fatalf("RunBackupPVC: %v", err)
	}
	t.Logf("backup-pvc of 200 MiB took %v\n%s", time.Since(start).Round(time.Millisecond), stdout.String())
	out, err := ReadBackupOutput(setup.OutputDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.HostBackupStats) != 1 {
		t.Fatalf("output = %+v", out)
	}
	h := out.HostBackupStats[0]
	if h.Phase != v1beta1.HostBackupSucceeded || h.Hostname != "host-0" || h.Error != "" || len(h.Snapshots) != 2 {
		t.Fatalf("host stats = %+v", h)
	}
	if s := h.Snapshots[0]; s.Path != data || len(s.Name) != 8 || !strings.HasSuffix(s.TotalSize, "MiB") || *s.FileStats.TotalFiles != 10 {
		t.Fatalf("snapshot stats = %+v (files %d)", s, *s.FileStats.TotalFiles)
	}
	if r := out.Repository; r == nil || r.Integrity == nil || !*r.Integrity || r.SnapshotCount != 2 || !strings.HasSuffix(r.Size, "MiB") {
		t.Fatalf("repository stats = %+v", out.Repository)
	}
	if strings.Contains(stdout.String(), testPassword) {
		t.Fatal("summary prints the password")
	}

	target := t.TempDir()
	stdout.Reset()
	start = time.Now()
	ropt := RestorePVCOptions{Setup: setup, RestorePaths: []string{data, conf}, Target: target}
	ropt.Hostname = "host-1" // restore into another host, from host-0's snapshots
	ropt.SourceHostname = "host-0"
	if err := RunRestorePVC(t.Context(), ropt, &stdout); err != nil {
		t.Fatalf("RunRestorePVC: %v", err)
	}
	t.Logf("restore-pvc took %v\n%s", time.Since(start).Round(time.Millisecond), stdout.String())
	rout, err := ReadRestoreOutput(setup.OutputDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rout.HostRestoreStats) != 1 || rout.HostRestoreStats[0].Phase != v1beta1.HostRestoreSucceeded || rout.HostRestoreStats[0].Hostname != "host-1" {
		t.Fatalf("restore output = %+v", rout)
	}
	assertSameTree(t, wantData, snapshotTree(t, filepath.Join(target, data)))
	assertSameTree(t, wantConf, snapshotTree(t, filepath.Join(target, conf)))

	// Restoring an explicit snapshot, limited to one path inside it.
	target2 := t.TempDir()
	ropt = RestorePVCOptions{Setup: setup, Snapshots: []string{h.Snapshots[1].Name}, RestorePaths: []string{filepath.Join(conf, "a")}, Target: target2}
	if err := RunRestorePVC(t.Context(), ropt, io.Discard); err != nil {
		t.Fatal(err)
	}
	if rout, _ := ReadRestoreOutput(setup.OutputDir); rout.Failed() {
		t.Fatalf("restore by snapshot id failed: %+v", rout)
	}
	got := snapshotTree(t, filepath.Join(target2, conf))
	for p := range wantConf {
		_, restored := got[p]
		if want := p == "." || p == "a" || strings.HasPrefix(p, "a/"); restored != want {
			t.Errorf("%s restored = %v, want %v", p, restored, want)
		}
	}
}

// TestPVCFailuresAreRecorded: logical failures become a Failed host entry in
// output.json and the command succeeds; only an unwritable output fails it.
func TestPVCFailuresAreRecorded(t *testing.T) {
	// A repository that exists, to be opened with a wrong password.
	existing := localSetup(t, testPassword)
	src := filepath.Join(t.TempDir(), "src")
	buildTree(t, src, 0)
	if err := RunBackupPVC(t.Context(), BackupPVCOptions{Setup: existing, BackupPaths: []string{src}}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out, _ := ReadBackupOutput(existing.OutputDir); out.Failed() {
		t.Fatalf("setup backup failed: %+v", out.HostBackupStats)
	}
	const wrongPassword = "Wrong-Password-is-not-printed"
	wrongPw := existing
	wrongPw.SecretDir = secretDir(t, map[string]string{"RESTIC_PASSWORD": wrongPassword})
	wrongPw.OutputDir = filepath.Join(t.TempDir(), "out")

	tests := map[string]struct {
		backup  *BackupPVCOptions
		restore *RestorePVCOptions
		wantErr string
	}{
		"backup wrong password": {
			backup:  &BackupPVCOptions{Setup: wrongPw, BackupPaths: []string{src}},
			wantErr: "repository password is wrong for " + existing.Bucket + ": check RESTIC_PASSWORD in the storage Secret",
		},
		"restore wrong password": {
			restore: &RestorePVCOptions{Setup: wrongPw, RestorePaths: []string{src}, Target: t.TempDir()},
			wantErr: "repository password is wrong",
		},
		"backup path missing": {
			backup:  &BackupPVCOptions{Setup: existing, BackupPaths: []string{"/no/such/dir"}},
			wantErr: "backup path /no/such/dir: no such file or directory: check that the target volume is mounted there",
		},
		"backup relative path": {
			backup:  &BackupPVCOptions{Setup: existing, BackupPaths: []string{"data"}},
			wantErr: `--backup-paths: "data" is not an absolute path`,
		},
		"backup no paths": {
			backup:  &BackupPVCOptions{Setup: existing, BackupPaths: []string{""}},
			wantErr: "nothing to back up",
		},
		"unknown provider": {
			backup:  &BackupPVCOptions{Setup: func() Setup { s := existing; s.Provider = "dropbox"; return s }(), BackupPaths: []string{src}},
			wantErr: `unknown storage provider "dropbox"`,
		},
		"missing password key": {
			backup:  &BackupPVCOptions{Setup: func() Setup { s := existing; s.SecretDir = t.TempDir(); return s }(), BackupPaths: []string{src}},
			wantErr: "storage Secret key RESTIC_PASSWORD is missing",
		},
		"restore without repository": {
			restore: &RestorePVCOptions{Setup: localSetup(t, testPassword), RestorePaths: []string{src}, Target: t.TempDir()},
			wantErr: "no restic repository at",
		},
		"restore nothing": {
			restore: &RestorePVCOptions{Setup: existing},
			wantErr: "nothing to restore",
		},
		"restore unknown snapshot": {
			restore: &RestorePVCOptions{Setup: existing, Snapshots: []string{"deadbeef"}, Target: t.TempDir()},
			wantErr: "restore snapshot deadbeef: no matching snapshot in",
		},
		"restore path never backed up": {
			restore: &RestorePVCOptions{Setup: existing, RestorePaths: []string{"/never/backed/up"}, Target: t.TempDir()},
			wantErr: "restore /never/backed/up from the latest snapshot of host host-0: no matching snapshot in",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout strings.Builder
			var msg, outDir string
			if tc.backup != nil {
				outDir = tc.backup.OutputDir
				if err := RunBackupPVC(t.Context(), *tc.backup, &stdout); err != nil {
					t.Fatalf("RunBackupPVC returned %v; a logical failure must only be recorded", err)
				}
				out, err := ReadBackupOutput(outDir)
				if err != nil {
					t.Fatal(err)
				}
				h := out.HostBackupStats[0]
				if h.Phase != v1beta1.HostBackupFailed || h.Hostname != "host-0" || out.Repository != nil {
					t.Fatalf("output = %+v", out)
				}
				msg = h.Error
			} else {
				outDir = tc.restore.OutputDir
				if err := RunRestorePVC(t.Context(), *tc.restore, &stdout); err != nil {
					t.Fatalf("RunRestorePVC returned %v; a logical failure must only be recorded", err)
				}
				out, err := ReadRestoreOutput(outDir)
				if err != nil {
					t.Fatal(err)
				}
				if h := out.HostRestoreStats[0]; h.Phase != v1beta1.HostRestoreFailed {
					t.Fatalf("output = %+v", out)
				}
				msg = out.HostRestoreStats[0].Error
			}
			t.Logf("recorded error: %s", msg)
			if !strings.Contains(msg, tc.wantErr) {
				t.Fatalf("error %q does not contain %q", msg, tc.wantErr)
			}
			data, _ := os.ReadFile(filepath.Join(outDir, OutputFileName))
			for _, s := range []string{wrongPassword, testPassword} {
				if strings.Contains(msg+stdout.String()+string(data), s) {
					t.Fatalf("a password leaked into the output: %s", msg)
				}
			}
		})
	}
}

func TestPVCUnwritableOutputFails(t *testing.T) {
	s := localSetup(t, testPassword)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.OutputDir = filepath.Join(blocker, "output") // a path under a regular file
	err := RunBackupPVC(t.Context(), BackupPVCOptions{Setup: s, BackupPaths: []string{t.TempDir()}}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "output directory") {
		t.Fatalf("RunBackupPVC = %v, want an error about the output directory", err)
	}
}

// TestFlags parses the arguments the shipped Functions pass (reference §5.1)
// after substitution, including the empty defaults.
func TestFlags(t *testing.T) {
	tests := map[string]struct {
		args []string
		want BackupPVCOptions
	}{
		"pvc-backup with defaults": {
			args: []string{"--provider=s3", "--bucket=b", "--endpoint=http://minio:9000", "--path=p", "--secret-dir=/etc/repository/secret",
				"--scratch-dir=/tmp", "--enable-cache=true", "--max-connections=0", "--hostname=", "--backup-paths=/data,/conf",
				"--retention-keep-last=0", "--retention-keep-hourly=0", "--retention-keep-daily=0", "--retention-keep-weekly=0",
				"--retention-keep-monthly=0", "--retention-keep-yearly=0", "--retention-keep-tags=", "--retention-prune=false",
				"--retention-dry-run=false", "--output-dir=/tmp/output"},
			want: BackupPVCOptions{Setup: Setup{Provider: "s3", Bucket: "b", Endpoint: "http://minio:9000", Path: "p",
				SecretDir: "/etc/repository/secret", ScratchDir: "/tmp", EnableCache: true, OutputDir: "/tmp/output",
				Retention: v1alpha1.RetentionPolicy{KeepTags: []string{}}, CheckRepository: true, MeasureRepository: true},
				BackupPaths: []string{"/data", "/conf"}},
		},
		"retention and region": {
			args: []string{"--provider=gcs", "--bucket=b", "--region=eu", "--hostname=db-1", "--max-connections=8", "--enable-cache=false",
				"--retention-keep-last=3", "--retention-keep-daily=7", "--retention-keep-tags=a,b", "--retention-prune",
				"--retention-dry-run", "--restic-binary=/bin/restic_0.18.1", "--backup-paths=/x", "--check-repository=false", "--measure-repository=false"},
			want: BackupPVCOptions{Setup: Setup{Provider: "gcs", Bucket: "b", Region: "eu", Hostname: "db-1", MaxConnections: 8,
				SecretDir: "/etc/repository/secret", ScratchDir: "/tmp", ResticBinary: "/bin/restic_0.18.1",
				Retention: v1alpha1.RetentionPolicy{KeepLast: 3, KeepDaily: 7, KeepTags: []string{"a", "b"}, Prune: true, DryRun: true}},
				BackupPaths: []string{"/x"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var o BackupPVCOptions
			fs := pflag.NewFlagSet("backup-pvc", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(o, tc.want) {
				t.Fatalf("parsed %+v\nwant   %+v", o, tc.want)
			}
			if o.Host() != orDefault(tc.want.Hostname, "host-0") {
				t.Fatalf("Host() = %q", o.Host())
			}
		})
	}
	var r RestorePVCOptions
	fs := pflag.NewFlagSet("restore-pvc", pflag.ContinueOnError)
	r.AddFlags(fs)
	if err := fs.Parse([]string{"--restore-paths=/data", "--snapshots=", "--hostname=host-3", "--source-hostname=host-0"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.RestorePaths, []string{"/data"}) || len(r.Snapshots) != 0 || r.Hostname != "host-3" || r.SourceHostname != "host-0" {
		t.Fatalf("restore flags = %+v", r)
	}
}

// resticRuns are the restic subcommands a Function ran, from its log.
func resticRuns(log string) []string {
	var subs []string
	for _, line := range strings.Split(log, "\n") {
		if cmd, ok := strings.CutPrefix(line, "running: "); ok {
			fields := strings.Fields(cmd)
			for i, f := range fields[:len(fields)-1] {
				if strings.HasPrefix(filepath.Base(f), "restic") {
					subs = append(subs, fields[i+1])
					break
				}
			}
		}
	}
	return subs
}

// A backup with nothing due (the operator's usual plan, package
// maintenance) runs no check, no stats and no snapshot listing: it reports
// what it added, and that adds up. After a measured first backup, a backup
// of new data reports what it packed, and the next measurement (no
// snapshot forgotten in between: restic stats counts the data of the
// snapshots that remain) is the sum less the packs' headers; a backup whose
// retention forgets snapshots reports the net change of the count.
func TestBackupWithNothingDueReportsWhatItAdded(t *testing.T) {
	setup := localSetup(t, testPassword)
	var log strings.Builder
	setup.Log = &log
	data := t.TempDir()
	writeRandom(t, filepath.Join(data, "a.bin"), 3<<20, 1)
	backup := func(check, measure bool, keepLast int64) *RepositoryStats {
		t.Helper()
		log.Reset()
		s := setup
		s.CheckRepository, s.MeasureRepository = check, measure
		s.Retention = v1alpha1.RetentionPolicy{KeepLast: keepLast}
		out := BackupPVC(t.Context(), BackupPVCOptions{Setup: s, BackupPaths: []string{data}})
		if out.Failed() {
			t.Fatalf("backup failed: %+v", out.HostBackupStats)
		}
		return out.Repository
	}

	first := backup(true, true, 0)
	if first.SizeBytes == nil || first.Integrity == nil || first.SnapshotCount != 1 {
		t.Fatalf("first backup, measured: %+v", first)
	}
	// The backup created the repository: what it packed is all there is.
	if runs := resticRuns(log.String()); slices.Contains(runs, "stats") || slices.Contains(runs, "snapshots") {
		t.Errorf("the backup that created the repository measured it with another pass: %v", runs)
	}
	writeRandom(t, filepath.Join(data, "b.bin"), 1<<20, 2)
	second := backup(false, false, 0)
	if runs := resticRuns(log.String()); slices.Contains(runs, "check") || slices.Contains(runs, "stats") || slices.Contains(runs, "snapshots") {
		t.Errorf("a backup with nothing due ran %v", runs)
	}
	if second.Integrity != nil || second.SizeBytes != nil || second.Size != "" || second.SnapshotsAdded != 1 || second.SizeAddedBytes < 1<<20 {
		t.Errorf("second backup, nothing due: %+v", second)
	}
	third := backup(false, true, 0) // nothing new, measured
	// restic's data_added_packed also counts the new packs' headers, which
	// restic stats --mode raw-data leaves out: a few dozen bytes a blob.
	sum := *first.SizeBytes + second.SizeAddedBytes
	if over := int64(sum) - int64(*third.SizeBytes); over < 0 || over > 1024+int64(second.SizeAddedBytes)/1000 {
		t.Errorf("restic stats measures %d bytes; the reports add up to %d (%d, then +%d): off by %d, more than pack headers",
			*third.SizeBytes, sum, *first.SizeBytes, second.SizeAddedBytes, over)
	}
	if third.SnapshotCount != 3 {
		t.Errorf("restic counts %d snapshots, want 3", third.SnapshotCount)
	}

	fourth := backup(false, false, 2) // 4 snapshots, 2 kept
	if fourth.SnapshotsAdded != -1 || fourth.SnapshotsRemovedOnLastCleanup != 2 {
		t.Errorf("fourth backup, two snapshots forgotten: %+v", fourth)
	}
	repo, err := setup.NewRepo()
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := repo.Snapshots(t.Context(), restic.SnapshotFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := int64(len(snaps)), third.SnapshotCount+fourth.SnapshotsAdded; got != want {
		t.Errorf("restic lists %d snapshots; the reports add up to %d", got, want)
	}
}

// The first backup into a repository it created forgets only when the
// policy could remove its one snapshot: a count rule keeps it, so no forget
// runs (a restic process). Into a repository that exists, it forgets.
func TestFirstBackupForgetsOnlyWhatThePolicyCanRemove(t *testing.T) {
	for name, tc := range map[string]struct {
		repositoryExists bool
		retention        v1alpha1.RetentionPolicy
		wantForget       bool
		wantPruned       bool
	}{
		"keep-last":                   {retention: v1alpha1.RetentionPolicy{KeepLast: 1}},
		"keep-daily, prune due":       {retention: v1alpha1.RetentionPolicy{KeepDaily: 7, Prune: true}, wantPruned: true},
		"keep-weekly, a dry run":      {retention: v1alpha1.RetentionPolicy{KeepWeekly: 2, Prune: true, DryRun: true}},
		"into an existing repository": {repositoryExists: true, retention: v1alpha1.RetentionPolicy{KeepLast: 1, Prune: true}, wantForget: true, wantPruned: true},
	} {
		t.Run(name, func(t *testing.T) {
			s := localSetup(t, testPassword)
			var log strings.Builder
			s.Log = &log
			s.CheckRepository, s.MeasureRepository = false, true
			s.Retention = tc.retention
			repo, err := s.NewRepo()
			if err != nil {
				t.Fatal(err)
			}
			if tc.repositoryExists {
				if _, _, err := repo.OpenOrInitLocks(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			data := t.TempDir()
			writeRandom(t, filepath.Join(data, "a.bin"), 64<<10, 1)
			out := BackupPVC(t.Context(), BackupPVCOptions{Setup: s, BackupPaths: []string{data}})
			if out.Failed() {
				t.Fatalf("backup failed: %+v", out.HostBackupStats)
			}
			runs := resticRuns(log.String())
			if got := slices.Contains(runs, "forget"); got != tc.wantForget {
				t.Errorf("forget ran: %v, want %v (%v)", got, tc.wantForget, runs)
			}
			if got := out.Repository.Pruned; got != tc.wantPruned {
				t.Errorf("pruned %v, want %v", got, tc.wantPruned)
			}
			snaps, err := repo.Snapshots(t.Context(), restic.SnapshotFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(snaps) != 1 {
				t.Errorf("the repository holds %d snapshots, want the backup's", len(snaps))
			}
			if tc.repositoryExists {
				return // not created: measured by restic stats, counted by restic snapshots
			}
			if got := out.Repository.SnapshotCount; got != 1 {
				t.Errorf("snapshot count %d, want 1", got)
			}
		})
	}
}
